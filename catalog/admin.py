from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.db.models import Count, Q
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.exceptions import CatalogError
from catalog.forms import ItemTypeAdminForm, LabelSheetForm
from catalog.labels import label_base_url, label_sheet_pdf
from catalog.models import ISO_WEEKDAYS, LOANABLE_UNIT_STATUSES, Category, Closure, ItemType, Location, Unit
from catalog.services import closures_import_holidays
from catalog.versions import catalogue_changed

WEEKDAY_NAMES = dict(ISO_WEEKDAYS)


class RaisesCatalogueVersion:
    """For models whose changes show in the catalogue or its calendars: every save and delete in
    the admin raises the version of every location (catalog/versions.py), so cached pages are
    rendered afresh. Admin edits are rare, which makes "all locations" the simple right answer.

    On save_related, not save_model: it runs after the inlines (units of an item type), so the
    location rows are locked last, in the order the booking services lock."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        catalogue_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        catalogue_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        catalogue_changed()


class TabularInline(admin.TabularInline):
    """Django's tabular inline, readable by screen readers and on a phone.

    Its rows have no labels, only the column headings, so each field is named by its label
    (aria-label, WCAG 4.1.2), the delete box as well; and the table scrolls sideways inside a
    named region that takes the keyboard focus (admin/edit_inline/tabular_scroll.html)."""

    template = "admin/edit_inline/tabular_scroll.html"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class LabelledFormSet(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                for field in form.fields.values():
                    if field.label and not field.widget.is_hidden:
                        field.widget.attrs.setdefault("aria-label", str(field.label))

        return LabelledFormSet


@admin.register(Location)
class LocationAdmin(RaisesCatalogueVersion, admin.ModelAdmin):
    list_display = (
        "name", "slug", "weekdays", "opens_at", "closes_at", "slot_minutes", "slot_capacity", "holiday_state",
    )
    search_fields = ("name", "slug", "address")
    prepopulated_fields = {"slug": ("name",)}
    actions = ("import_holidays",)

    @admin.display(description=_("counter weekdays"))
    def weekdays(self, location):
        return ", ".join(str(WEEKDAY_NAMES.get(day, day)) for day in sorted(location.counter_weekdays))

    @admin.action(description=_("Import public and school holidays of this year and next"))
    def import_holidays(self, request, queryset):
        this_year = timezone.localdate().year
        for location in queryset:
            created = 0
            try:
                for year in (this_year, this_year + 1):
                    created += closures_import_holidays(location=location, year=year).created
            except CatalogError as error:
                self.message_user(request, f"{location}: {error.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                ngettext(
                    "%(location)s: %(count)d closure added.", "%(location)s: %(count)d closures added.", created
                ) % {"location": location, "count": created},
                messages.SUCCESS,
            )


@admin.register(Closure)
class ClosureAdmin(RaisesCatalogueVersion, admin.ModelAdmin):
    list_display = ("reason", "first_day", "last_day", "location", "source")
    list_filter = ("source", "location")
    search_fields = ("reason",)
    date_hierarchy = "first_day"
    list_select_related = ("location",)
    ordering = ("-first_day",)


@admin.register(Category)
class CategoryAdmin(RaisesCatalogueVersion, admin.ModelAdmin):
    list_display = ("name", "slug", "position")
    list_editable = ("position",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class UnitInline(TabularInline):
    model = Unit
    extra = 0
    fields = ("asset_tag", "serial_number", "status", "contents", "notes")
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})}}
    show_change_link = True


@admin.register(ItemType)
class ItemTypeAdmin(RaisesCatalogueVersion, admin.ModelAdmin):
    """Item types with their units; an uploaded picture is checked and re-encoded by the form."""

    form = ItemTypeAdminForm
    inlines = (UnitInline,)
    list_display = (
        "name", "category", "location", "loanable_units", "max_loan_days", "min_lead_days", "turnaround_days",
        "required_qualification", "paused",
    )
    list_filter = ("category", "location", "paused", "deliverable", "required_qualification")
    search_fields = ("name", "slug", "description", "units__asset_tag")
    list_select_related = ("category", "location", "required_qualification")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("category", "required_qualification")
    fieldsets = (
        (None, {"fields": ("location", "category", "name", "slug", "description", "contents", "picture")}),
        (_("Loan rules"), {"fields": (
            "max_loan_days", "min_lead_days", "max_advance_days", "turnaround_days", "required_qualification",
            "deliverable",
        )}),
        (_("Pause"), {"fields": ("paused", "paused_reason")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            loanable_unit_count=Count("units", filter=Q(units__status__in=LOANABLE_UNIT_STATUSES), distinct=True)
        )

    @admin.display(description=_("loanable units"), ordering="loanable_unit_count")
    def loanable_units(self, item_type):
        return item_type.loanable_unit_count


@admin.register(Unit)
class UnitAdmin(RaisesCatalogueVersion, admin.ModelAdmin):
    list_display = ("asset_tag", "item_type", "serial_number", "status")
    list_filter = ("status", "item_type__category", "item_type__location")
    search_fields = ("asset_tag", "serial_number", "item_type__name", "notes")
    list_select_related = ("item_type",)
    autocomplete_fields = ("item_type",)
    actions = ("print_labels",)

    # Which form field a refusal of the label service belongs to; others go above the form.
    LABEL_ERROR_FIELDS = {"label_format_unknown": "label_format", "label_start_invalid": "start_position"}

    @admin.action(description=_("Print labels (PDF)"), permissions=["view"])
    def print_labels(self, request, queryset):
        """Ask for the sheet format and the first free label, then answer with the PDF.

        The form posts back to the change list with the same selection, as Django's own
        "delete selected" confirmation does, so filters and "select all" keep working.
        """
        form = LabelSheetForm(request.POST if "print" in request.POST else None)
        if form.is_valid():
            try:
                pdf = label_sheet_pdf(
                    units=queryset.select_related("item_type").order_by("asset_tag"),
                    label_format=form.cleaned_data["label_format"],
                    start_position=form.cleaned_data["start_position"],
                    base_url=label_base_url(request=request),
                )
            except CatalogError as error:
                form.add_error(
                    self.LABEL_ERROR_FIELDS.get(error.code), forms.ValidationError(error.message, code=error.code)
                )
            else:
                response = HttpResponse(pdf, content_type="application/pdf")
                filename = f"labels-{timezone.localdate().isoformat()}.pdf"
                response["Content-Disposition"] = f'attachment; filename="{filename}"'
                return response
        return TemplateResponse(request, "admin/catalog/unit/labels.html", {
            **self.admin_site.each_context(request),
            "title": _("Print labels"),
            "opts": self.model._meta,
            "form": form,
            "unit_count": queryset.count(),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        })

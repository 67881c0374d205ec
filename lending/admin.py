"""Admin for reservations: for looking up and correcting, not for booking.

Bookings are made on the booking pages through `lending.services.reservation_create`, which
checks every booking rule under its locks and writes the event log. The admin therefore cannot add
reservations, and the booked days, slot, borrower and lines are read-only here: changing them would
skip the rules and the availability check. Staff may correct the status and the note; such a
correction is written to the event log as an override and announced to calendar feeds.
"""

from django.contrib import admin
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.admin import RaisesCatalogueVersion, TabularInline
from lending.models import Reservation, ReservationEvent, ReservationLine, ReservationStatus


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReservationLineInline(ReadOnlyInline):
    model = ReservationLine
    fields = ("item_type", "quantity")
    readonly_fields = fields


class ReservationEventInline(ReadOnlyInline):
    model = ReservationEvent
    fields = ("at", "action", "actor", "data")
    readonly_fields = fields


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return (("yes", _("Overdue")), ("no", _("Not overdue")))

    def queryset(self, request, queryset):
        overdue = {"status": ReservationStatus.HANDED_OUT, "return_day__lt": timezone.localdate()}
        if self.value() == "yes":
            return queryset.filter(**overdue)
        if self.value() == "no":
            return queryset.exclude(**overdue)
        return queryset


@admin.register(Reservation)
class ReservationAdmin(RaisesCatalogueVersion, admin.ModelAdmin):
    """Reservations can be looked up and corrected here, never created (see the module docstring)."""

    list_display = (
        "code", "pickup_day", "pickup_slot", "return_day", "status", "overdue", "borrower", "school", "location",
        "created_at",
    )
    list_filter = ("status", OverdueFilter, "location", "school__school_type")
    search_fields = (
        "code", "borrower__username", "borrower__first_name", "borrower__last_name", "borrower__email",
        "school__name", "school__number",
    )
    list_select_related = ("borrower", "school", "location")
    date_hierarchy = "pickup_day"
    fields = (
        "code", "borrower", "school", "location", "pickup_day", "pickup_slot", "return_day", "status", "note",
        "sequence", "created_at", "updated_at",
    )
    readonly_fields = (
        "code", "borrower", "school", "location", "pickup_day", "pickup_slot", "return_day", "sequence",
        "created_at", "updated_at",
    )
    inlines = (ReservationLineInline, ReservationEventInline)

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, reservation):
        return reservation.is_overdue(timezone.localdate())

    def save_model(self, request, obj, form, change):
        if not form.changed_data:
            return
        before = {name: form.initial.get(name) for name in form.changed_data}
        after = {name: form.cleaned_data.get(name) for name in form.changed_data}
        with transaction.atomic():
            if "status" in form.changed_data:
                # Calendar feeds pick up the change through SEQUENCE.
                obj.sequence += 1
            super().save_model(request, obj, form, change)
            ReservationEvent.objects.create(
                reservation=obj, actor=request.user, action=ReservationEvent.Action.OVERRIDE,
                data={"via": "admin", "before": before, "after": after},
            )


@admin.register(ReservationEvent)
class ReservationEventAdmin(admin.ModelAdmin):
    """The event log is written by the services only; here it can be read, not changed."""

    list_display = ("reservation", "at", "action", "actor")
    list_filter = ("action",)
    search_fields = ("reservation__code", "actor__username", "actor__last_name")
    list_select_related = ("reservation", "actor")
    date_hierarchy = "at"
    fields = ("reservation", "at", "action", "actor", "data")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

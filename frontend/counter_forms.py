"""Forms of the counter pages. They check input only; the lending services decide."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.forms import LabelSheetForm
from frontend.widgets import DateInput
from lending.exceptions import BookingError
from lending.models import Handover
from lending.scanning import UNIT, scan_parse
from lending.services import MAX_QUANTITY_PER_LINE, OVERRIDABLE_RULES

# How far back and ahead the agenda shows a day.
AGENDA_YEARS = 5


class DayForm(forms.Form):
    tag = forms.DateField(label=_("Counter day"), required=False, widget=DateInput())

    def clean_tag(self):
        day = self.cleaned_data["tag"]
        today = timezone.localdate()
        if day and abs((day - today).days) > AGENDA_YEARS * 366:
            raise forms.ValidationError(_("Choose a day within five years of today."))
        return day


class TakeBackForm(forms.Form):
    # The loan the page showed: if the unit was taken back and lent again meanwhile, refuse.
    handover = forms.IntegerField(widget=forms.HiddenInput, required=False)
    condition = forms.ChoiceField(
        label=_("Condition"), choices=Handover.Condition.choices, initial=Handover.Condition.COMPLETE,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What is damaged or missing; required for anything but complete."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("condition") not in (None, Handover.Condition.COMPLETE) and not cleaned.get("note", "").strip():
            self.add_error("note", _("Describe what is damaged, missing or lost."))
        return cleaned


def _day_choices(days):
    return [(day.isoformat(), f"{day:%d.%m.%Y}") for day in days]


class ExtendForm(forms.Form):
    return_day = forms.TypedChoiceField(label=_("New return day"), coerce=datetime.date.fromisoformat)

    def __init__(self, *args, return_days, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["return_day"].choices = _day_choices(return_days)


class TeacherSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Teacher"), min_length=2, max_length=100,
        help_text=_("Name, user name or e-mail address."),
    )


OVERRIDE_LABELS = {
    "too_soon": _("Ignore the lead time of the items"),
    "slot_full": _("Ignore the slot capacity"),
    "delivery_too_soon": _("Ignore the notice for a delivery"),
    "delivery_day_full": _("Ignore the tour's capacity"),
}


class WalkInForm(forms.Form):
    """A booking made at the counter for a teacher standing there: pickup is now."""

    school = forms.ModelChoiceField(label=_("School"), queryset=None, empty_label=None)
    # A teacher on the phone or at the desk who wants it delivered: the tour brings it instead.
    delivery_day = forms.TypedChoiceField(
        label=_("Deliver to the school on"), required=False, coerce=datetime.date.fromisoformat, empty_value=None,
        help_text=_("Leave it at “now” to hand the items over at the desk; the return day is then the collection day."))
    return_day = forms.TypedChoiceField(label=_("Return day"), coerce=datetime.date.fromisoformat)
    overrides = forms.MultipleChoiceField(
        label=_("Staff overrides"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(rule, OVERRIDE_LABELS[rule]) for rule in OVERRIDABLE_RULES],
        help_text=_("Each override is recorded with your name."),
    )

    def __init__(self, *args, schools, return_days, item_types, delivery_days=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools
        self.fields["return_day"].choices = _day_choices(sorted(set(return_days) | set(delivery_days)))
        if delivery_days:
            self.fields["delivery_day"].choices = [("", _("now, at the counter"))] + _day_choices(delivery_days)
        else:
            del self.fields["delivery_day"]
        self.item_types = list(item_types)
        for item_type in self.item_types:
            self.fields[f"quantity_{item_type.pk}"] = forms.IntegerField(
                label=item_type.name, required=False, min_value=0, max_value=MAX_QUANTITY_PER_LINE,
                widget=forms.NumberInput(attrs={"class": "quantity"}),
            )

    def quantity_fields(self):
        return [self[f"quantity_{item_type.pk}"] for item_type in self.item_types]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.lines():
            raise forms.ValidationError(_("Enter a quantity for at least one item."))
        return cleaned

    def lines(self):
        return {
            item_type.pk: self.cleaned_data[f"quantity_{item_type.pk}"]
            for item_type in self.item_types if self.cleaned_data.get(f"quantity_{item_type.pk}")
        }


class CounterLabelForm(LabelSheetForm):
    """Label sheets from the counter: the units of one item type, or the asset tags listed."""

    item_type = forms.ModelChoiceField(label=_("All units of"), queryset=None, required=False,
                                       empty_label=_("(choose an item)"))
    asset_tags = forms.CharField(
        label=_("Or these asset tags"), required=False, max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4}), help_text=_("One per line, or scan them one after another."),
    )

    field_order = ["item_type", "asset_tags", "label_format", "start_position"]

    def __init__(self, *args, item_types, hosts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item_type"].queryset = item_types
        self.hosts = hosts

    def clean(self):
        cleaned = super().clean()
        tags, unreadable = [], []
        for line in cleaned.get("asset_tags", "").split():
            # A scanned label arrives as its URL; a typed tag as itself.
            try:
                kind, value = scan_parse(line, hosts=self.hosts)
            except BookingError:
                kind, value = None, line
            (tags if kind in (UNIT, "code") else unreadable).append(value)
        if unreadable:
            self.add_error("asset_tags", _("Not asset tags: %(lines)s") % {"lines": ", ".join(unreadable[:20])})
        elif bool(cleaned.get("item_type")) == bool(tags):
            raise forms.ValidationError(_("Choose an item or list asset tags (one of the two)."))
        cleaned["asset_tag_list"] = tags
        return cleaned

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Category
from frontend.widgets import DateInput, HiddenDateInput

FURTHEST_SEARCH_DAYS = 730


class CatalogueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, to_field_name="slug",
        empty_label=_("All categories"),
    )
    free_from = forms.DateField(label=_("Free from"), required=False, widget=DateInput())
    free_to = forms.DateField(label=_("Free until"), required=False, widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        free_from, free_to = cleaned.get("free_from"), cleaned.get("free_to")
        if bool(free_from) != bool(free_to):
            raise forms.ValidationError(_("Give both dates to search for free items."))
        if free_from and free_to:
            if free_to < free_from:
                raise forms.ValidationError(_("The second date must not be before the first."))
            if (free_to - free_from).days > 366:
                raise forms.ValidationError(_("Search at most one year at a time."))
            today = timezone.localdate()
            if free_from < today or free_to > today + datetime.timedelta(days=FURTHEST_SEARCH_DAYS):
                raise forms.ValidationError(_("Search from today up to two years ahead."))
        return cleaned


class AddToBasketForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=500, initial=1)
    pickup_day = forms.DateField(required=False, widget=HiddenDateInput)
    return_day = forms.DateField(required=False, widget=HiddenDateInput)


def _day_choices(days):
    return [(day.isoformat(), f"{day:%d.%m.%Y}") for day in days]


def _slot_choices(slot_times, full_slots=()):
    """Slot choices; those already full on the chosen pickup day say so (they stay selectable,
    since the pickup day may be changed in the same form, and the service decides)."""
    choices = []
    for slot in slot_times:
        label = slot.strftime("%H:%M")
        if slot in full_slots:
            label = _("%(time)s (fully booked on the chosen day)") % {"time": label}
        choices.append((slot.strftime("%H:%M"), label))
    return choices


class BookingForm(forms.Form):
    """Dates, slot and school for the basket; choices offer only open counter days."""

    school = forms.ModelChoiceField(label=_("School"), queryset=None, empty_label=None)
    pickup_day = forms.TypedChoiceField(label=_("Pickup day"), coerce=datetime.date.fromisoformat)
    pickup_slot = forms.TypedChoiceField(
        label=_("Pickup time"), coerce=lambda value: datetime.time.fromisoformat(value)
    )
    return_day = forms.TypedChoiceField(label=_("Return day"), coerce=datetime.date.fromisoformat)
    note = forms.CharField(label=_("Note for the counter (optional)"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, schools, pickup_days, return_days, slot_times, full_slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools
        self.fields["pickup_day"].choices = _day_choices(pickup_days)
        self.fields["return_day"].choices = _day_choices(return_days)
        self.fields["pickup_slot"].choices = _slot_choices(slot_times, full_slots)


class DeliveryBookingForm(forms.Form):
    """A delivery to the school by the counter's tour: the school, whose address the teacher
    confirms, and the tour days of delivery and collection. Its fields carry the prefix
    "delivery" (the basket page shows it next to the pickup form)."""

    fulfilment = forms.CharField(widget=forms.HiddenInput, initial="delivery")
    school = forms.ModelChoiceField(label=_("School to deliver to"), queryset=None, empty_label=None)
    pickup_day = forms.TypedChoiceField(label=_("Delivery day"), coerce=datetime.date.fromisoformat)
    return_day = forms.TypedChoiceField(label=_("Collection day"), coerce=datetime.date.fromisoformat)
    address_confirmed = forms.BooleanField(
        label=_("The delivery address shown for this school is right."),
        error_messages={"required": _("Please check the delivery address and confirm it.")},
    )
    note = forms.CharField(label=_("Note for the tour (optional)"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("E.g. the room, or who takes the items if you are teaching."))

    def __init__(self, *args, schools, delivery_days, collection_days, collection_by_tour=True, **kwargs):
        kwargs.setdefault("prefix", "delivery")
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools
        self.fields["pickup_day"].choices = _day_choices(delivery_days)
        self.fields["return_day"].choices = _day_choices(collection_days)
        if not collection_by_tour:
            self.fields["return_day"].label = _("Return day at the counter")


class BookingChangeForm(forms.Form):
    pickup_day = forms.TypedChoiceField(label=_("Pickup day"), coerce=datetime.date.fromisoformat)
    pickup_slot = forms.TypedChoiceField(
        label=_("Pickup time"), coerce=lambda value: datetime.time.fromisoformat(value)
    )
    return_day = forms.TypedChoiceField(label=_("Return day"), coerce=datetime.date.fromisoformat)

    def __init__(self, *args, lines, pickup_days, return_days, slot_times, delivery=False, collection_by_tour=True,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pickup_day"].choices = _day_choices(pickup_days)
        self.fields["return_day"].choices = _day_choices(return_days)
        self.fields["pickup_slot"].choices = _slot_choices(slot_times)
        if delivery:
            self.fields["pickup_day"].label = _("Delivery day")
            self.fields["return_day"].label = _("Collection day") if collection_by_tour else _(
                "Return day at the counter")
            self.fields["pickup_slot"].widget = forms.HiddenInput()
        self.lines = lines
        for line in lines:
            self.fields[f"quantity_{line.item_type_id}"] = forms.IntegerField(
                label=line.item_type.name, min_value=0, max_value=500, initial=line.quantity,
                help_text=_("0 removes the item from the booking."),
            )

    def quantities(self):
        return {
            line.item_type_id: self.cleaned_data[f"quantity_{line.item_type_id}"]
            for line in self.lines
            if self.cleaned_data[f"quantity_{line.item_type_id}"] > 0
        }


class BookingCancelForm(forms.Form):
    """Staff cancelling a teacher's booking say why; the teacher reads it in the cancellation mail."""

    reason = forms.CharField(
        label=_("Why is the booking cancelled?"), max_length=500, required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The teacher reads this in the cancellation e-mail, e.g. “The VR case is being repaired”."),
    )

    def __init__(self, *args, reason_required, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


class ColleagueForm(forms.Form):
    """Whom the borrower names to pick up and return a booking for them: a colleague of its school."""

    colleague = forms.ModelChoiceField(
        label=_("Colleague who may pick up and return it"), queryset=None, required=False,
        empty_label=_("Nobody: I pick it up myself"),
        help_text=_("A teacher of the same school with an account. They see the booking and can pick it up and "
                    "return it, but not change or cancel it."),
    )

    def __init__(self, *args, colleagues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["colleague"].queryset = colleagues
        self.fields["colleague"].label_from_instance = lambda user: user.get_full_name() or user.username


class WaitlistJoinForm(forms.Form):
    """One click from a refusal: what the teacher asked for, carried in hidden fields."""

    item_type = forms.IntegerField(min_value=1)
    quantity = forms.IntegerField(min_value=1, max_value=500)
    school = forms.IntegerField(min_value=1)
    pickup_day = forms.DateField()
    pickup_slot = forms.TimeField(input_formats=["%H:%M", "%H:%M:%S"])
    return_day = forms.DateField()


class WaitlistStaffForm(forms.Form):
    """Staff move an entry in line (before another, or to the end) or take it off, with a reason."""

    action = forms.ChoiceField(choices=[("up", "up"), ("down", "down"), ("remove", "remove")])
    reason = forms.CharField(label=_("Reason (logged)"), max_length=500)

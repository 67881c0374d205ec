from django.utils.translation import gettext as _
from rest_framework import serializers

from catalog.models import Category, ItemType
from lending.models import Handover, Reservation, ReservationLine, ReservationStatus

# The longest window one availability or free-between request may span.
AVAILABILITY_MAX_DAYS = 366


class ReservationLineInputSerializer(serializers.Serializer):
    item_type = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=500)


class ReservationCreateInputSerializer(serializers.Serializer):
    school = serializers.IntegerField(min_value=1)
    pickup_day = serializers.DateField()
    pickup_slot = serializers.TimeField(format="%H:%M")
    return_day = serializers.DateField()
    lines = ReservationLineInputSerializer(many=True, allow_empty=False, max_length=50)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ReservationChangeInputSerializer(serializers.Serializer):
    """What a change may touch; anything else in the body is ignored."""

    pickup_day = serializers.DateField(required=False)
    pickup_slot = serializers.TimeField(format="%H:%M", required=False)
    return_day = serializers.DateField(required=False)
    lines = ReservationLineInputSerializer(many=True, allow_empty=False, max_length=50, required=False)


class ReservationLineOutputSerializer(serializers.ModelSerializer):
    item_type = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ReservationLine
        fields = ["item_type", "quantity"]


class ReservationOutputSerializer(serializers.ModelSerializer):
    lines = ReservationLineOutputSerializer(many=True, read_only=True)
    pickup_slot = serializers.TimeField(format="%H:%M")

    class Meta:
        model = Reservation
        fields = ["code", "status", "school", "location", "pickup_day", "pickup_slot", "return_day", "lines"]


class ErrorSerializer(serializers.Serializer):
    """Every refusal of the API."""

    code = serializers.CharField(help_text="Stable reason code, e.g. not_enough_units or invalid.")
    detail = serializers.CharField(help_text="What happened, in the request's language.")
    fields = serializers.DictField(help_text="For invalid input: the messages per field.")


class ItemTypeQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, max_length=100)
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all(), required=False)
    location = serializers.SlugField(required=False, max_length=50)
    free_from = serializers.DateField(required=False)
    free_to = serializers.DateField(required=False)

    def validate(self, data):
        if bool(data.get("free_from")) != bool(data.get("free_to")):
            raise serializers.ValidationError(_("Give both free_from and free_to."))
        if data.get("free_from"):
            if data["free_to"] < data["free_from"]:
                raise serializers.ValidationError(_("free_to must not be before free_from."))
            if (data["free_to"] - data["free_from"]).days > AVAILABILITY_MAX_DAYS:
                raise serializers.ValidationError(
                    _("Search at most %(days)d days at a time.") % {"days": AVAILABILITY_MAX_DAYS})
        return data


class AvailabilityQuerySerializer(serializers.Serializer):
    item_type = serializers.SlugField(max_length=50)
    # "from" is a Python keyword: declared below.

    def validate(self, data):
        first_day, last_day = data["from"], data["to"]
        if last_day < first_day:
            raise serializers.ValidationError(_("to must not be before from."))
        if (last_day - first_day).days >= AVAILABILITY_MAX_DAYS:
            raise serializers.ValidationError(
                _("Search at most %(days)d days at a time.") % {"days": AVAILABILITY_MAX_DAYS})
        return data


AvailabilityQuerySerializer._declared_fields["from"] = serializers.DateField()
AvailabilityQuerySerializer._declared_fields["to"] = serializers.DateField()


class ItemTypeSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    location = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    required_qualification = serializers.StringRelatedField()
    loanable_units = serializers.IntegerField(read_only=True)
    free_in_window = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = ItemType
        fields = ["slug", "name", "description", "contents", "category", "location", "loanable_units",
                  "max_loan_days", "min_lead_days", "max_advance_days", "turnaround_days", "required_qualification",
                  "paused", "paused_reason", "deliverable", "free_in_window"]


class AvailabilityDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    loanable = serializers.IntegerField()
    held = serializers.IntegerField()
    free = serializers.IntegerField()
    counter_day = serializers.BooleanField(help_text="Whether the counter is open that day.")
    closure = serializers.CharField(help_text="Why the counter is closed (holiday, closure day), or empty.")


class ReservationQuerySerializer(serializers.Serializer):
    day = serializers.DateField(required=False, help_text="Bookings picked up or due back on this day.")
    status = serializers.ChoiceField(choices=ReservationStatus.choices, required=False)


class CounterScanInputSerializer(serializers.Serializer):
    location = serializers.SlugField(max_length=50, help_text="The counter's slug.")
    code = serializers.CharField(max_length=2000, trim_whitespace=False, allow_blank=True,
                                 help_text="What the scanner read: a booking's or a label's link, or a bare code.")
    booking = serializers.CharField(required=False, max_length=40,
                                    help_text="The booking at the desk, if any (a unit scanned then joins it).")


class CounterScanOutputSerializer(serializers.Serializer):
    step = serializers.ChoiceField(choices=["hand_over", "assign", "take_back", "show_unit"])
    reservation = serializers.CharField(allow_null=True)
    unit = serializers.CharField(allow_null=True)


class CounterHandoverInputSerializer(serializers.Serializer):
    location = serializers.SlugField(max_length=50)
    booking = serializers.CharField(max_length=40)
    unit = serializers.CharField(required=False, max_length=40, help_text="The scanned unit's asset tag.")
    complete = serializers.BooleanField(default=False, help_text="Confirm the hand-over after this unit.")
    idempotency_key = serializers.CharField(required=False, max_length=100,
                                            help_text="Or the Idempotency-Key header.")

    def validate(self, data):
        if not data.get("unit") and not data["complete"]:
            raise serializers.ValidationError(_("Give a unit, or complete the hand-over."))
        return data


class CounterReturnInputSerializer(serializers.Serializer):
    location = serializers.SlugField(max_length=50)
    unit = serializers.CharField(max_length=40)
    condition = serializers.ChoiceField(choices=Handover.Condition.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    idempotency_key = serializers.CharField(required=False, max_length=100,
                                            help_text="Or the Idempotency-Key header.")


class CounterReturnOutputSerializer(serializers.Serializer):
    unit = serializers.CharField()
    condition = serializers.CharField()
    late = serializers.BooleanField()
    reservation = serializers.CharField()
    reservation_status = serializers.CharField()

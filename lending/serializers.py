import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Category, ItemType, Unit, UnitStatus
from lending.models import (
    DamageReport,
    Fulfilment,
    Handover,
    Reservation,
    ReservationLine,
    ReservationStatus,
    WaitlistEntry,
)
from lending.selectors import UnitState

# The longest window one availability or free-between request may span.
AVAILABILITY_MAX_DAYS = 366

# What `?ordering=` may ask for on each list, and the order each value gives. Only these: a client
# cannot sort by a column it may not see or that has no index. Every order ends on a unique
# column, so pages neither repeat nor skip rows that tie.
RESERVATION_ORDERINGS = {
    "pickup_day": ("pickup_day", "pickup_slot", "pk"),
    "-pickup_day": ("-pickup_day", "-pickup_slot", "-pk"),
    "return_day": ("return_day", "pk"),
    "-return_day": ("-return_day", "-pk"),
    "code": ("code", "pk"),
}
ITEM_TYPE_ORDERINGS = {"name": ("name", "pk"), "-name": ("-name", "-pk")}
UNIT_ORDERINGS = {
    "asset_tag": ("asset_tag", "pk"),
    "-asset_tag": ("-asset_tag", "-pk"),
    "status": ("status", "asset_tag", "pk"),
}
DAMAGE_REPORT_ORDERINGS = {"reported_at": ("reported_at", "pk"), "-reported_at": ("-reported_at", "-pk")}


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:00"})
class SlotField(serializers.TimeField):
    """A pickup slot as the counter shows it, "09:00" (OpenAPI's `format: time` wants seconds and
    a zone; a slot has neither)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)


class PageQuerySerializer(serializers.Serializer):
    """`?page=` and `?page_size=` of every list (ApiPagination)."""

    page = serializers.IntegerField(min_value=1, max_value=10**6, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)


def _ordering_field(orderings, **options):
    return serializers.ChoiceField(choices=list(orderings), **options)


# The largest id a database key (BigAutoField) holds; a larger one is invalid input, not a 500.
ID_MAX = 2**63 - 1
# Slugs as long as the model allows (item types' are the longest).
ITEM_TYPE_SLUG_MAX = ItemType._meta.get_field("slug").max_length
# Days the API reads: far enough for any booking or statistic, near enough that date arithmetic
# (a window, a turnaround buffer) never leaves Python's calendar.
FIRST_DAY = datetime.date(2000, 1, 1)
LAST_DAY = datetime.date(2199, 12, 31)


class DayField(serializers.DateField):
    """A day between FIRST_DAY and LAST_DAY, as YYYY-MM-DD."""

    default_error_messages = {"out_of_range": gettext_lazy("Give a day between {first} and {last}.")}

    def to_internal_value(self, value):
        # Python's date parsing takes any Unicode digits ("２０２６-…"); the API takes ASCII only.
        if isinstance(value, str) and not value.isascii():
            self.fail("invalid", format="YYYY-MM-DD")
        day = super().to_internal_value(value)
        if not FIRST_DAY <= day <= LAST_DAY:
            self.fail("out_of_range", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())
        return day


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1, "maximum": ID_MAX},
                                 {"type": "string", "pattern": "^[-a-zA-Z0-9_]*[-a-zA-Z_][-a-zA-Z0-9_]*$",
                                  "maxLength": ITEM_TYPE_SLUG_MAX}],
                       "description": "The item type's slug (as in /item-types/) or id."})
class ItemTypeRefField(serializers.Field):
    """An item type in a booking line: its slug, as everywhere else in the API, or its id. Only the
    form is checked here; the view looks all slugs of a request up at once (`_booking_lines`)."""

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool):
            return serializers.IntegerField(min_value=1, max_value=ID_MAX).run_validation(data)
        return serializers.SlugField(max_length=ITEM_TYPE_SLUG_MAX).run_validation(data)

    def to_representation(self, value):
        return value


class ReservationLineInputSerializer(serializers.Serializer):
    item_type = ItemTypeRefField()
    quantity = serializers.IntegerField(min_value=1, max_value=500)


class ReservationCreateInputSerializer(serializers.Serializer):
    school = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    fulfilment = serializers.ChoiceField(
        choices=Fulfilment.choices, default=Fulfilment.PICKUP,
        help_text="pickup: at the counter, in a slot. delivery: by the counter's tour to the school; then "
                  "pickup_day is the delivery day, return_day the collection day, and pickup_slot is not used.")
    pickup_day = DayField()
    pickup_slot = SlotField(required=False, help_text="Required for pickup.")
    return_day = DayField()
    lines = ReservationLineInputSerializer(many=True, allow_empty=False, max_length=50)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate(self, data):
        if data["fulfilment"] == Fulfilment.PICKUP and data.get("pickup_slot") is None:
            raise serializers.ValidationError({"pickup_slot": [_("This field is required.")]})
        return data


class ReservationChangeInputSerializer(serializers.Serializer):
    """What a change may touch; anything else in the body is ignored."""

    pickup_day = DayField(required=False)
    pickup_slot = SlotField(required=False)
    return_day = DayField(required=False)
    lines = ReservationLineInputSerializer(many=True, allow_empty=False, max_length=50, required=False)


class ReservationCancelInputSerializer(serializers.Serializer):
    """Staff cancelling someone else's booking must say why (cancel_reason_required); the borrower
    reads it in the cancellation mail. The borrower may post an empty body."""

    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ReservationLineOutputSerializer(serializers.ModelSerializer):
    item_type = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ReservationLine
        fields = ["item_type", "quantity"]


class ColleagueSerializer(serializers.Serializer):
    """A teacher of the booking's school, as the borrower chooses them: id and name only."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.username


class ReservationColleagueInputSerializer(serializers.Serializer):
    colleague = serializers.IntegerField(min_value=1, max_value=ID_MAX, allow_null=True,
                                         help_text="The id of a colleague from GET …/colleague/, or null for nobody.")


class ReservationOutputSerializer(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    lines = ReservationLineOutputSerializer(many=True, read_only=True)
    pickup_slot = SlotField(read_only=True, allow_null=True, help_text="The pickup slot; null for a delivery.")
    colleague = ColleagueSerializer(read_only=True, allow_null=True,
                                    help_text="The colleague who may pick up and return it, if the borrower named one.")
    collection_by_tour = serializers.BooleanField(
        read_only=True, help_text="For a delivery: whether the tour collects it (else the school returns it).")
    delivered_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                             help_text="When the driver confirmed the delivery at the school.")
    collected_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                             help_text="When the driver confirmed the collection at the school.")

    class Meta:
        model = Reservation
        fields = ["code", "status", "fulfilment", "school", "location", "pickup_day", "pickup_slot", "return_day",
                  "lines", "colleague", "collection_by_tour", "delivered_at", "collected_at"]

    def to_representation(self, reservation):
        data = super().to_representation(reservation)
        if reservation.fulfilment == Fulfilment.DELIVERY:
            data["pickup_slot"] = None
        return data


class ErrorSerializer(serializers.Serializer):
    """Every refusal of the API."""

    code = serializers.CharField(help_text="Stable reason code, e.g. not_enough_units or invalid.")
    detail = serializers.CharField(help_text="What happened, in the request's language.")
    fields = serializers.DictField(help_text="For invalid input: the messages per field.")


class ItemTypeQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, max_length=100)
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all(), required=False)
    location = serializers.SlugField(required=False, max_length=50)
    free_from = DayField(required=False)
    free_to = DayField(required=False)
    ordering = _ordering_field(ITEM_TYPE_ORDERINGS, required=False, help_text="Default: by category, then name.")

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
    item_type = serializers.SlugField(max_length=ITEM_TYPE_SLUG_MAX)
    # "from" is a Python keyword: declared below.

    def validate(self, data):
        first_day, last_day = data["from"], data["to"]
        if last_day < first_day:
            raise serializers.ValidationError(_("to must not be before from."))
        if (last_day - first_day).days >= AVAILABILITY_MAX_DAYS:
            raise serializers.ValidationError(
                _("Search at most %(days)d days at a time.") % {"days": AVAILABILITY_MAX_DAYS})
        return data


AvailabilityQuerySerializer._declared_fields["from"] = DayField()
AvailabilityQuerySerializer._declared_fields["to"] = DayField()


class ItemTypeSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    location = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    required_qualification = serializers.CharField(source="required_qualification.name", read_only=True,
                                                   allow_null=True, default=None)
    loanable_units = serializers.IntegerField(read_only=True)
    free_in_window = serializers.SerializerMethodField(
        help_text="Units free on every day of free_from–free_to; null without that filter.")

    class Meta:
        model = ItemType
        fields = ["slug", "name", "description", "contents", "category", "location", "loanable_units",
                  "max_loan_days", "min_lead_days", "max_advance_days", "turnaround_days", "required_qualification",
                  "paused", "paused_reason", "deliverable", "free_in_window"]

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_free_in_window(self, item_type):
        return getattr(item_type, "free_in_window", None)


class AvailabilityDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    loanable = serializers.IntegerField()
    held = serializers.IntegerField()
    free = serializers.IntegerField()
    counter_day = serializers.BooleanField(help_text="Whether the counter is open that day.")
    closure = serializers.CharField(help_text="Why the counter is closed (holiday, closure day), or empty.")


class ReservationQuerySerializer(serializers.Serializer):
    day = DayField(required=False, help_text="Bookings picked up or due back on this day.")
    status = serializers.ChoiceField(choices=ReservationStatus.choices, required=False)
    ordering = _ordering_field(RESERVATION_ORDERINGS, default="pickup_day",
                               help_text="pickup_day orders by pickup day and slot.")


class CounterScanInputSerializer(serializers.Serializer):
    location = serializers.SlugField(max_length=50, help_text="The counter's slug.")
    code = serializers.CharField(max_length=2000, trim_whitespace=False, allow_blank=True,
                                 help_text="What the scanner read: a booking's or a label's link, or a bare code.")
    reservation = serializers.CharField(
        required=False, max_length=40, help_text="The booking code at the desk, if any (a unit scanned then joins it).")


class CounterScanOutputSerializer(serializers.Serializer):
    step = serializers.ChoiceField(choices=["hand_over", "assign", "take_back", "show_unit"])
    reservation = serializers.CharField(allow_null=True)
    unit = serializers.CharField(allow_null=True)


class CounterHandoverInputSerializer(serializers.Serializer):
    location = serializers.SlugField(max_length=50)
    reservation = serializers.CharField(max_length=40, help_text="The booking code.")
    unit = serializers.CharField(required=False, max_length=40, help_text="The scanned unit's asset tag.")
    complete = serializers.BooleanField(default=False, help_text="Confirm the hand-over after this unit.")
    collected_by = serializers.ChoiceField(choices=["borrower", "colleague"], default="borrower",
                                           help_text="Who came for it: the borrower or the colleague they named.")
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


# Staff: units, schools, damage reports -----------------------------------------------------------


class UnitQuerySerializer(serializers.Serializer):
    location = serializers.SlugField(required=False, max_length=50,
                                     help_text="One of your counters (403 for another, 404 if unknown).")
    item_type = serializers.SlugField(required=False, max_length=ITEM_TYPE_SLUG_MAX)
    status = serializers.ChoiceField(choices=UnitStatus.choices, required=False)
    search = serializers.CharField(required=False, max_length=100,
                                   help_text="Part of the asset tag or of the serial number.")
    ordering = _ordering_field(UNIT_ORDERINGS, default="asset_tag",
                               help_text="status orders by status, then asset tag.")


class UnitLoanSerializer(serializers.Serializer):
    """The open hand-over that holds a unit: for whom, since when, until when."""

    reservation = serializers.CharField(help_text="The booking's code.")
    borrower = serializers.CharField(allow_null=True, help_text="The borrower's name; null once the person is removed.")
    school = serializers.CharField()
    handed_out_at = serializers.DateTimeField(
        allow_null=True, help_text="When the loan began; null while the unit is only assigned at the desk.")
    return_day = serializers.DateField()
    overdue_days = serializers.IntegerField(help_text="Days past the return day, 0 if not overdue.")


class UnitSerializer(serializers.ModelSerializer):
    """A unit from `units_at_counters` (its open hand-over annotated)."""

    item_type = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    location = serializers.SlugRelatedField(source="item_type.location", slug_field="slug", read_only=True)
    status = serializers.SerializerMethodField(help_text=(
        "What the unit is doing now: on_loan (handed out), at_desk (assigned to a hand-over not yet confirmed), "
        "else the stored status (available, maintenance, lost, retired)."))
    stored_status = serializers.ChoiceField(source="status", choices=UnitStatus.choices, read_only=True,
                                            help_text="The status kept on the unit (what ?status= filters).")
    reservation = serializers.CharField(
        source="loan_code", read_only=True, allow_null=True,
        help_text="The booking code the unit is out for (or assigned to at the desk), else null.",
    )
    loan = serializers.SerializerMethodField()

    class Meta:
        model = Unit
        fields = ["asset_tag", "item_type", "location", "status", "stored_status", "serial_number", "contents",
                  "notes", "reservation", "loan"]
        read_only_fields = fields

    def _state(self, unit):
        return UnitState(stored_status=unit.status, reservation_status=unit.loan_reservation_status,
                         return_day=unit.loan_return_day, today=timezone.localdate())

    @extend_schema_field({"type": "string", "enum": list(UnitState.CHOICES)})
    def get_status(self, unit):
        return self._state(unit).status

    @extend_schema_field(UnitLoanSerializer(allow_null=True))
    def get_loan(self, unit):
        if unit.loan_code is None:
            return None
        borrower = f"{unit.loan_first_name or ''} {unit.loan_last_name or ''}".strip()
        handed_out = unit.loan_reservation_status == ReservationStatus.HANDED_OUT
        return UnitLoanSerializer({
            "reservation": unit.loan_code,
            "borrower": borrower or (None if unit.loan_first_name is None else ""),
            "school": unit.loan_school, "handed_out_at": unit.loan_handed_out_at if handed_out else None,
            "return_day": unit.loan_return_day, "overdue_days": self._state(unit).overdue_days,
        }).data


class DamageReportQuerySerializer(serializers.Serializer):
    location = serializers.SlugField(required=False, max_length=50,
                                     help_text="One of your counters (403 for another, 404 if unknown).")
    status = serializers.ChoiceField(choices=DamageReport.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=DamageReport.Kind.choices, required=False)
    ordering = _ordering_field(DAMAGE_REPORT_ORDERINGS, required=False,
                               help_text="Default: open reports first, newest first.")


class DamageReportSerializer(serializers.ModelSerializer):
    """A report without who reported or borrowed: the API's staff lists are for follow-up, the
    names stay on the counter's pages."""

    unit = serializers.SlugRelatedField(slug_field="asset_tag", read_only=True, allow_null=True)
    reservation = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    resolution = serializers.ChoiceField(choices=DamageReport.Resolution.choices, allow_blank=True, read_only=True,
                                         help_text="Empty while the report is open.")

    class Meta:
        model = DamageReport
        fields = ["id", "kind", "source", "status", "description", "unit", "reservation", "reported_at",
                  "resolution", "compensation_amount", "settled_at"]
        read_only_fields = fields


class DamageReportSettleInputSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=DamageReport.Resolution.choices)
    compensation_amount = serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=Decimal("0"), allow_null=True, default=None,
        help_text="What the borrower pays, in euros; null or left out when nothing.",
    )


class WaitlistJoinInputSerializer(serializers.Serializer):
    """A request to wait for one item type, as refused by POST reservations/ (not_enough_units or
    slot_full)."""

    item_type = ItemTypeRefField()
    quantity = serializers.IntegerField(min_value=1, max_value=500)
    school = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    pickup_day = DayField()
    pickup_slot = SlotField()
    return_day = DayField()


class WaitlistEntrySerializer(serializers.Serializer):
    """A place on the waiting list: `place` is 1 for the first in line; an offer says until when
    its units are held (`offer_expires_at`), and POST …/book/ turns it into a booking."""

    id = serializers.IntegerField(read_only=True)
    item_type = serializers.CharField(source="item_type.slug", read_only=True, help_text="The item type's slug.")
    quantity = serializers.IntegerField(read_only=True)
    school = serializers.IntegerField(source="school_id", read_only=True)
    pickup_day = serializers.DateField(read_only=True)
    pickup_slot = serializers.TimeField(format="%H:%M", read_only=True)
    return_day = serializers.DateField(read_only=True)
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices, read_only=True)
    place = serializers.SerializerMethodField()
    offer_expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    joined_at = serializers.DateTimeField(read_only=True)

    def get_place(self, entry) -> int | None:
        ahead = getattr(entry, "ahead", None)
        return None if ahead is None else ahead + 1

import datetime
import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import SchoolType
from lending.secrets import new_booking_code


class ReservationStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("confirmed")
    HANDED_OUT = "handed_out", _("handed out")
    RETURNED = "returned", _("returned")
    CANCELLED = "cancelled", _("cancelled")
    NO_SHOW = "no_show", _("not picked up")


class Fulfilment(models.TextChoices):
    """How the items reach the school: picked up at the counter, or delivered by its tour."""

    PICKUP = "pickup", _("pickup at the counter")
    DELIVERY = "delivery", _("delivery to the school")


# A delivery has no pickup slot; its reservation carries this time in the slot's column, which the
# slot counts leave out (they count pickups only).
DELIVERY_SLOT = datetime.time(0, 0)

# The most days a delivery holds its units before its delivery day (Location.tour_packing_days'
# limit): the availability engine widens its window by this much.
MAX_HOLD_DAYS_BEFORE = 14

# Reservations in these states hold units; the availability engine counts only these.
HOLDING_STATUSES = (ReservationStatus.CONFIRMED, ReservationStatus.HANDED_OUT)
# Bookings that were handed out: the statistics' loans.
LOAN_STATUSES = (ReservationStatus.HANDED_OUT, ReservationStatus.RETURNED)
CLOSED_STATUSES = (ReservationStatus.RETURNED, ReservationStatus.CANCELLED, ReservationStatus.NO_SHOW)


class Reservation(models.Model):
    """A booking (Buchung): who borrows what, from which pickup day to which return day."""

    code = models.CharField(_("booking code"), max_length=16, unique=True, default=new_booking_code, editable=False)
    # Nullable so that the link to a person can be removed after the retention period.
    borrower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="reservations", verbose_name=_("borrower"),
    )
    # A colleague of the same school whom the borrower named to pick up and return for them: they
    # see the booking, cannot change or cancel it (lending.services.reservation_name_colleague).
    colleague = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="reservations_as_colleague", verbose_name=_("colleague who may pick up"),
    )
    school = models.ForeignKey("accounts.School", on_delete=models.PROTECT, related_name="reservations", verbose_name=_("school"))
    # The school's type when the booking was made, for the statistics (issue 14): a school that
    # changes type later does not move its past loans to the other row of the annual report.
    school_type = models.CharField(_("school type at booking"), max_length=30, choices=SchoolType.choices,
                                   blank=True, editable=False)
    # No longer written (emptied by migration 0015 and by save()): the teacher-year reference shared by a
    # teacher's bookings linked a purged loan back to her. The statistics count teachers from
    # TeacherReach instead. The column stays one release, for the release still running during
    # the migration, and is dropped after.
    borrower_ref = models.CharField(_("borrower's statistics reference"), max_length=24, blank=True,
                                    editable=False, default="", db_default="")
    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="reservations", verbose_name=_("location"))
    pickup_day = models.DateField(_("pickup day"))
    pickup_slot = models.TimeField(_("pickup slot"))
    return_day = models.DateField(_("return day"))
    status = models.CharField(_("status"), max_length=20, choices=ReservationStatus.choices, default=ReservationStatus.CONFIRMED)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Bumped on every change the borrower should see; the calendar feed's SEQUENCE.
    sequence = models.PositiveIntegerField(_("version"), default=0, editable=False)
    # Delivery (lending.services, "Delivery to schools"): pickup_day is the delivery day and
    # return_day the collection day. The hold around them is fixed when the booking is made, so a
    # counter changing its tour settings later cannot make old bookings overlap: the units leave
    # the shelf `hold_days_before` days before the delivery day (the tour packs) and come back
    # `hold_days_after` days after the collection day.
    fulfilment = models.CharField(_("fulfilment"), max_length=10, choices=Fulfilment.choices,
                                  default=Fulfilment.PICKUP)
    hold_days_before = models.PositiveSmallIntegerField(
        _("held days before"), default=0, validators=[MaxValueValidator(MAX_HOLD_DAYS_BEFORE)], editable=False)
    hold_days_after = models.PositiveSmallIntegerField(_("held days after"), default=0, editable=False)
    # Whether the tour collects at the end (else the school brings the items to the counter).
    collection_by_tour = models.BooleanField(_("collected by the tour"), default=False, editable=False)
    packed_at = models.DateTimeField(_("packed for the tour at"), null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True, editable=False)
    delivered_to = models.CharField(_("received by"), max_length=120, blank=True, editable=False)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-pickup_day", "-id"]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        indexes = [
            # The availability engine reads holding reservations by date window, with the hold
            # around the days (deliveries), from this index alone.
            models.Index(fields=["status", "return_day", "pickup_day", "hold_days_before", "hold_days_after"],
                         name="reservation_hold_window"),
            models.Index(fields=["location", "pickup_day", "pickup_slot"], name="reservation_slot"),
            models.Index(fields=["borrower", "pickup_day"], name="reservation_borrower"),
            models.Index(fields=["colleague", "pickup_day"], name="reservation_colleague"),
            # The counter's returns due on a day.
            models.Index(fields=["location", "return_day"], name="reservation_return_day"),
            # The statistics of all counters read a period's bookings by pickup day.
            models.Index(fields=["pickup_day", "status"], name="reservation_pickup_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(return_day__gte=models.F("pickup_day")), name="reservation_returns_after_pickup"
            ),
        ]

    def __str__(self):
        return f"{self.code} ({self.pickup_day:%d.%m.%Y}–{self.return_day:%d.%m.%Y})"

    def save(self, *args, **kwargs):
        recorded = set()
        if not self.school_type and self.school_id is not None:
            self.school_type = self.school.school_type
            recorded.add("school_type")
        if recorded and kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *recorded}
        # A booking the release before 0014 saved carries its old reference: it goes, and the loan
        # is counted (again: the count ignores what is there already).
        recount = bool(self.borrower_ref)
        if recount:
            self.borrower_ref = ""
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "borrower_ref"}
        update_fields = kwargs.get("update_fields")
        counted = recount or update_fields is None or bool(set(update_fields) & REACH_FIELD_NAMES)
        stored = None
        if counted and self.pk is not None and not self._state.adding:
            stored = getattr(self, "_reach_stored", None)
            if stored is None:
                stored = Reservation.objects.filter(pk=self.pk).values_list(*REACH_FIELDS).first()
        with transaction.atomic(savepoint=False):
            super().save(*args, **kwargs)
            if counted:
                values = reach_values_saved(self, stored, update_fields)
                teacher_reach_record(now=_reach_key(*values),
                                     before=None if recount or stored is None else _reach_key(*stored))
                self._reach_stored = values

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self.__dict__.pop("_reach_stored", None)  # save() reads the stored booking again

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Where the stored booking counts in the statistics, so that save() need not read it again.
        if all(name in field_names for name in REACH_FIELDS):
            instance._reach_stored = tuple(getattr(instance, name) for name in REACH_FIELDS)
        return instance

    @property
    def is_delivery(self):
        return self.fulfilment == Fulfilment.DELIVERY

    def hold_first_day(self):
        """The first day the booking holds its units (the tour packs before a delivery)."""
        return self.pickup_day - datetime.timedelta(days=self.hold_days_before)

    def is_overdue(self, today):
        # Collected by the tour, the units are on their way back: late only if collected late.
        if self.collected_at is not None:
            return self.status == ReservationStatus.HANDED_OUT and timezone.localdate(self.collected_at) > self.return_day
        return self.status == ReservationStatus.HANDED_OUT and self.return_day < today


class ReservationLine(models.Model):
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines", verbose_name=_("reservation"))
    item_type = models.ForeignKey("catalog.ItemType", on_delete=models.PROTECT, related_name="reservation_lines", verbose_name=_("item type"))
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("reservation line")
        verbose_name_plural = _("reservation lines")
        indexes = [
            # The availability engine reads the lines of the bookings in its window from this index
            # alone (lending/availability.py), never from the table.
            models.Index(fields=["reservation", "item_type", "quantity"], name="reservation_line_hold"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reservation", "item_type"], name="one_line_per_item_type"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="line_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.item_type}"


class ReservationEvent(models.Model):
    """The event log of a reservation: every change with who and when."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        CHANGED = "changed", _("changed")
        CANCELLED = "cancelled", _("cancelled")
        HANDED_OUT = "handed_out", _("handed out")
        RETURNED = "returned", _("returned")
        NO_SHOW = "no_show", _("marked as not picked up")
        OVERRIDE = "override", _("rule overridden by staff")
        UNIT_ASSIGNED = "unit_assigned", _("unit assigned")
        UNIT_RETURNED = "unit_returned", _("unit taken back")
        DAMAGE_REPORTED = "damage_reported", _("damage reported")
        SCANNED = "scanned", _("scanned at the counter")
        EXTENDED = "extended", _("loan extended")
        COLLEAGUE = "colleague", _("colleague named to pick up")
        PACKED = "packed", _("packed for the tour")
        DELIVERED = "delivered", _("delivered to the school")
        COLLECTED = "collected", _("collected from the school")

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="events", verbose_name=_("reservation"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("reservation event")
        verbose_name_plural = _("reservation events")

    def __str__(self):
        return f"{self.get_action_display()} {self.at:%d.%m.%Y %H:%M}"


class Handover(models.Model):
    """One unit handed out for one booking, and its way back: who and when, and its condition.

    A unit is with at most one borrower at a time: the partial unique constraint allows one open
    hand-over (not yet returned) per unit, on SQLite and on PostgreSQL alike.
    """

    class Condition(models.TextChoices):
        COMPLETE = "complete", _("complete")
        DAMAGED = "damaged", _("damaged")
        PARTS_MISSING = "parts_missing", _("parts missing")
        LOST = "lost", _("lost")

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="handovers", verbose_name=_("reservation"))
    unit = models.ForeignKey("catalog.Unit", on_delete=models.PROTECT, related_name="handovers", verbose_name=_("unit"))
    handed_out_at = models.DateTimeField(_("handed out at"), default=timezone.now)
    handed_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("handed out by"),
    )
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("taken back by"),
    )
    return_condition = models.CharField(_("condition at return"), max_length=20, choices=Condition.choices, blank=True)
    return_note = models.TextField(_("note at return"), blank=True)
    returned_late = models.BooleanField(_("returned late"), default=False)

    class Meta:
        ordering = ["handed_out_at", "id"]
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-overs")
        indexes = [
            # The statistics read the few units returned late (lending/figures.py) from here.
            models.Index(fields=["reservation"], condition=models.Q(returned_late=True), name="handover_late"),
            # … and the units' days out in a period, by unit, from the index alone.
            models.Index(fields=["unit", "handed_out_at", "returned_at"], name="handover_unit_days"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"], condition=models.Q(returned_at__isnull=True), name="one_open_handover_per_unit"
            ),
            # A condition exactly when the unit is back.
            models.CheckConstraint(
                condition=models.Q(returned_at__isnull=True, return_condition="")
                | (models.Q(returned_at__isnull=False) & ~models.Q(return_condition="")),
                name="handover_condition_when_returned",
            ),
        ]

    def __str__(self):
        return f"{self.unit_id} → {self.reservation_id}"

    @property
    def is_open(self):
        return self.returned_at is None


class DamageReport(models.Model):
    """Damage, theft or loss of a unit (or of a loan as a whole), and how staff settled it.

    Kept until settled whatever the retention period (the borrower link of the reservation may go).
    """

    class Kind(models.TextChoices):
        DAMAGE = "damage", _("damage")
        THEFT = "theft", _("theft")
        LOSS = "loss", _("loss")

    class Source(models.TextChoices):
        COUNTER = "counter", _("found at the counter")
        TEACHER = "teacher", _("reported by the teacher")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        SETTLED = "settled", _("settled")

    class Resolution(models.TextChoices):
        REPAIR = "repair", _("repaired")
        REPLACE = "replace", _("replaced")
        WRITE_OFF = "write_off", _("written off")

    unit = models.ForeignKey(
        "catalog.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="damage_reports",
        verbose_name=_("unit"),
    )
    reservation = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="damage_reports",
        verbose_name=_("reservation"),
    )
    handover = models.ForeignKey(
        Handover, on_delete=models.SET_NULL, null=True, blank=True, related_name="damage_reports",
        verbose_name=_("hand-over"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("reported by"),
    )
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(_("resolution"), max_length=20, choices=Resolution.choices, blank=True)
    compensation_amount = models.DecimalField(
        _("compensation (EUR)"), max_digits=8, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("settled by"),
    )

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("damage report")
        verbose_name_plural = _("damage reports")
        indexes = [
            # Yearly statistics count reports per kind and reporting date.
            models.Index(fields=["kind", "reported_at"], name="damage_report_kind_year"),
            models.Index(fields=["status", "reported_at"], name="damage_report_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(compensation_amount__isnull=True) | models.Q(compensation_amount__gte=0),
                name="damage_compensation_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.reported_at:%d.%m.%Y}"


class UnitEvent(models.Model):
    """The history of a unit: every scan, hand-over, return, status change and damage report."""

    class Action(models.TextChoices):
        SCANNED = "scanned", _("scanned")
        HANDED_OUT = "handed_out", _("handed out")
        RETURNED = "returned", _("taken back")
        STATUS_CHANGED = "status_changed", _("status changed")
        DAMAGE_REPORTED = "damage_reported", _("damage reported")
        DAMAGE_SETTLED = "damage_settled", _("damage report settled")

    unit = models.ForeignKey("catalog.Unit", on_delete=models.CASCADE, related_name="events", verbose_name=_("unit"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("unit event")
        verbose_name_plural = _("unit events")
        indexes = [models.Index(fields=["unit", "at"], name="unit_event_history")]

    def __str__(self):
        return f"{self.get_action_display()} {self.at:%d.%m.%Y %H:%M}"


class CalendarToken(models.Model):
    """The secret in a person's calendar feed URLs (`/kalender/<token>.ics`).

    Only a hash is stored: whoever reads the database cannot subscribe to anyone's calendar. A
    new token replaces the old one at once (the old URLs stop working). The token opens the feeds
    only, never a session.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token", verbose_name=_("user"),
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("calendar token")
        verbose_name_plural = _("calendar tokens")

    def __str__(self):
        return f"{self.user} ({self.created_at:%d.%m.%Y})"


class IdempotencyKey(models.Model):
    """A counter script's request key and the answer it got: the same request sent again (a
    retry after a lost answer) gets the same answer and changes nothing a second time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    key = models.CharField(_("key"), max_length=100)
    endpoint = models.CharField(_("endpoint"), max_length=50)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True)
    response = models.JSONField(_("answer"), null=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_answer_per_key")]


class WaitlistEntry(models.Model):
    """A place on the waiting list (Warteliste): a teacher who was refused for lack of units or a
    full slot waits for that item type, quantity and days at the counter.

    When units become free, the first entry in line whose request fits is offered them: the
    units are held for it until `offer_expires_at` (the availability engine counts an open offer
    like a booking), and one click turns the offer into a booking (lending.waitlist)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")
        OFFERED = "offered", _("offered")
        BOOKED = "booked", _("booked")
        LAPSED = "lapsed", _("offer not taken in time")
        LEFT = "left", _("left the list")
        REMOVED = "removed", _("removed by staff")
        EXPIRED = "expired", _("days passed")

    borrower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="waitlist_entries",
        verbose_name=_("teacher"),
    )
    school = models.ForeignKey("accounts.School", on_delete=models.PROTECT, related_name="waitlist_entries",
                               verbose_name=_("school"))
    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="waitlist_entries",
                                 verbose_name=_("location"))
    item_type = models.ForeignKey("catalog.ItemType", on_delete=models.PROTECT, related_name="waitlist_entries",
                                  verbose_name=_("item type"))
    quantity = models.PositiveIntegerField(_("quantity"))
    pickup_day = models.DateField(_("pickup day"))
    pickup_slot = models.TimeField(_("pickup slot"))
    return_day = models.DateField(_("return day"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.WAITING)
    # The place in line: first come, first served (the time of joining), unless staff move an
    # entry (a logged reason), which gives it a rank between its new neighbours.
    rank = models.FloatField(_("place in line"))
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    offered_at = models.DateTimeField(_("offered at"), null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offer held until"), null=True, blank=True)
    reservation = models.OneToOneField(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="waitlist_entry",
        verbose_name=_("booking made from the offer"),
    )

    class Meta:
        ordering = ["rank", "id"]
        verbose_name = _("waiting list entry")
        verbose_name_plural = _("waiting list entries")
        indexes = [
            # The line of an item type: who waits, in order.
            models.Index(fields=["item_type", "status", "rank"], name="waitlist_line"),
            # The availability engine reads open offers by date window, as it reads bookings.
            models.Index(fields=["status", "return_day", "pickup_day"], name="waitlist_offer_window"),
            models.Index(fields=["borrower", "status"], name="waitlist_borrower"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(return_day__gte=models.F("pickup_day")),
                                   name="waitlist_returns_after_pickup"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="waitlist_quantity_positive"),
            # An offer always says until when it holds.
            models.CheckConstraint(
                condition=~models.Q(status="offered") | models.Q(offer_expires_at__isnull=False),
                name="waitlist_offer_has_expiry",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.item_type_id} ({self.pickup_day:%d.%m.%Y}–{self.return_day:%d.%m.%Y})"

    def offer_is_open(self, now):
        return self.status == self.Status.OFFERED and self.offer_expires_at > now


class WaitlistEvent(models.Model):
    """What happened to a waiting-list entry, with who and when: joined, offered, booked, lapsed,
    left, moved by staff (with the reason), removed, expired."""

    class Action(models.TextChoices):
        JOINED = "joined", _("joined the waiting list")
        OFFERED = "offered", _("units offered")
        BOOKED = "booked", _("offer booked")
        LAPSED = "lapsed", _("offer not taken in time")
        LEFT = "left", _("left the waiting list")
        MOVED = "moved", _("moved in line by staff")
        REMOVED = "removed", _("removed by staff")
        EXPIRED = "expired", _("days passed")

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="events",
                              verbose_name=_("waiting list entry"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("waiting list event")
        verbose_name_plural = _("waiting list events")

    def __str__(self):
        return f"{self.get_action_display()} {self.at:%d.%m.%Y %H:%M}"


class RefusedRequest(models.Model):
    """A booking request refused for lack of units (not_enough_units), for the statistics' demand
    figures: what was asked for, for which days, at which counter and from which type of school,
    never by whom. Written by reservation_create after its transaction rolled back."""

    at = models.DateTimeField(_("at"), default=timezone.now)
    location = models.ForeignKey("catalog.Location", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("location"))
    item_type = models.ForeignKey("catalog.ItemType", on_delete=models.CASCADE, related_name="refused_requests",
                                  verbose_name=_("item type"))
    quantity = models.PositiveIntegerField(_("quantity"))
    pickup_day = models.DateField(_("pickup day"))
    return_day = models.DateField(_("return day"))
    fulfilment = models.CharField(_("fulfilment"), max_length=10, choices=Fulfilment.choices,
                                  default=Fulfilment.PICKUP)
    school_type = models.CharField(_("school type"), max_length=30, choices=SchoolType.choices, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("refused request")
        verbose_name_plural = _("refused requests")
        indexes = [models.Index(fields=["pickup_day", "item_type"], name="refused_request_day")]

    def __str__(self):
        return f"{self.quantity} × {self.item_type_id} ({self.pickup_day:%d.%m.%Y})"


# Teachers reached, for the statistics (lending/figures.py) ------------------------------------

# The reservation fields whose change can move a loan to another teacher-year.
REACH_FIELDS = ("borrower_id", "pickup_day", "location_id", "school_type", "status")
REACH_FIELD_NAMES = {*REACH_FIELDS, "borrower", "location", "school"}


def new_teacher_ref():
    return secrets.token_hex(8)


class TeacherYear(models.Model):
    """A teacher's random statistics reference for one calendar year (of the pickup days). It
    links her to her TeacherReach rows until the year is over and no open booking (confirmed or
    handed out) of it names her: the purge removes it then (accounts.services.personal_data_purge),
    and deleting her account removes it too. No booking points at it."""

    borrower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("borrower"))
    year = models.PositiveSmallIntegerField(_("year"))
    ref = models.CharField(_("reference"), max_length=16, unique=True, default=new_teacher_ref)

    class Meta:
        verbose_name = _("teacher's statistics reference")
        verbose_name_plural = _("teachers' statistics references")
        constraints = [models.UniqueConstraint(fields=["borrower", "year"], name="teacher_year_once")]


class TeacherReach(models.Model):
    """That a teacher (a TeacherYear reference, never a person or a booking) had at least one loan
    picked up in this calendar year at this counter for a school of this type. "Teachers reached"
    counts the distinct references of a period's years. By year, not by month or day, so that a
    row says no more about a purged loan than "she borrowed at this counter that year"; its key is
    random, so the order rows were written in does not point to a hand-out either."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ref = models.CharField(_("reference"), max_length=16)
    year = models.PositiveSmallIntegerField(_("year"))
    location = models.ForeignKey("catalog.Location", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("location"))
    school_type = models.CharField(_("school type"), max_length=30, choices=SchoolType.choices, blank=True)

    class Meta:
        verbose_name = _("teacher reached in a year")
        verbose_name_plural = _("teachers reached by year")
        constraints = [models.UniqueConstraint(fields=["ref", "year", "location", "school_type"],
                                               name="teacher_reach_once")]
        indexes = [models.Index(fields=["year", "location", "school_type", "ref"], name="teacher_reach_count")]


def _reach_key(borrower_id, pickup_day, location_id, school_type, status):
    if borrower_id is None or status not in LOAN_STATUSES or not isinstance(pickup_day, datetime.date):
        return None
    return (borrower_id, pickup_day.year, location_id, school_type)


def reach_values_saved(reservation, stored, update_fields):
    """The REACH_FIELDS of `reservation` as stored once saved: its own values, the stored ones for
    the fields `update_fields` leaves out."""
    values = tuple(getattr(reservation, name) for name in REACH_FIELDS)
    if update_fields is None or stored is None:
        return values
    saved = {name if name.endswith("_id") or name not in ("borrower", "location") else f"{name}_id"
             for name in update_fields}
    return tuple(value if name in saved else old for name, value, old in zip(REACH_FIELDS, values, stored))


def teacher_reach_record(*, now, before):
    """Count a loan's teacher in the year, counter and school type of its pickup (`now`, a
    _reach_key); when a loan moved or stopped being one (`before`: where it counted), forget the
    old teacher-year unless another loan can still count there. Called by Reservation.save()."""
    if now == before:
        return
    if before is not None:
        borrower_id, year, location_id, school_type = before
        loans = Reservation.objects.filter(location_id=location_id, school_type=school_type, pickup_day__year=year,
                                           status__in=LOAN_STATUSES)
        # Her other loans there, or loans whose person the purge removed (they may be hers).
        still_there = loans.filter(Q(borrower_id=borrower_id) | Q(borrower__isnull=True)).exists()
        if not still_there:
            TeacherReach.objects.filter(ref__in=TeacherYear.objects.filter(borrower_id=borrower_id, year=year)
                                        .values("ref"), year=year, location_id=location_id,
                                        school_type=school_type).delete()
    if now is not None:
        borrower_id, year, location_id, school_type = now
        ref = TeacherYear.objects.filter(borrower_id=borrower_id, year=year).values_list("ref", flat=True).first()
        if ref is None:
            # Two first hand-outs of her year at once: the second insert is ignored, both read one.
            TeacherYear.objects.bulk_create([TeacherYear(borrower_id=borrower_id, year=year)], ignore_conflicts=True)
            ref = TeacherYear.objects.filter(borrower_id=borrower_id, year=year).values_list("ref", flat=True).get()
        TeacherReach.objects.bulk_create(
            [TeacherReach(ref=ref, year=year, location_id=location_id, school_type=school_type)],
            ignore_conflicts=True)

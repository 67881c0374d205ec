from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lending.secrets import new_booking_code


class ReservationStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("confirmed")
    HANDED_OUT = "handed_out", _("handed out")
    RETURNED = "returned", _("returned")
    CANCELLED = "cancelled", _("cancelled")
    NO_SHOW = "no_show", _("not picked up")


# Reservations in these states hold units; the availability engine counts only these.
HOLDING_STATUSES = (ReservationStatus.CONFIRMED, ReservationStatus.HANDED_OUT)
CLOSED_STATUSES = (ReservationStatus.RETURNED, ReservationStatus.CANCELLED, ReservationStatus.NO_SHOW)


class Reservation(models.Model):
    """A booking (Buchung): who borrows what, from which pickup day to which return day."""

    code = models.CharField(_("booking code"), max_length=16, unique=True, default=new_booking_code, editable=False)
    # Nullable so that the link to a person can be removed after the retention period.
    borrower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="reservations", verbose_name=_("borrower"),
    )
    school = models.ForeignKey("accounts.School", on_delete=models.PROTECT, related_name="reservations", verbose_name=_("school"))
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

    class Meta:
        ordering = ["-pickup_day", "-id"]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        indexes = [
            # The availability engine reads holding reservations by date window.
            models.Index(fields=["status", "return_day", "pickup_day"], name="reservation_hold_window"),
            models.Index(fields=["location", "pickup_day", "pickup_slot"], name="reservation_slot"),
            models.Index(fields=["borrower", "pickup_day"], name="reservation_borrower"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(return_day__gte=models.F("pickup_day")), name="reservation_returns_after_pickup"
            ),
        ]

    def __str__(self):
        return f"{self.code} ({self.pickup_day:%d.%m.%Y}–{self.return_day:%d.%m.%Y})"

    def is_overdue(self, today):
        return self.status == ReservationStatus.HANDED_OUT and self.return_day < today


class ReservationLine(models.Model):
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines", verbose_name=_("reservation"))
    item_type = models.ForeignKey("catalog.ItemType", on_delete=models.PROTECT, related_name="reservation_lines", verbose_name=_("item type"))
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("reservation line")
        verbose_name_plural = _("reservation lines")
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

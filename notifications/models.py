"""The outgoing mail queue: one row per message the portal owes someone.

A row is written in the same transaction as the change it reports (a booking, its change, its
cancellation), so a change that rolls back leaves no mail behind and a committed one always has
its mail queued, whether or not the mail server answers at that moment. The worker
(`manage.py deliver_mail`) renders and sends the rows later; see notifications/delivery.py for how
it sends each one at most once.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Mail(models.Model):
    class Kind(models.TextChoices):
        BOOKING_CONFIRMED = "booking_confirmed", _("booking confirmed")
        BOOKING_CHANGED = "booking_changed", _("booking changed")
        BOOKING_CANCELLED = "booking_cancelled", _("booking cancelled")
        BOOKING_EXTENDED = "booking_extended", _("loan extended")
        NO_SHOW = "no_show", _("not picked up")
        RETURN_RECEIPT = "return_receipt", _("return receipt")
        PICKUP_REMINDER = "pickup_reminder", _("pickup reminder")
        RETURN_REMINDER = "return_reminder", _("return reminder")
        OVERDUE = "overdue", _("overdue notice")
        OVERDUE_COPY = "overdue_copy", _("overdue notice (copy for the counter)")
        DAMAGE_RECEIVED = "damage_received", _("damage report received")
        DAMAGE_SETTLED = "damage_settled", _("damage report settled")
        QUALIFICATION_EXPIRING = "qualification_expiring", _("qualification expiring")
        AT_RISK = "at_risk", _("booking at risk")
        DAILY_DIGEST = "daily_digest", _("the counter's day ahead")
        COLLEAGUE_NAMED = "colleague_named", _("named to pick up for a colleague")
        WAITLIST_OFFER = "waitlist_offer", _("units offered from the waiting list")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("being sent")
        SENT = "sent", _("delivered")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("not needed any more")

    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    # What happened and for whom, e.g. "booking_confirmed:<event>:<user>": the unique index makes
    # a second queueing of the same message a no-op, however often and however concurrently.
    key = models.CharField(_("key"), max_length=200, unique=True)
    reservation = models.ForeignKey("lending.Reservation", on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="mails", verbose_name=_("reservation"))
    event = models.ForeignKey("lending.ReservationEvent", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("event"))
    damage_report = models.ForeignKey("lending.DamageReport", on_delete=models.CASCADE, null=True, blank=True,
                                      related_name="+", verbose_name=_("damage report"))
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mails",
                                  verbose_name=_("recipient"))
    # Who asked for it (a resend by staff); empty for the portal's own mails.
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("requested by"))
    # What a mail not about a booking is about, e.g. {"location": 1, "day": "2027-03-02"} for a digest.
    data = models.JSONField(_("details"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # Filled in when the mail is rendered: the address and subject it went out with.
    to = models.EmailField(_("to"), blank=True)
    subject = models.CharField(_("subject"), max_length=250, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=250, blank=True)
    # The mail server's answer or our reason; never any of the message's body.
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=("status", "next_attempt_at"), name="mail_due")]

    # The ones a teacher may switch off (User.mail_reminders); they say how, and carry List-Unsubscribe.
    OPTIONAL_KINDS = (Kind.PICKUP_REMINDER, Kind.RETURN_REMINDER, Kind.QUALIFICATION_EXPIRING)

    def __str__(self):
        return f"{self.get_kind_display()} → {self.to or self.recipient_id}"

    @property
    def masked_to(self):
        """The address as staff see it: 'a…@schule.de'."""
        local, _at, domain = self.to.partition("@")
        return f"{local[:1]}…@{domain}" if domain else ""

"""Rendering a queued mail into the message that goes out: subject, plain text, HTML with the
booking's QR code as an inline image, and the booking's events as an .ics attachment.

Rendered by the worker when it sends, in the recipient's language, from the booking as it stands
then (a booking changed twice before the worker ran shows its last state in both mails)."""

import io
from email.mime.image import MIMEImage
from email.utils import make_msgid

import qrcode
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from catalog.models import ISO_WEEKDAYS
from lending.calendar import calendar_for_reservation
from notifications.models import Mail

TEMPLATES = {
    Mail.Kind.BOOKING_CONFIRMED: "notifications/mail/booking_confirmed",
    Mail.Kind.BOOKING_CHANGED: "notifications/mail/booking_changed",
    Mail.Kind.BOOKING_CANCELLED: "notifications/mail/booking_cancelled",
}
QR_CID_DOMAIN = "technikverleih"


class NoAddress(Exception):
    """The recipient has no e-mail address to write to."""


class MailWithInlineImages(EmailMultiAlternatives):
    """Django's message with images the HTML part shows by cid: (multipart/related), so that
    nothing is loaded from another host: mixed[alternative[text, related[html, images]], files]."""

    def __init__(self, *args, inline_images=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.inline_images = list(inline_images)

    def message(self):
        message = super().message()
        if not self.inline_images:
            return message
        alternative = message if message.get_content_type() == "multipart/alternative" else next(
            part for part in message.get_payload() if part.get_content_type() == "multipart/alternative")
        *others, html = alternative.get_payload()
        related = SafeMIMEMultipart(_subtype="related", encoding=self.encoding)
        related.attach(html)
        for image in self.inline_images:
            related.attach(image)
        alternative.set_payload([*others, related])
        return message


def site_url(path):
    return f"{settings.SITE_URL}{path}"


def qr_png(data):
    buffer = io.BytesIO()
    qrcode.make(data, box_size=8, border=4).save(buffer, format="PNG")
    return buffer.getvalue()


def _opening_hours(location):
    days = dict(ISO_WEEKDAYS)
    weekdays = ", ".join(str(days[day]) for day in sorted(location.counter_weekdays))
    return f"{weekdays}, {location.opens_at:%H:%M}–{location.closes_at:%H:%M}"


def build(mail):
    """The message for `mail` (a Django EmailMessage), ready for any mail backend.

    Raises NoAddress when the recipient has no address."""
    recipient = mail.recipient
    to = recipient.notification_email
    if not to:
        raise NoAddress
    reservation = mail.reservation
    language = recipient.language or settings.LANGUAGE_CODE
    with translation.override(language):
        booking_url = site_url(reverse("frontend:booking_detail", kwargs={"code": reservation.code}))
        scan_url = site_url(reverse("frontend:booking_scan", kwargs={"code": reservation.code}))
        qr_cid = make_msgid("qr", domain=QR_CID_DOMAIN)
        cancelled_by_staff = (mail.kind == Mail.Kind.BOOKING_CANCELLED and mail.event is not None
                              and mail.event.actor_id not in (None, reservation.borrower_id))
        context = {
            "reservation": reservation, "recipient": recipient, "location": reservation.location,
            "lines": [(line.item_type.name, line.quantity)
                      for line in reservation.lines.select_related("item_type").order_by("item_type__name")],
            "opening_hours": _opening_hours(reservation.location),
            "booking_url": booking_url, "qr_cid": qr_cid[1:-1], "cancelled_by_staff": cancelled_by_staff,
            "account_url": site_url(reverse("profile:show")),
        }
        subject = _subject(mail, reservation)
        text = render_to_string(f"{TEMPLATES[mail.kind]}.txt", context)
        html = render_to_string(f"{TEMPLATES[mail.kind]}.html", {**context, "subject": subject,
                                                                  "language": language})
        calendar = calendar_for_reservation(reservation=reservation, base_url=settings.SITE_URL)
        image = MIMEImage(qr_png(scan_url), "png")
        image.add_header("Content-ID", qr_cid)
        image.add_header("Content-Disposition", "inline", filename=f"{reservation.code}.png")
        reply_to = [reservation.location.reply_to_email] if reservation.location.reply_to_email else []
        message = MailWithInlineImages(
            subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], reply_to=reply_to,
            headers={"Message-ID": make_msgid("mail", domain=QR_CID_DOMAIN), "Auto-Submitted": "auto-generated"},
            inline_images=[image],
        )
        message.attach_alternative(html, "text/html")
        message.attach(f"technikverleih-{reservation.code}.ics", calendar, "text/calendar; method=PUBLISH")
    return message


def _subject(mail, reservation):
    day = date_format(reservation.pickup_day, "D, j. F Y" if translation.get_language() == "de" else "D, j F Y")
    if mail.kind == Mail.Kind.BOOKING_CONFIRMED:
        return _("Booking %(code)s confirmed: pickup %(day)s") % {"code": reservation.code, "day": day}
    if mail.kind == Mail.Kind.BOOKING_CHANGED:
        return _("Booking %(code)s changed: pickup %(day)s") % {"code": reservation.code, "day": day}
    return _("Booking %(code)s cancelled (pickup was %(day)s)") % {"code": reservation.code, "day": day}

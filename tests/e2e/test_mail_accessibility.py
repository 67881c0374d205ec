"""Every kind of mail, as its HTML part arrives, in a real browser: readable on a phone, accessible,
and loading nothing from anywhere.

Each kind is built over the demo data as the worker builds it (notifications.messages.build), in
German and English, and its HTML part opened in Debian's Chromium the way a webmail shows it. It must
hold that:

- it loads nothing: no request leaves the page, and no src, srcset, stylesheet or CSS url() names
  another host (the QR code is an inline cid: image, and the mail reads the same without it: the
  image has a text alternative and the booking code stands in the text);
- it reflows at 320 and 390 px like our pages (tests/e2e/test_reflow.py's checks);
- axe-core finds no WCAG 2.1 A/AA violation.

Screenshots: test-results/e2e/<test>/NN-<kind>-<width>-<language>.png.
"""

import datetime
import decimal
import re

import pytest
from django.utils import timezone

from accounts.models import User
from catalog.models import Location
from lending.management.commands.load_demo import DEMO_LOCATION_SLUG, DemoLoader
from lending.models import DamageReport, Handover, Reservation, ReservationStatus, WaitlistEntry
from lending.services import damage_report_create, damage_report_settle
from notifications.messages import build
from notifications.models import Mail
from tests import factories
from tests.e2e.test_reflow import AXE, CHECK_LAYOUT, axe_violations

K = Mail.Kind
REMOTE = re.compile(r"""(?:src|srcset|background)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|<link\b""",
                    re.IGNORECASE)


def demo_mails():
    """One unsaved Mail of every kind over the demo data, each as the portal would queue it."""
    DemoLoader(today=timezone.localdate()).load()
    teacher = User.objects.get(username="lehrerin")
    clerk = User.objects.get(username="theke")
    location = Location.objects.get(slug=DEMO_LOCATION_SLUG)
    mine = Reservation.objects.filter(borrower=teacher)
    upcoming = mine.filter(status=ReservationStatus.CONFIRMED).order_by("pickup_day").first()
    cancelled = mine.filter(status=ReservationStatus.CANCELLED).first()
    on_loan = mine.filter(status=ReservationStatus.HANDED_OUT).order_by("return_day").first()
    returned = mine.filter(status=ReservationStatus.RETURNED).first()
    handover = Handover.objects.filter(reservation=on_loan).first()
    report = damage_report_create(reporter=teacher, reservation=on_loan, unit_or_none=handover.unit,
                                  kind=DamageReport.Kind.DAMAGE, description="Ein Controller lädt nicht mehr.")
    settled = damage_report_create(reporter=teacher, reservation=on_loan, unit_or_none=None,
                                   kind=DamageReport.Kind.LOSS, description="Ein Ladekabel fehlt.")
    settled = damage_report_settle(report=settled, actor=clerk, resolution=DamageReport.Resolution.REPLACE,
                                   compensation_amount=decimal.Decimal("12.50"))
    by_reservation = {
        K.BOOKING_CONFIRMED: upcoming, K.BOOKING_CHANGED: upcoming, K.BOOKING_CANCELLED: cancelled,
        K.BOOKING_EXTENDED: on_loan, K.NO_SHOW: upcoming, K.RETURN_RECEIPT: returned,
        K.PICKUP_REMINDER: upcoming, K.RETURN_REMINDER: on_loan, K.OVERDUE: on_loan, K.AT_RISK: upcoming,
    }
    mails = [Mail(kind=kind, key=kind, recipient=teacher, reservation=reservation)
             for kind, reservation in by_reservation.items()]
    mails += [
        Mail(kind=K.OVERDUE_COPY, key="copy", recipient=clerk, reservation=on_loan),
        Mail(kind=K.DAMAGE_RECEIVED, key="damage", recipient=teacher, reservation=on_loan, damage_report=report),
        Mail(kind=K.DAMAGE_SETTLED, key="settled", recipient=teacher, reservation=on_loan, damage_report=settled),
        Mail(kind=K.QUALIFICATION_EXPIRING, key="qualification", recipient=teacher, data={
            "grant": 1, "qualification": "Einweisung VR-Brillen",
            "expires_on": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
            "item_types": ["VR-Koffer mit 12 Brillen"]}),
        Mail(kind=K.DAILY_DIGEST, key="digest", recipient=clerk,
             data={"location": location.pk, "day": upcoming.pickup_day.isoformat()}),
        Mail(kind=K.COLLEAGUE_NAMED, key="colleague", reservation=upcoming,
             recipient=factories.make_user(username="kollegin", schools=[upcoming.school], first_name="Karla",
                                           last_name="Kollegin")),
    ]
    offered = WaitlistEntry.objects.get(borrower=teacher, status=WaitlistEntry.Status.OFFERED)
    mails.append(Mail(kind=K.WAITLIST_OFFER, key="offer", recipient=teacher,
                      data={"entry": offered.pk, "offered_at": offered.offered_at.isoformat()}))
    assert {mail.kind for mail in mails} == set(K.values), "a kind of mail is not checked"
    return mails


@pytest.mark.django_db(transaction=True)
def test_every_mail_reads_on_a_phone_loads_nothing_and_passes_axe(page, screenshot):
    axe = AXE.read_text(encoding="utf-8")
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    problems = []
    for mail in demo_mails():
        for language in ("de", "en"):
            mail.recipient.language = language
            message = build(mail)
            [(html, mimetype)] = message.alternatives
            assert mimetype == "text/html"
            where = f"{mail.kind} ({language})"
            problems += [f"{where}: names another host: {found!r}" for found in REMOTE.findall(html)]
            if mail.reservation_id:
                assert mail.reservation.code in message.body and mail.reservation.code in html, where
            for width in (320, 390):
                page.set_viewport_size({"width": width, "height": 800})
                page.set_content(html)
                assert page.evaluate("document.documentElement.lang") == language, where
                problems += [f"{where} at {width} px: {problem}" for problem in page.evaluate(CHECK_LAYOUT)]
                if width == 320:
                    problems += [f"{where}: axe {violation}" for violation in axe_violations(page, axe)]
                    screenshot(f"{mail.kind}-{width}-{language}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert not [url for url in requests if not url.startswith(("about:", "data:", "cid:"))], requests

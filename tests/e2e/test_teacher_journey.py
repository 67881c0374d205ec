"""A teacher's whole journey in a real browser: sign in, find an item, pick the period in the
month calendar, book two item types, read the QR code, take one item type off and cancel."""

import io
import re

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from lending.models import Reservation, ReservationStatus
from tests import factories


@pytest.fixture
def catalogue(location):
    vr = factories.make_category(name="Virtual Reality", slug="vr")
    coding = factories.make_category(name="Coding", slug="coding")
    return {
        "vr": factories.make_item_type(location=location, category=vr, name="VR-Koffer mit 12 Brillen",
                                       slug="vr-koffer", units=3, min_lead_days=2, turnaround_days=1),
        "ozobot": factories.make_item_type(location=location, category=coding, name="Ozobot-Klassensatz",
                                           slug="ozobot", units=2, min_lead_days=2),
    }


def test_a_teacher_books_two_item_types_and_cancels(page, live_server, screenshot, catalogue, teacher_a, settings):
    settings.SITE_URL = live_server.url
    # Sign in.
    page.goto("/buchungen/")
    expect(page).to_have_url(re.compile(r"/konto/login/"))
    page.locator("input[name=login]").fill("alice")
    page.locator("input[name=password]").fill("correct-horse-battery")
    screenshot("sign-in")
    page.locator("form.login-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/buchungen/$"))
    expect(page.locator("h1")).to_be_visible()

    # Find the VR case in the catalogue.
    page.goto("/")
    page.locator("input[name=q]").fill("VR")
    page.locator("form.filter-form button[type=submit]").click()
    expect(page.locator(".item-card")).to_have_count(1)
    screenshot("catalogue-search")
    page.locator(".item-card h3 a").click()
    expect(page.locator("h1")).to_have_text("VR-Koffer mit 12 Brillen")

    # Pick a pickup day, then a return day a week later, in the month calendar (next month, so
    # there are always enough counter days ahead).
    page.locator("a[rel=next]").click()
    open_days = page.locator("td.day-open a")
    expect(open_days.first).to_be_visible()
    pickup = open_days.nth(0).locator("xpath=..").get_attribute("data-date")
    open_days.nth(0).click()
    expect(page.locator("td.is-selected")).to_have_count(1)
    screenshot("pickup-chosen")
    return_cell = page.locator("td.day-open a").nth(2)
    return_day = return_cell.locator("xpath=..").get_attribute("data-date")
    return_cell.click()
    expect(page.locator("td.is-selected")).to_have_count(2)
    screenshot("period-chosen")
    page.locator("input[name=quantity]").fill("2")
    page.locator("form.add-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/korb/$"))

    # The second item type joins the basket with the same period.
    page.goto("/artikel/ozobot/")
    page.locator("form.add-form button[type=submit]").click()
    expect(page.locator(".basket-lines tbody tr")).to_have_count(2)
    expect(page.locator("select[name=pickup_day]")).to_have_value(pickup)
    expect(page.locator("select[name=return_day]")).to_have_value(return_day)
    page.locator("select[name=pickup_slot]").select_option("10:00")
    screenshot("basket")
    page.locator("form.booking-form button[type=submit]").click()

    # The confirmation: booking number and a QR code of the scan URL.
    expect(page).to_have_url(re.compile(r"/buchungen/[A-Z0-9]+/$"))
    reservation = Reservation.objects.get(borrower=teacher_a)
    assert {line.item_type.slug: line.quantity for line in reservation.lines.all()} == {"vr-koffer": 2, "ozobot": 1}
    assert reservation.pickup_day.isoformat() == pickup and reservation.return_day.isoformat() == return_day
    expect(page.locator("h1 .booking-code")).to_have_text(reservation.code)
    screenshot("confirmation")
    qr_png = page.locator(".qr-code svg").screenshot()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png)))
    assert [result.text for result in decoded] == [f"{live_server.url}/r/{reservation.code}"]

    # Take the Ozobots off the booking.
    page.locator(f"a[href$='/buchungen/{reservation.code}/aendern/']").click()
    ozobot_id = catalogue["ozobot"].pk
    page.locator(f"input[name=quantity_{ozobot_id}]").fill("0")
    screenshot("change")
    page.locator("form.booking-form button[type=submit]").click()
    expect(page.locator(".booking-lines li")).to_have_count(1)
    assert list(reservation.lines.values_list("item_type__slug", flat=True)) == ["vr-koffer"]

    # Cancel the booking; it moves to the past bookings.
    page.locator(f"a[href$='/buchungen/{reservation.code}/stornieren/']").click()
    screenshot("cancel-confirm")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/buchungen/$"))
    expect(page.locator("#past-heading ~ ul .booking-card")).to_have_count(1)
    screenshot("my-bookings")
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CANCELLED
    assert timezone.localdate() <= reservation.pickup_day

"""Delivery to a school in a real browser: a teacher books a delivery on her phone and confirms
her school's address, staff pack it at the counter by scanning, the driver confirms *Zugestellt*
and later *Abgeholt* on a phone at 390 px (the unit ticked by a scan), and the counter takes the
unit back. In the German interface, with the layout and axe checks of the reflow test."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from lending.models import Fulfilment, Handover, Reservation, ReservationEvent, ReservationStatus
from tests import factories
from tests.e2e.test_reflow import AXE, CHECK_LAYOUT, axe_violations, sign_in

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]
PASSWORD = "correct-horse-battery"  # every factory user's


@pytest.fixture
def tour(db, school_a):
    """A counter whose tour runs every day with a day's notice, packing the day before: a delivery
    for tomorrow is packed today, whatever day the tests run."""
    location = factories.make_delivering_location(
        name="Medienzentrum Mitte", slug="mitte", counter_weekdays=EVERY_DAY, delivery_lead_days=1)
    driver = factories.make_user(username="tim", role=Role.STAFF, first_name="Tim", last_name="Becker")
    driver.locations.add(location)
    vr = factories.make_item_type(location=location, name="VR-Koffer mit 12 Brillen", slug="vr", units=1,
                                  deliverable=True)
    school_a.street, school_a.postcode, school_a.city = "Am Schulhof 3", "44135", "Dortmund"
    school_a.office_phone, school_a.delivery_notes = "0231 555-1000", "Hausmeister, Eingang Hofseite"
    school_a.save()
    return location, vr.units.get()


def layout_problems(page, width, *, reload=True):
    """The reflow test's layout and axe findings on the page as it loads at `width` (loaded
    afresh, as the reflow test does: a layout read right after a resize may still be the old one;
    `reload=False` for a page that answered a form, at the width it was loaded in)."""
    page.set_viewport_size({"width": width, "height": 800})
    if reload:
        page.reload()
    problems = page.evaluate(CHECK_LAYOUT)
    return problems + [f"axe {violation}" for violation in axe_violations(page, AXE.read_text(encoding="utf-8"))]


def test_a_delivery_from_booking_to_take_back(page, browser, live_server, screenshot, settings, tour, teacher_a):
    settings.SITE_URL = live_server.url
    location, unit = tour
    today = timezone.localdate()
    tomorrow, next_week = today + datetime.timedelta(days=1), today + datetime.timedelta(days=8)

    # The teacher, on her phone: basket, delivery, the school's address to confirm.
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "alice", PASSWORD)
    page.goto("/artikel/vr/")
    page.locator("form.add-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/korb/$"))
    delivery = page.locator("#lieferung")
    expect(delivery).to_contain_text("Am Schulhof 3, 44135 Dortmund")
    for width in (320, 390):
        assert not layout_problems(page, width), width
    screenshot("basket-with-delivery")
    delivery.get_by_label("Liefertag").select_option(tomorrow.isoformat())
    delivery.get_by_label("Abholtag an der Schule").select_option(next_week.isoformat())
    delivery.get_by_label("Die angezeigte Lieferadresse dieser Schule stimmt.").check()
    delivery.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/buchungen/[A-Z0-9]+/$"))
    expect(page.locator("main")).to_contain_text("durch die Tour an die Schule")
    booking = Reservation.objects.get()
    assert (booking.fulfilment, booking.pickup_day, booking.return_day, booking.status) == (
        Fulfilment.DELIVERY, tomorrow, next_week, ReservationStatus.CONFIRMED)
    assert not layout_problems(page, 390)
    screenshot("delivery-booked")

    # Staff, at the counter: tomorrow's tour, then packing by scanning.
    staff = browser.new_context(base_url=live_server.url, locale="de-DE", timezone_id="Europe/Berlin",
                                viewport={"width": 1280, "height": 900})
    try:
        counter = staff.new_page()
        sign_in(counter, "tim", PASSWORD, secret=factories.TOTP_SECRET)
        counter.goto(f"/theke/mitte/tour/?tag={tomorrow.isoformat()}")
        stop = counter.locator(f"li.tour-stop[data-booking='{booking.code}']")
        expect(stop).to_contain_text("Am Schulhof 3, 44135 Dortmund")
        expect(stop).to_contain_text("noch nicht gepackt")
        assert not layout_problems(counter, 1280)
        screenshot("tour-list", target=counter)
        stop.get_by_role("link", name="Packen").click()
        expect(counter).to_have_url(re.compile(rf"/theke/mitte/buchung/{booking.code}/$"))
        expect(counter.locator("#scan-input")).to_be_focused()
        counter.keyboard.type(f"{live_server.url}/u/{unit.asset_tag}")
        counter.keyboard.press("Enter")
        expect(counter.locator(".message-success")).to_contain_text(unit.asset_tag)
        counter.locator("#confirm-handover").click()
        expect(counter.locator(".message-success")).to_contain_text("Für die Tour gepackt")
        booking.refresh_from_db()
        assert booking.status == ReservationStatus.CONFIRMED and booking.packed_at is not None

        # The driver, at the school, on a phone: the sheet's QR code opens the driver's page.
        counter.set_viewport_size({"width": 390, "height": 844})
        counter.goto(f"/r/{booking.code}")
        expect(counter).to_have_url(re.compile(rf"/theke/mitte/tour/{booking.code}/$"))
        expect(counter.locator("main")).to_contain_text("Hausmeister, Eingang Hofseite")
        for width in (320, 390):
            assert not layout_problems(counter, width), width
        screenshot("driver-delivers", target=counter)
        counter.get_by_label("Angenommen von (Name)").fill("Frau Yilmaz, Sekretariat")
        counter.get_by_role("button", name="Zugestellt").click()
        expect(counter.locator(".message-success")).to_contain_text("Zustellung bestätigt")
        booking.refresh_from_db()
        assert (booking.status, booking.delivered_to) == (ReservationStatus.HANDED_OUT, "Frau Yilmaz, Sekretariat")

        # A week later the tour collects: the unit's label scanned ticks it.
        counter.locator("#scan-input").fill(unit.asset_tag)
        counter.locator("#scan-input").press("Enter")
        expect(counter.locator(".message-success")).to_contain_text(f"{unit.asset_tag} angekreuzt")
        expect(counter.locator(f"#unit-{unit.pk}")).to_be_checked()
        assert not layout_problems(counter, 390, reload=False)
        screenshot("driver-collects", target=counter)
        counter.get_by_role("button", name="Abgeholt", exact=True).click()
        expect(counter.locator(".message-success")).to_contain_text("Abholung bestätigt")
        booking.refresh_from_db()
        assert booking.collected_at is not None

        # Back at the counter: the unit is taken back as any loan.
        counter.set_viewport_size({"width": 1280, "height": 900})
        counter.goto("/theke/mitte/")
        expect(counter.locator("#scan-input")).to_be_focused()
        counter.keyboard.type(unit.asset_tag)
        counter.keyboard.press("Enter")
        expect(counter).to_have_url(re.compile(rf"/theke/mitte/exemplar/{unit.asset_tag}/$"))
        counter.locator("#confirm-takeback").click()
        expect(counter.locator(".message-success")).to_contain_text("vollständig zurückgegeben")
    finally:
        staff.close()
        page.bring_to_front()
    booking.refresh_from_db()
    assert booking.status == ReservationStatus.RETURNED
    assert [event.action for event in booking.events.order_by("at", "id")
            if event.action in ("packed", "delivered", "collected", "returned")] == [
        ReservationEvent.Action.PACKED, ReservationEvent.Action.DELIVERED, ReservationEvent.Action.COLLECTED,
        ReservationEvent.Action.RETURNED]
    assert Handover.objects.get(reservation=booking).return_condition == "complete"

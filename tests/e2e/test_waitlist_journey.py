"""The waiting list in a real browser: a teacher refused for lack of units joins the waiting list
with one click, another teacher cancels in her own browser, the first finds the offer on My
bookings and books it; at phone width and in the German interface the pages locale gives."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from lending.models import Reservation, ReservationStatus, WaitlistEntry
from lending.services import reservation_create
from tests import factories


@pytest.fixture
def booked_out(location, teacher_b, school_b):
    vr = factories.make_item_type(location=location, name="VR-Koffer mit 12 Brillen", slug="vr-koffer", units=2)
    pickup_day = factories.counter_day(weekday=2, at_least_days_ahead=7)
    return_day = pickup_day + datetime.timedelta(days=1)
    reservation = reservation_create(borrower=teacher_b, school=school_b, pickup_day=pickup_day,
                                     pickup_slot=datetime.time(10, 0), return_day=return_day, lines={vr: 2})
    return vr, reservation


def sign_in(page, username):
    page.goto("/konto/login/")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("form.login-form button[type=submit]").click()
    expect(page.locator("form.logout-form, form[action$='/konto/logout/']").first).to_be_attached()


def test_join_the_waiting_list_get_the_offer_and_book_it(page, browser, live_server, screenshot, booked_out,
                                                        teacher_a, teacher_b):
    vr, taken = booked_out
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "alice")
    page.goto(f"/artikel/{vr.slug}/")
    page.locator("form.add-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/korb/$"))
    page.locator("select[name=pickup_day]").select_option(taken.pickup_day.isoformat())
    page.locator("select[name=return_day]").select_option(taken.return_day.isoformat())
    page.locator("select[name=pickup_slot]").select_option("10:00")
    page.locator("form.booking-form button[type=submit]").click()

    # Refused: the message, and the one-click way onto the waiting list.
    expect(page.locator("[data-error-code=not_enough_units]")).to_be_attached()
    join = page.locator(".waitlist-join form button[type=submit]")
    expect(join).to_have_count(1)
    screenshot("refused-with-waiting-list")
    join.click()
    expect(page).to_have_url(re.compile(r"/buchungen/#warteliste$"))
    expect(page.locator(".waitlist-entry .waitlist-place")).to_contain_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("on-the-waiting-list")
    entry = WaitlistEntry.objects.get(borrower=teacher_a)
    assert (entry.status, entry.quantity, entry.pickup_day) == (WaitlistEntry.Status.WAITING, 1, taken.pickup_day)

    # Bob cancels his booking in his own browser.
    other = browser.new_context(base_url=live_server.url, locale="de-DE", timezone_id="Europe/Berlin")
    try:
        bob = other.new_page()
        sign_in(bob, "bob")
        bob.goto(f"/buchungen/{taken.code}/stornieren/")
        bob.locator("main form button[type=submit]").click()
        expect(bob).to_have_url(re.compile(r"/buchungen/$"))
    finally:
        other.close()
        page.bring_to_front()  # Bob's window had the focus
    taken.refresh_from_db()
    assert taken.status == ReservationStatus.CANCELLED

    # Alice finds the offer, held for her, and books it with one click.
    page.goto("/buchungen/")
    expect(page.locator(".waitlist-entry .offer-note")).to_be_visible()
    screenshot("offer")
    page.locator(f"form[action$='/warteliste/{entry.pk}/buchen/'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/buchungen/[A-Z0-9]+/$"))
    booking = Reservation.objects.get(borrower=teacher_a)
    expect(page.locator("h1 .booking-code")).to_have_text(booking.code)
    assert (booking.status, booking.pickup_day) == (ReservationStatus.CONFIRMED, taken.pickup_day)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    screenshot("booked-from-the-offer")

"""A busy Tuesday at the counter in a real browser: the clerk types scanned codes into the scan
field as a handheld scanner does (characters, then Enter), hands out a two-line booking, prints
the loan slip, and later takes one unit back damaged and the other complete."""

import datetime
import re

import pypdfium2
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from catalog.models import UnitStatus
from lending.models import DamageReport, Handover, ReservationStatus
from tests import factories

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


@pytest.fixture
def counter(db):
    """A counter open every day, so the journey runs on whatever day the tests run."""
    location = factories.make_location(name="Medienzentrum Mitte", slug="mitte", counter_weekdays=EVERY_DAY)
    clerk = factories.make_user(username="tim", role=Role.STAFF, first_name="Tim", last_name="Becker")
    clerk.locations.add(location)
    vr = factories.make_item_type(location=location, name="VR-Koffer mit 12 Brillen", slug="vr", units=1,
                                  contents="12 VR-Brillen\n12 Controller\nLadekoffer")
    robots = factories.make_item_type(location=location, name="Ozobot-Klassensatz", slug="ozobot", units=1,
                                      contents="16 Ozobots\nStifte")
    return location, vr.units.get(), robots.units.get()


@pytest.fixture
def booking(counter, school_a, teacher_a):
    location, vr_unit, robot_unit = counter
    today = timezone.localdate()
    return factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a,
        lines={vr_unit.item_type: 1, robot_unit.item_type: 1},
        pickup_day=today, return_day=today + datetime.timedelta(days=7),
    )


def scan(page, text):
    """What a handheld scanner does: type the code into the focused field, then Enter."""
    expect(page.locator("#scan-input")).to_be_focused()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def sign_in_at_the_counter(page):
    page.goto("/theke/mitte/")
    expect(page).to_have_url(re.compile(r"/konto/login/"))
    page.locator("input[name=login]").fill("tim")
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("form.login-form button[type=submit]").click()
    # Staff sign in with a second factor: the code from their authenticator app.
    page.locator("input[name=code]").fill(factories.totp_code())
    page.locator("input[name=code]").press("Enter")
    expect(page).to_have_url(re.compile(r"/theke/mitte/$"))


def test_a_clerk_hands_out_a_two_line_booking_and_takes_it_back(
        page, live_server, screenshot, settings, counter, booking, teacher_a):
    settings.SITE_URL = live_server.url
    _location, vr_unit, robot_unit = counter
    sign_in_at_the_counter(page)

    # Today's agenda lists the booking as waiting; the scan field has the focus.
    row = page.locator("table.agenda-table tr", has_text=booking.code)
    expect(row).to_contain_text("wartet")
    expect(row).to_contain_text("Alice Adler")
    screenshot("agenda")

    # Something that is not ours: a clear message, and the field is ready for the next scan.
    scan(page, "https://example.com/r/NICHTUNSER")
    expect(page.locator(".message-error")).to_contain_text("anderen Website")
    screenshot("foreign-link-refused")

    # The teacher shows the booking's QR code; the scanner types its URL.
    scan(page, f"{live_server.url}/r/{booking.code}")
    expect(page).to_have_url(re.compile(rf"/theke/mitte/buchung/{booking.code}/$"))
    expect(page.locator(".handover-table")).to_contain_text("VR-Koffer mit 12 Brillen")
    screenshot("booking-scanned")

    # Each unit's label, one after the other.
    scan(page, f"{live_server.url}/u/{vr_unit.asset_tag}")
    expect(page.locator(".message-success")).to_contain_text(vr_unit.asset_tag)
    scan(page, f"{live_server.url}/u/{vr_unit.asset_tag}")  # scanned twice by mistake
    expect(page.locator(".message-error")).to_contain_text("gehört bereits zu dieser Ausgabe")
    scan(page, robot_unit.asset_tag)  # the label is torn: the clerk types the tag
    expect(page.locator(".message-success")).to_contain_text(robot_unit.asset_tag)

    # The contents of each unit as a checklist, ticked by keyboard.
    checklist = page.locator(f"fieldset.unit-checklist[data-unit='{vr_unit.asset_tag}'] input[type=checkbox]")
    expect(checklist).to_have_count(3)
    # counter.js has put the focus into the scan field (it runs as the page loads); only then
    # does the clerk move to the checklist, or the script could take the focus back meanwhile.
    expect(page.locator("#scan-input")).to_be_focused()
    for box in checklist.all():
        box.focus()
        page.keyboard.press("Space")
        expect(box).to_be_checked()
    screenshot("units-assigned-contents-checked")
    page.locator("#confirm-handover").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".message-success")).to_contain_text("Ausgegeben")
    booking.refresh_from_db()
    assert booking.status == ReservationStatus.HANDED_OUT

    # The loan slip, downloaded for printing.
    with page.expect_download() as download_info:
        page.locator("#download-slip").click()
    download = download_info.value
    assert download.suggested_filename == f"leihschein-{booking.code}.pdf"
    slip = pypdfium2.PdfDocument(download.path())
    text = "".join(pdf_page.get_textpage().get_text_range() for pdf_page in slip)
    assert vr_unit.asset_tag in text and robot_unit.asset_tag in text and "Alice Adler" in text
    assert "Unterschrift" in text
    screenshot("handed-out")

    # A week later: the VR case comes back damaged, the robots complete.
    page.goto("/theke/mitte/")
    scan(page, f"{live_server.url}/u/{vr_unit.asset_tag}")
    expect(page).to_have_url(re.compile(rf"/theke/mitte/exemplar/{vr_unit.asset_tag}/$"))
    page.get_by_label("beschädigt").check()
    page.get_by_label("Hinweis", exact=True).fill("Eine Brille hat einen Sprung im Glas.")
    screenshot("take-back-damaged")
    page.locator("#confirm-takeback").click()
    expect(page.locator(".message-success")).to_contain_text("Schadensmeldung")
    expect(page.locator("h1 .counter-state")).to_contain_text("teilweise zurück")
    screenshot("partly-returned")

    scan(page, f"{live_server.url}/u/{robot_unit.asset_tag}")
    expect(page).to_have_url(re.compile(rf"/theke/mitte/exemplar/{robot_unit.asset_tag}/$"))
    expect(page.get_by_label("vollständig")).to_be_checked()  # the usual case needs one key
    page.locator("#confirm-takeback").click()
    expect(page.locator(".message-success")).to_contain_text("vollständig zurückgegeben")
    screenshot("returned")

    booking.refresh_from_db()
    vr_unit.refresh_from_db()
    robot_unit.refresh_from_db()
    assert booking.status == ReservationStatus.RETURNED
    assert (vr_unit.status, robot_unit.status) == (UnitStatus.MAINTENANCE, UnitStatus.AVAILABLE)
    assert dict(Handover.objects.filter(reservation=booking).values_list("unit", "return_condition")) == {
        vr_unit.pk: "damaged", robot_unit.pk: "complete"}
    report = DamageReport.objects.get()
    assert (report.unit, report.description) == (vr_unit, "Eine Brille hat einen Sprung im Glas.")


def test_the_scan_field_leaves_a_checkbox_its_focus_until_a_scanner_types(
        page, live_server, settings, counter, booking):
    """Back from another window (a window focus event), the checkbox the clerk moved to keeps the
    focus and Space ticks it; only typed characters go to the scan field, as a scanner's do."""
    settings.SITE_URL = live_server.url
    _location, vr_unit, robot_unit = counter
    sign_in_at_the_counter(page)
    scan(page, f"{live_server.url}/r/{booking.code}")
    scan(page, vr_unit.asset_tag)
    expect(page.locator(".message-success")).to_contain_text(vr_unit.asset_tag)

    first, second, _third = page.locator(
        f"fieldset.unit-checklist[data-unit='{vr_unit.asset_tag}'] input[type=checkbox]").all()
    # As in the journey above: counter.js puts the focus into the scan field as the page loads;
    # moving to a checkbox before it has could see the focus taken back between focus and Space.
    expect(page.locator("#scan-input")).to_be_focused()
    first.focus()
    page.evaluate("window.dispatchEvent(new FocusEvent('focus'))")
    expect(first).to_be_focused()
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    expect(page.locator("#scan-input")).to_have_value("")

    # With nothing focused, coming back to the window puts the focus into the scan field.
    page.evaluate("document.activeElement.blur(); window.dispatchEvent(new FocusEvent('focus'))")
    expect(page.locator("#scan-input")).to_be_focused()

    # A scanner typing while a checkbox has the focus lands in the scan field.
    second.focus()
    page.keyboard.type(robot_unit.asset_tag)
    page.keyboard.press("Enter")
    expect(page.locator(".message-success")).to_contain_text(robot_unit.asset_tag)
    expect(second).not_to_be_checked()

"""The counter pages: who may open them, the agenda, the scan field, hand-over, take-back,
walk-ins, extensions and label sheets, each through HTTP as a clerk would use them."""

import datetime

import pypdfium2
import pytest
import zxingcpp
from django.urls import reverse

from accounts.models import Role
from catalog.models import UnitStatus
from lending.models import DamageReport, Handover, Reservation, ReservationEvent, ReservationStatus, UnitEvent
from lending.services import handover_assign_unit, handover_complete
from tests import factories
from tests.lending.conftest import (
    MONDAY,
    NEXT_TUESDAY,
    NEXT_WEDNESDAY,
    TUESDAY,
    WEDNESDAY,
    counter_written,
    travel_to,
)


@pytest.fixture
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)
    return TUESDAY


@pytest.fixture
def units(item_type):
    return list(item_type.units.order_by("pk"))


@pytest.fixture
def robots(location):
    return factories.make_item_type(location=location, name="Ozobot-Klassensatz", slug="ozobot", units=2,
                                    contents="16 Ozobots\nLadestation\nStifte")


@pytest.fixture
def booking(tuesday, location, school_a, teacher_a, item_type, robots):
    """Teacher A picks up one VR case and two robot sets today, back next Wednesday."""
    return factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1, robots: 2},
        pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY,
    )


@pytest.fixture
def at_counter(client, clerk, tuesday):
    """The clerk signed in on Tuesday (a session opened at the real today would have expired)."""
    client.force_login(clerk)
    return client


def url(name, *args):
    return reverse(f"frontend:{name}", args=["mz-test", *args])


def scan(client, code, booking=None):
    data = {"code": code}
    if booking is not None:
        data["booking"] = booking.code
    return client.post(url("counter_scan"), data)


def page_text(response):
    return response.content.decode()


# Who may open the counter ----------------------------------------------------------------------------


def test_only_staff_of_the_counter_open_it(client, location, teacher_a, clerk, admin_user, db):
    assert client.get(url("counter")).status_code == 302  # to the sign-in page
    client.force_login(teacher_a)
    assert client.get(url("counter")).status_code == 403
    assert client.post(url("counter_scan"), {"code": "X"}).status_code == 403
    other_clerk = factories.make_user(role=Role.STAFF)
    other_clerk.locations.add(factories.make_location())
    client.force_login(other_clerk)
    assert client.get(url("counter")).status_code == 403
    client.force_login(clerk)
    assert client.get(url("counter")).status_code == 200
    assert client.get(reverse("frontend:counter", args=["gibt-es-nicht"])).status_code == 404
    client.force_login(admin_user)
    assert client.get(url("counter")).status_code == 200


def test_the_counter_link_leads_staff_to_their_only_counter(at_counter, location):
    response = at_counter.get(reverse("frontend:counter_index"))
    assert response.status_code == 302 and response["Location"] == url("counter")


def test_teachers_see_no_counter_and_cannot_open_a_booking_there(client, booking, teacher_a):
    client.force_login(teacher_a)
    assert 'href="/theke/' not in page_text(client.get("/"))
    assert client.get(reverse("frontend:counter_index")).status_code == 403
    assert client.get(url("counter_booking", booking.code)).status_code == 403


# The agenda ------------------------------------------------------------------------------------------


def test_the_agenda_shows_pickups_by_slot_returns_and_overdue_loans_with_their_state(
        at_counter, location, school_a, school_b, teacher_a, teacher_b, item_type, booking, units, clerk):
    late = factories.make_reservation(
        location=location, school=school_b, borrower=teacher_b, lines={item_type: 1},
        pickup_day=TUESDAY, pickup_slot=datetime.time(11, 30), return_day=NEXT_TUESDAY,
    )
    handover_assign_unit(reservation=late, unit=units[2], actor=clerk)
    due = factories.make_reservation(
        location=location, school=school_b, borrower=teacher_b, lines={item_type: 1},
        pickup_day=TUESDAY - datetime.timedelta(days=7), return_day=TUESDAY, status=ReservationStatus.HANDED_OUT,
    )
    overdue = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=TUESDAY - datetime.timedelta(days=14), return_day=TUESDAY - datetime.timedelta(days=7),
        status=ReservationStatus.HANDED_OUT,
    )
    cancelled = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=TUESDAY, return_day=WEDNESDAY, status=ReservationStatus.CANCELLED,
    )
    response = at_counter.get(url("counter"))
    assert response.status_code == 200
    agenda = response.context["agenda"]
    assert [(slot, [r.code for r in reservations]) for slot, reservations in agenda.pickups_by_slot] == [
        (datetime.time(9, 0), [booking.code]), (datetime.time(11, 30), [late.code]),
    ]
    assert [r.code for r in agenda.returns] == [due.code]
    assert [r.code for r in agenda.overdue] == [overdue.code]
    states = {r.code: r.counter_state for _, rs in agenda.pickups_by_slot for r in rs}
    assert states == {booking.code: "waiting", late.code: "partly_handed_out"}
    text = page_text(response)
    assert cancelled.code not in text
    assert "wartet" in text and "teilweise ausgegeben" in text and "überfällig" in text


def test_the_agenda_of_another_day_and_a_bad_date(at_counter, booking, location, school_a, teacher_a, item_type):
    later = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY,
    )
    response = at_counter.get(url("counter"), {"tag": NEXT_TUESDAY.isoformat()})
    assert [r.code for _, rs in response.context["agenda"].pickups_by_slot for r in rs] == [later.code]
    assert response.context["previous_day"] == WEDNESDAY
    for bad in ("2027-02-30", "9999-12-31", "0001-01-01"):
        response = at_counter.get(url("counter"), {"tag": bad})
        assert response.status_code == 400
        assert "Gezeigt wird heute" in page_text(response) and response.context["agenda"].day == TUESDAY


def test_the_agenda_needs_the_same_number_of_queries_for_many_bookings(
        at_counter, location, school_a, teacher_a, item_type, tuesday, django_assert_max_num_queries):
    for _ in range(3):
        factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                                   pickup_day=TUESDAY, return_day=WEDNESDAY)
    with django_assert_max_num_queries(20) as few:
        at_counter.get(url("counter"))
    for _ in range(30):
        factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                                   pickup_day=TUESDAY, return_day=WEDNESDAY)
    with django_assert_max_num_queries(len(few.captured_queries)):
        at_counter.get(url("counter"))


# The scan field --------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", [
    "{code}", "{lower}", "  {code}\r\n", "http://testserver/r/{code}", "https://verleih.example.org/r/{code}/",
])
def test_a_scanned_booking_opens_its_hand_over(at_counter, booking, clerk, settings, typed):
    settings.SITE_URL = "https://verleih.example.org"
    code = booking.code
    response = scan(at_counter, typed.format(code=code, lower="-".join([code[:5].lower(), code[5:].lower()])))
    assert response.status_code == 302 and response["Location"] == url("counter_booking", booking.code)
    event = ReservationEvent.objects.get(reservation=booking, action=ReservationEvent.Action.SCANNED)
    assert event.actor == clerk and event.data == {"location": "mz-test"}


def test_a_scanned_label_shows_the_unit_and_logs_the_scan(at_counter, units, clerk, tuesday):
    response = scan(at_counter, f"http://testserver/u/{units[0].asset_tag}")
    assert response.status_code == 302 and response["Location"] == url("counter_unit", units[0].asset_tag)
    assert UnitEvent.objects.get(unit=units[0], action=UnitEvent.Action.SCANNED).actor == clerk
    page = at_counter.get(response["Location"])
    assert "im Regal" in page_text(page)  # on the shelf: nothing to take back


@pytest.mark.parametrize(("typed", "status", "message"), [
    ("", 400, "Scannen Sie den QR-Code einer Buchung"),
    ("x" * 301, 400, "viel zu lang"),
    ("https://evil.example.com/r/ACDEFGHJKM", 400, "anderen Website"),
    ("http://testserver/admin/", 400, "weder ein Buchungscode"),
    ("<script>alert(1)</script>", 400, "weder ein Buchungscode"),
    ("GIBT-ES-NICHT", 404, "Keine Buchung und kein Exemplar"),
])
def test_bad_input_in_the_scan_field_gets_a_clear_message_and_changes_nothing(
        at_counter, booking, units, typed, status, message):
    before = counter_written()
    response = scan(at_counter, typed)
    assert response.status_code == status
    assert message in page_text(response)
    assert "<script>alert" not in page_text(response)
    assert response.context["scan_error"]
    assert counter_written() == before


def test_a_booking_or_unit_of_another_counter_is_refused(at_counter, school_a, teacher_a, tuesday):
    elsewhere = factories.make_location()
    other_item = factories.make_item_type(location=elsewhere, units=1)
    other_booking = factories.make_reservation(location=elsewhere, school=school_a, borrower=teacher_a,
                                               lines={other_item: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
    for code in (other_booking.code, other_item.units.get().asset_tag):
        response = scan(at_counter, code)
        assert response.status_code == 409
        assert "gehört zu einer anderen Ausleihstelle" in page_text(response)


# Hand-over -------------------------------------------------------------------------------------------


def test_a_two_line_booking_is_handed_out_by_scanning_and_prints_a_slip(
        at_counter, booking, units, robots, clerk, item_type):
    page = at_counter.get(url("counter_booking", booking.code))
    assert [entry["missing"] for entry in page.context["lines"]] == [1, 2]
    robot_units = list(robots.units.order_by("pk"))
    for unit in (units[0], robot_units[0], robot_units[1]):
        response = scan(at_counter, f"http://testserver/u/{unit.asset_tag}", booking=booking)
        assert response.status_code == 302 and response["Location"] == url("counter_booking", booking.code)
    page = at_counter.get(url("counter_booking", booking.code))
    assert [entry["missing"] for entry in page.context["lines"]] == [0, 0]
    assert page.context["state"] == "partly_handed_out" and page.context["can_confirm"]
    text = page_text(page)
    assert "Ladestation" in text and 'type="checkbox"' in text  # contents as a checklist
    response = at_counter.post(url("counter_handover_confirm", booking.code))
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == ReservationStatus.HANDED_OUT
    assert set(Handover.objects.filter(reservation=booking, returned_at=None).values_list("unit", flat=True)) == {
        units[0].pk, robot_units[0].pk, robot_units[1].pk}
    slip = at_counter.get(url("counter_loan_slip", booking.code) + "?download=1")
    assert slip.status_code == 200 and slip["Content-Type"] == "application/pdf"
    assert slip["Content-Disposition"] == f'attachment; filename="leihschein-{booking.code}.pdf"'
    pdf = pypdfium2.PdfDocument(slip.content)
    text = "".join(page.get_textpage().get_text_range() for page in pdf)
    for unit in (units[0], *robot_units):
        assert unit.asset_tag in text
    assert "Alice Adler" in text and "Gymnasium am Park" in text and "10.03.2027" in text
    image = pdf[0].render(scale=3).to_pil()
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [f"http://testserver/r/{booking.code}"]


@pytest.mark.parametrize("trouble", ["wrong_item_type", "unit_not_available", "unit_on_loan", "quantity_reached"])
def test_a_unit_that_cannot_go_out_is_refused_with_its_reason_and_changes_nothing(
        at_counter, booking, units, robots, location, school_b, teacher_b, clerk, trouble):
    handover_assign_unit(reservation=booking, unit=units[0], actor=clerk)
    if trouble == "wrong_item_type":
        unit = factories.make_item_type(location=location, units=1).units.get()
        message = "gehört zu keinem Artikel dieser Buchung"
    elif trouble == "unit_not_available":
        unit = units[1]
        unit.status = UnitStatus.MAINTENANCE
        unit.save()
        message = "in Wartung"
    elif trouble == "unit_on_loan":
        other = factories.make_reservation(location=location, school=school_b, borrower=teacher_b,
                                           lines={robots: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
        unit = robots.units.first()
        handover_assign_unit(reservation=other, unit=unit, actor=clerk)
        message = "bereits verliehen"
    else:
        unit = units[1]
        message = "bereits so viele Exemplare"
    before = counter_written()
    response = scan(at_counter, unit.asset_tag, booking=booking)
    assert response.status_code == 409
    assert message in page_text(response)
    assert response.context["reservation"] == booking  # still at the booking
    assert counter_written() == before


def test_confirming_with_nothing_scanned_is_refused(at_counter, booking):
    response = at_counter.post(url("counter_handover_confirm", booking.code))
    assert response.status_code == 409 and response.context["error_code"] == "nothing_handed_out"
    booking.refresh_from_db()
    assert booking.status == ReservationStatus.CONFIRMED


def test_a_booking_that_was_not_picked_up_is_marked_from_its_page(at_counter, booking, item_type, robots):
    response = at_counter.post(url("counter_no_show", booking.code))
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == ReservationStatus.NO_SHOW


# Take-back -------------------------------------------------------------------------------------------


@pytest.fixture
def handed_out(booking, units, robots, clerk):
    for unit in (units[0], *robots.units.all()):
        handover_assign_unit(reservation=booking, unit=unit, actor=clerk)
    return handover_complete(reservation=booking, actor=clerk)


def test_units_come_back_one_damaged_one_complete_and_the_booking_only_when_all_are_back(
        at_counter, handed_out, units, robots, time_machine):
    travel_to(time_machine, NEXT_WEDNESDAY)
    robot_a, robot_b = robots.units.order_by("pk")
    response = scan(at_counter, robot_a.asset_tag)
    assert response["Location"] == url("counter_unit", robot_a.asset_tag)
    page = at_counter.get(response["Location"])
    assert page.context["form"] is not None and "Stifte" in page_text(page)

    refused = at_counter.post(response["Location"], {"condition": "damaged", "note": ""})
    assert refused.status_code == 400
    assert Handover.objects.get(unit=robot_a).returned_at is None

    at_counter.post(response["Location"], {"condition": "damaged", "note": "Zwei Ozobots fehlen die Räder"})
    robot_a.refresh_from_db()
    assert robot_a.status == UnitStatus.MAINTENANCE
    report = DamageReport.objects.get(unit=robot_a)
    assert report.description == "Zwei Ozobots fehlen die Räder" and report.source == DamageReport.Source.COUNTER
    handed_out.refresh_from_db()
    assert handed_out.status == ReservationStatus.HANDED_OUT
    page = at_counter.get(url("counter_booking", handed_out.code))
    assert page.context["state"] == "partly_returned"
    assert [entry["missing"] for entry in page.context["lines"]] == [0, 0]  # back is not missing

    for unit in (robot_b, units[0]):
        response = at_counter.post(url("counter_unit", unit.asset_tag), {"condition": "complete"})
        assert response.status_code == 302
    handed_out.refresh_from_db()
    assert handed_out.status == ReservationStatus.RETURNED
    assert not Handover.objects.filter(reservation=handed_out, returned_late=True).exists()


def test_a_late_return_is_marked_late(at_counter, handed_out, units, time_machine):
    travel_to(time_machine, NEXT_WEDNESDAY + datetime.timedelta(days=1))
    response = at_counter.post(url("counter_unit", units[0].asset_tag), {"condition": "complete"}, follow=True)
    assert Handover.objects.get(unit=units[0]).returned_late
    assert "verspätet" in page_text(response)


def test_taking_back_a_unit_on_the_shelf_is_refused(at_counter, units, tuesday):
    response = at_counter.post(url("counter_unit", units[0].asset_tag), {"condition": "complete"})
    assert response.status_code == 409 and response.context["error_code"] == "unit_not_on_loan"


def test_a_take_back_of_a_loan_that_changed_meanwhile_is_refused(at_counter, handed_out, units):
    shown = Handover.objects.get(unit=units[0], returned_at=None)
    before = counter_written()
    response = at_counter.post(url("counter_unit", units[0].asset_tag),
                               {"condition": "complete", "handover": shown.pk + 1000})
    assert response.status_code == 409 and response.context["error_code"] == "unit_not_on_loan"
    assert counter_written() == before


def test_a_unit_coming_back_is_taken_back_from_another_handed_out_booking_but_not_mid_hand_over(
        at_counter, handed_out, units, location, school_b, teacher_b, item_type, clerk):
    other = factories.make_reservation(location=location, school=school_b, borrower=teacher_b,
                                       lines={item_type: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
    handover_assign_unit(reservation=other, unit=units[1], actor=clerk)
    handover_complete(reservation=other, actor=clerk)
    # The clerk still has the other (handed-out) booking open when Alice brings her case back.
    response = scan(at_counter, units[0].asset_tag, booking=other)
    assert response.status_code == 302 and response["Location"] == url("counter_unit", units[0].asset_tag)
    assert UnitEvent.objects.filter(unit=units[0], action=UnitEvent.Action.SCANNED).count() == 1
    # In the middle of a hand-over the same scan is refused (a wrong label), with a way out.
    waiting = factories.make_reservation(location=location, school=school_b, borrower=teacher_b,
                                         lines={item_type: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
    before = counter_written()
    response = scan(at_counter, units[0].asset_tag, booking=waiting)
    assert response.status_code == 409 and response.context["error_code"] == "unit_on_loan"
    assert url("counter_unit", units[0].asset_tag) in page_text(response)
    assert counter_written() == before


def test_a_booking_scanned_on_another_bookings_page_is_logged(at_counter, booking, location, school_b, teacher_b,
                                                              item_type, clerk):
    other = factories.make_reservation(location=location, school=school_b, borrower=teacher_b,
                                       lines={item_type: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
    response = scan(at_counter, other.code, booking=booking)
    assert response["Location"] == url("counter_booking", other.code)
    assert ReservationEvent.objects.get(reservation=other, action=ReservationEvent.Action.SCANNED).actor == clerk


def test_the_loan_slip_can_be_printed_again_after_the_return(at_counter, handed_out, units, robots, time_machine):
    for unit in (units[0], *robots.units.all()):
        at_counter.post(url("counter_unit", unit.asset_tag), {"condition": "complete"})
    handed_out.refresh_from_db()
    assert handed_out.status == ReservationStatus.RETURNED
    slip = at_counter.get(url("counter_loan_slip", handed_out.code))
    assert slip.status_code == 200 and slip["Content-Disposition"].startswith("inline")
    text = "".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(slip.content))
    assert units[0].asset_tag in text


# Walk-in and extension -------------------------------------------------------------------------------


def test_a_walk_in_books_for_a_teacher_overriding_the_lead_time_and_logs_it(
        at_counter, location, teacher_a, school_a, clerk, tuesday):
    vr = factories.make_item_type(location=location, name="VR-Brillen", slug="vr-brillen", units=2, min_lead_days=3)
    found = at_counter.get(url("counter_walk_in"), {"q": "adler"})
    assert list(found.context["teachers"]) == [teacher_a]
    form = {"teacher": teacher_a.pk, "school": school_a.pk, "return_day": WEDNESDAY.isoformat(),
            f"quantity_{vr.pk}": "1"}
    refused = at_counter.post(url("counter_walk_in"), form)
    assert refused.status_code == 400 and "zu kurzfristig" in page_text(refused)
    assert not Reservation.objects.exists()

    response = at_counter.post(url("counter_walk_in"), {**form, "overrides": ["too_soon"]})
    reservation = Reservation.objects.get()
    assert response["Location"] == url("counter_booking", reservation.code)
    assert (reservation.borrower, reservation.pickup_day, reservation.return_day) == (teacher_a, TUESDAY, WEDNESDAY)
    override = ReservationEvent.objects.get(reservation=reservation, action=ReservationEvent.Action.OVERRIDE)
    assert override.actor == clerk and override.data == {"rule": "too_soon"}


def test_a_walk_in_without_any_quantity_is_refused(at_counter, teacher_a, school_a, item_type, tuesday):
    response = at_counter.post(url("counter_walk_in"), {"teacher": teacher_a.pk, "school": school_a.pk,
                                                        "return_day": WEDNESDAY.isoformat()})
    assert response.status_code == 400 and not Reservation.objects.exists()


def test_a_loan_is_extended_to_a_later_counter_day(at_counter, handed_out, clerk):
    page = at_counter.get(url("counter_extend", handed_out.code))
    later = datetime.date(2027, 3, 16)
    assert later.isoformat() in page_text(page)
    response = at_counter.post(url("counter_extend", handed_out.code), {"return_day": later.isoformat()})
    assert response.status_code == 302
    handed_out.refresh_from_db()
    assert handed_out.return_day == later
    assert ReservationEvent.objects.get(reservation=handed_out, action=ReservationEvent.Action.EXTENDED).actor == clerk


def test_extending_into_someone_elses_booking_is_refused(at_counter, handed_out, robots, location, school_b, teacher_b):
    later = datetime.date(2027, 3, 16)
    factories.make_reservation(location=location, school=school_b, borrower=teacher_b, lines={robots: 1},
                               pickup_day=later, return_day=later)
    response = at_counter.post(url("counter_extend", handed_out.code), {"return_day": later.isoformat()})
    assert response.status_code == 409 and response.context["error_code"] == "not_enough_units"
    handed_out.refresh_from_db()
    assert handed_out.return_day == NEXT_WEDNESDAY


def test_an_overdue_loan_is_offered_only_days_from_today(at_counter, handed_out, clerk, time_machine):
    travel_to(time_machine, datetime.date(2027, 3, 17))  # a week after the return day, a Wednesday
    at_counter.force_login(clerk)  # the Tuesday session has expired by now
    page = at_counter.get(url("counter_extend", handed_out.code))
    offered = [datetime.date.fromisoformat(value) for value, _ in page.context["form"].fields["return_day"].choices]
    assert offered and min(offered) == datetime.date(2027, 3, 17)  # not Tuesday the 16th, already past


def test_a_walk_in_for_a_strange_teacher_id_is_404(at_counter, tuesday):
    assert at_counter.get(url("counter_walk_in"), {"teacher": "²"}).status_code == 404
    assert at_counter.post(url("counter_walk_in"), {"teacher": "1; DROP"}).status_code == 404


# Labels ----------------------------------------------------------------------------------------------


def test_label_sheets_can_be_printed_at_the_counter(at_counter, item_type, units):
    response = at_counter.post(url("counter_labels"), {"item_type": item_type.pk, "label_format": "3x8",
                                                       "start_position": "1"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    image = pypdfium2.PdfDocument(response.content)[0].render(scale=3).to_pil()
    assert sorted(code.text for code in zxingcpp.read_barcodes(image)) == sorted(
        f"http://testserver/u/{unit.asset_tag}" for unit in units)
    refused = at_counter.post(url("counter_labels"), {"asset_tags": "GIBT-ES-NICHT", "label_format": "3x8",
                                                      "start_position": "1"})
    assert refused.status_code == 400 and "GIBT-ES-NICHT" in page_text(refused)


def test_labels_for_scanned_label_links(at_counter, units):
    scanned = "\n".join(f"http://testserver/u/{unit.asset_tag}" for unit in units[:2])
    response = at_counter.post(url("counter_labels"), {"asset_tags": scanned, "label_format": "2x4",
                                                       "start_position": "3"})
    assert response.status_code == 200
    image = pypdfium2.PdfDocument(response.content)[0].render(scale=3).to_pil()
    assert sorted(code.text for code in zxingcpp.read_barcodes(image)) == [
        f"http://testserver/u/{unit.asset_tag}" for unit in units[:2]]
    refused = at_counter.post(url("counter_labels"), {"asset_tags": "https://example.com/x", "label_format": "2x4",
                                                      "start_position": "1"})
    assert refused.status_code == 400 and "Keine Inventarnummern" in page_text(refused)


def test_too_many_labels_at_once_are_refused(at_counter, item_type, monkeypatch):
    monkeypatch.setattr("catalog.labels.MAX_LABELS", 2)
    response = at_counter.post(url("counter_labels"), {"item_type": item_type.pk, "label_format": "3x8",
                                                       "start_position": "1"})
    assert response.status_code == 400 and "Höchstens 2 Etiketten" in page_text(response)


def test_the_frozen_monday_is_not_a_counter_day(at_counter, time_machine, location):
    travel_to(time_machine, MONDAY.date())
    response = at_counter.get(url("counter"))
    assert response.status_code == 200 and "kein Ausleihtag" in page_text(response)

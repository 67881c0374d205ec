"""The waiting list: joining when refused, offers when units come free (held like a booking),
booking an offer through the normal booking service, lapsed offers going to the next in line,
leaving, staff reordering with a logged reason, and expiry."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import ReservationStatus, WaitlistEntry, WaitlistEvent
from lending.services import reservation_cancel, reservation_change, reservation_create, reservation_mark_no_show
from lending.waitlist import (
    waitlist_join,
    waitlist_leave,
    waitlist_move,
    waitlist_offer_book,
    waitlist_process,
    waitlist_remove,
)
from notifications.models import Mail
from tests import factories
from tests.lending.conftest import BERLIN, NEXT_TUESDAY, NEXT_WEDNESDAY, TUESDAY, WEDNESDAY, travel_to

SLOT = datetime.time(10, 0)
pytestmark = pytest.mark.usefixtures("monday")


def book(borrower, school, item_type, quantity, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY, **extra):
    return reservation_create(borrower=borrower, school=school, pickup_day=pickup_day, pickup_slot=SLOT,
                              return_day=return_day, lines={item_type: quantity}, **extra)


def join(borrower, school, item_type, quantity, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY):
    return waitlist_join(borrower=borrower, school=school, item_type=item_type, quantity=quantity,
                         pickup_day=pickup_day, pickup_slot=SLOT, return_day=return_day)


def entries():
    return list(WaitlistEntry.objects.order_by("pk").values_list("pk", "status", "rank", "offer_expires_at"))


def refused(call, **arguments):
    before = (entries(), WaitlistEvent.objects.count(), Mail.objects.count())
    with pytest.raises(BookingError) as excinfo:
        call(**arguments)
    assert (entries(), WaitlistEvent.objects.count(), Mail.objects.count()) == before
    return excinfo.value.code


@pytest.fixture
def third(school_a):
    return factories.make_user(username="dora", schools=[school_a], first_name="Dora", last_name="Diehl")


@pytest.fixture
def booked_out(teacher_b, school_b, item_type):
    """Bob has all three VR cases for next Tuesday to Wednesday."""
    return book(teacher_b, school_b, item_type, 3)


def test_a_teacher_refused_for_lack_of_units_joins_and_gets_the_units_when_they_are_cancelled(
        booked_out, teacher_a, school_a, teacher_b, item_type):
    with pytest.raises(BookingError) as excinfo:
        book(teacher_a, school_a, item_type, 2)
    assert excinfo.value.code == "not_enough_units"
    entry = join(teacher_a, school_a, item_type, 2)
    assert entry.status == WaitlistEntry.Status.WAITING
    assert list(entry.events.values_list("action", flat=True)) == ["joined"]

    reservation_cancel(reservation=booked_out, actor=teacher_b)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert entry.offer_expires_at == timezone.now() + datetime.timedelta(hours=24)
    mail = Mail.objects.get(kind=Mail.Kind.WAITLIST_OFFER)
    assert (mail.recipient, mail.data["entry"]) == (teacher_a, entry.pk)
    # The offer holds its two units like a booking: one is left for anyone else.
    free = availability(item_type_ids=[item_type.pk], first_day=NEXT_TUESDAY, last_day=NEXT_WEDNESDAY,
                        today=timezone.localdate())
    assert free[item_type.pk].min_free(NEXT_TUESDAY, NEXT_WEDNESDAY) == 1
    with pytest.raises(BookingError) as excinfo:
        book(teacher_b, school_b := booked_out.school, item_type, 2)
    assert excinfo.value.code == "not_enough_units"
    assert book(teacher_b, school_b, item_type, 1).status == ReservationStatus.CONFIRMED

    reservation = waitlist_offer_book(entry=entry, actor=teacher_a)
    entry.refresh_from_db()
    assert (entry.status, entry.reservation) == (WaitlistEntry.Status.BOOKED, reservation)
    assert {line.item_type_id: line.quantity for line in reservation.lines.all()} == {item_type.pk: 2}
    assert (reservation.borrower, reservation.pickup_day, reservation.return_day) == (
        teacher_a, NEXT_TUESDAY, NEXT_WEDNESDAY)
    assert Mail.objects.filter(kind=Mail.Kind.BOOKING_CONFIRMED, reservation=reservation).exists()
    assert list(entry.events.values_list("action", flat=True)) == ["joined", "offered", "booked"]


def test_joining_is_refused_when_units_are_free_or_twice_or_against_the_booking_rules(
        teacher_a, school_a, school_b, item_type, booked_out, location, teacher_b):
    assert refused(join, borrower=teacher_b, school=school_b, item_type=item_type, quantity=1,
                   pickup_day=TUESDAY, return_day=WEDNESDAY) == "waitlist_not_needed"
    join(teacher_a, school_a, item_type, 1)
    assert refused(join, borrower=teacher_a, school=school_a, item_type=item_type, quantity=1) == "waitlist_duplicate"
    assert refused(join, borrower=teacher_a, school=school_b, item_type=item_type, quantity=1) == "unknown_school"
    assert refused(join, borrower=teacher_a, school=school_a, item_type=item_type, quantity=0) == "quantity_invalid"
    monday = NEXT_TUESDAY - datetime.timedelta(days=1)
    assert refused(join, borrower=teacher_a, school=school_a, item_type=item_type, quantity=1,
                   pickup_day=monday, return_day=NEXT_WEDNESDAY) == "not_a_counter_day"
    assert refused(join, borrower=teacher_a, school=school_a, item_type=item_type, quantity=1,
                   pickup_day=NEXT_WEDNESDAY, return_day=NEXT_TUESDAY) == "return_before_pickup"
    paused = factories.make_item_type(location=location, units=0, paused=True)
    assert refused(join, borrower=teacher_a, school=school_a, item_type=paused, quantity=1) == "item_paused"


def test_a_full_slot_is_a_reason_to_wait_and_the_offer_holds_a_place_in_the_slot(
        location, item_type, teacher_a, school_a, teacher_b, school_b, third):
    location.slot_capacity = 1
    location.save()
    other = factories.make_item_type(location=location, units=5)
    held = book(teacher_b, school_b, other, 1)
    with pytest.raises(BookingError) as excinfo:
        book(teacher_a, school_a, item_type, 1)
    assert excinfo.value.code == "slot_full"
    entry = join(teacher_a, school_a, item_type, 1)

    reservation_cancel(reservation=held, actor=teacher_b)  # another item type: the periodic pass sees it
    assert waitlist_process() == 1
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    # The offer takes the slot's only place: nobody else can book that slot meanwhile.
    with pytest.raises(BookingError) as excinfo:
        book(third, school_a, other, 1)
    assert excinfo.value.code == "slot_full"
    assert waitlist_offer_book(entry=entry, actor=teacher_a).pickup_slot == SLOT


def test_first_come_first_served_but_a_request_that_does_not_fit_lets_the_next_one_through(
        booked_out, teacher_a, school_a, third, teacher_b, item_type):
    first = join(teacher_a, school_a, item_type, 3)
    second = join(third, school_a, item_type, 1)
    reservation_change(reservation=booked_out, actor=teacher_b, lines={item_type.pk: 2})  # one unit free
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED)
    # Everything free now: the first gets the rest only once the second's offer no longer holds.
    reservation_cancel(reservation=booked_out, actor=teacher_b)
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.WAITING
    waitlist_leave(entry=second, actor=third)  # declines: the units go to the next in line
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.OFFERED


def test_an_offer_not_taken_in_time_lapses_and_goes_to_the_next_in_line(
        booked_out, teacher_a, school_a, third, teacher_b, item_type, time_machine):
    first = join(teacher_a, school_a, item_type, 3)
    second = join(third, school_a, item_type, 3)
    reservation_cancel(reservation=booked_out, actor=teacher_b)
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.OFFERED
    time_machine.move_to(first.offer_expires_at + datetime.timedelta(minutes=1), tick=False)
    # Ran out: even before the periodic pass, it no longer holds and cannot be booked.
    assert refused(waitlist_offer_book, entry=first, actor=teacher_a) == "offer_not_open"
    call_command("process_waitlist", verbosity=0)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (WaitlistEntry.Status.LAPSED, WaitlistEntry.Status.OFFERED)
    assert Mail.objects.filter(kind=Mail.Kind.WAITLIST_OFFER, recipient=third).count() == 1


def test_the_offer_never_outlasts_the_lead_time(teacher_a, school_a, teacher_b, school_b, location):
    # Eight days' notice for a pickup next Tuesday: bookable through today, so held until midnight,
    # fourteen hours, not twenty-four.
    strict = factories.make_item_type(location=location, units=1, min_lead_days=8)
    taken = book(teacher_b, school_b, strict, 1)
    entry = join(teacher_a, school_a, strict, 1)
    reservation_cancel(reservation=taken, actor=teacher_b)
    entry.refresh_from_db()
    assert entry.offer_expires_at == datetime.datetime(2027, 3, 2, 0, 0, tzinfo=BERLIN)


def test_an_offer_is_only_for_its_teacher_and_only_as_offered(
        booked_out, teacher_a, school_a, third, teacher_b, item_type):
    entry = join(teacher_a, school_a, item_type, 2)
    reservation_cancel(reservation=booked_out, actor=teacher_b)
    assert refused(waitlist_offer_book, entry=WaitlistEntry.objects.get(pk=entry.pk), actor=third) == "offer_not_open"
    entry.refresh_from_db()
    entry.quantity = 3  # a request changed on the way: the booking must be exactly what was offered
    with pytest.raises(BookingError) as excinfo:
        waitlist_offer_book(entry=entry, actor=teacher_a)
    assert excinfo.value.code == "offer_not_open"
    entry.refresh_from_db()
    waitlist_offer_book(entry=entry, actor=teacher_a)
    assert refused(waitlist_offer_book, entry=entry, actor=teacher_a) == "offer_not_open"


def test_a_no_show_frees_the_units_for_the_next_in_line(
        teacher_a, school_a, teacher_b, school_b, item_type, time_machine, clerk):
    today_booking = book(teacher_b, school_b, item_type, 3, pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY)
    entry = join(teacher_a, school_a, item_type, 1, pickup_day=WEDNESDAY, return_day=NEXT_TUESDAY)
    travel_to(time_machine, TUESDAY, hour=17)
    reservation_mark_no_show(reservation=today_booking, actor=clerk)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED


def test_entries_whose_days_have_passed_expire(booked_out, teacher_a, school_a, item_type, time_machine):
    entry = join(teacher_a, school_a, item_type, 1)
    travel_to(time_machine, NEXT_WEDNESDAY)
    waitlist_process()
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.EXPIRED


def test_staff_reorder_the_line_with_a_logged_reason(
        booked_out, teacher_a, school_a, third, teacher_b, item_type, clerk, neighbour):
    first = join(teacher_a, school_a, item_type, 3)
    second = join(third, school_a, item_type, 3)
    assert refused(waitlist_move, entry=second, actor=clerk, before=first, reason=" ") == "waitlist_reason_required"
    assert refused(waitlist_move, entry=second, actor=neighbour, before=first,
                   reason="Projektwoche") == "waitlist_staff_only"
    assert refused(waitlist_move, entry=second, actor=teacher_b, before=first,
                   reason="Projektwoche") == "waitlist_staff_only"
    waitlist_move(entry=second, actor=clerk, before=first, reason="Projektwoche der Klasse 7b")
    assert list(WaitlistEntry.objects.filter(item_type=item_type).values_list("pk", flat=True)) == [
        second.pk, first.pk]
    event = second.events.get(action=WaitlistEvent.Action.MOVED)
    assert (event.actor, event.data) == (clerk, {"reason": "Projektwoche der Klasse 7b", "from": 2, "to": 1})
    reservation_cancel(reservation=booked_out, actor=teacher_b)
    second.refresh_from_db()
    assert second.status == WaitlistEntry.Status.OFFERED
    waitlist_remove(entry=second, actor=clerk, reason="Doppelt angemeldet")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.status, first.status) == (WaitlistEntry.Status.REMOVED, WaitlistEntry.Status.OFFERED)


def test_leaving_is_for_the_teacher_herself(booked_out, teacher_a, school_a, third, item_type):
    entry = join(teacher_a, school_a, item_type, 1)
    assert refused(waitlist_leave, entry=entry, actor=third) == "not_your_entry"
    waitlist_leave(entry=entry, actor=teacher_a)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT
    assert refused(waitlist_leave, entry=entry, actor=teacher_a) == "entry_not_active"


def test_a_unit_added_in_the_admin_is_offered_once_the_change_is_committed(
        booked_out, teacher_a, school_a, item_type, django_capture_on_commit_callbacks):
    entry = join(teacher_a, school_a, item_type, 1)
    with django_capture_on_commit_callbacks(execute=True):
        factories.make_unit(item_type=item_type)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED


def test_a_unit_back_from_repair_is_offered(booked_out, teacher_a, school_a, item_type, location,
                                           django_capture_on_commit_callbacks):
    from catalog.models import UnitStatus

    unit = factories.make_unit(item_type=item_type, status=UnitStatus.MAINTENANCE)
    entry = join(teacher_a, school_a, item_type, 1)
    assert entry.status == WaitlistEntry.Status.WAITING
    with django_capture_on_commit_callbacks(execute=True):
        unit.status = UnitStatus.AVAILABLE
        unit.save()
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED


def test_the_purge_forgets_who_waited_on_old_ended_entries(booked_out, teacher_a, school_a, item_type,
                                                          time_machine):
    entry = join(teacher_a, school_a, item_type, 1)
    waitlist_leave(entry=entry, actor=teacher_a)
    waiting = factories.make_waitlist_entry(borrower=teacher_a, school=school_a, item_type=item_type,
                                            pickup_day=datetime.date(2028, 3, 7), return_day=datetime.date(2028, 3, 8))
    travel_to(time_machine, datetime.date(2028, 3, 1))
    call_command("purge_personal_data", "--days", "30", verbosity=0, stdout=open("/dev/null", "w"))
    entry.refresh_from_db()
    waiting.refresh_from_db()
    assert entry.borrower is None
    assert not entry.events.filter(actor=teacher_a).exists()
    assert entry.events.count() == 2  # what happened stays, without the person
    assert waiting.borrower == teacher_a  # still waiting: kept


def test_the_offer_mail_arrives_once_says_until_when_and_is_skipped_once_booked(
        booked_out, teacher_a, school_a, teacher_b, item_type, smtp_server, settings):
    from notifications.delivery import deliver_due

    settings.SITE_URL = "https://verleih.example.de"
    entry = join(teacher_a, school_a, item_type, 2)
    reservation_cancel(reservation=booked_out, actor=teacher_b)
    assert deliver_due().sent >= 1
    [offer] = [message for message in smtp_server.wait_for(2) if "frei bis" in message["Subject"]]
    assert offer["To"] == teacher_a.email
    # .strip(): Python folds a long encoded subject right after "Subject:", which reads back as a leading space.
    assert offer["Subject"].strip() == f"Für Sie frei bis 2. März, 10:00: 2 × {item_type.name}"
    text = offer.get_body(preferencelist=("plain",)).get_content()
    assert "bis 2. März 2027, 10:00 für Sie reserviert" in text
    assert "https://verleih.example.de/buchungen/#warteliste" in text
    assert deliver_due().sent == 0  # once
    # A second offer (after a lapse) would be a new mail; one queued for an offer booked since is skipped.
    entry.refresh_from_db()
    waitlist_offer_book(entry=entry, actor=teacher_a)
    Mail.objects.filter(kind=Mail.Kind.WAITLIST_OFFER).update(status=Mail.Status.QUEUED)
    assert deliver_due().skipped == 1


def test_deleting_her_account_ends_her_places_and_offers_what_her_bookings_free(
        booked_out, teacher_a, school_a, teacher_b, third, item_type, django_capture_on_commit_callbacks):
    from accounts.services import account_delete

    theirs = join(third, school_a, item_type, 3)
    mine = join(teacher_a, school_a, item_type, 1)
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=teacher_b)  # Bob's booking of all three is cancelled: Dora's request fits
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (mine.status, theirs.status) == (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED)
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=third)  # her offer ends with her account, and goes to the next in line
    mine.refresh_from_db()
    assert WaitlistEntry.objects.get(pk=theirs.pk).status == WaitlistEntry.Status.LEFT
    assert mine.status == WaitlistEntry.Status.OFFERED


def test_offers_and_lapses_move_the_catalogue_version_and_the_slot_picker_counts_offers(
        booked_out, teacher_a, school_a, teacher_b, item_type, location, time_machine):
    from catalog.models import Location
    from lending.selectors import slots_full

    location.slot_capacity = 1
    location.save()
    entry = join(teacher_a, school_a, item_type, 1)
    reservation_cancel(reservation=booked_out, actor=teacher_b)
    assert slots_full(location=location, day=NEXT_TUESDAY) == {SLOT}  # the offer's place in the slot
    version = Location.objects.get(pk=location.pk).version
    entry.refresh_from_db()
    time_machine.move_to(entry.offer_expires_at + datetime.timedelta(minutes=1), tick=False)
    assert slots_full(location=location, day=NEXT_TUESDAY) == set()
    waitlist_process()
    assert Location.objects.get(pk=location.pk).version > version

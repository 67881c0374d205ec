"""Calendar feeds (lending/calendar.py): read back by two independent parsers.

Every feed is parsed with the Python `icalendar` package and with `ical.js` (the parser Thunderbird
uses, run with Node through tests/lending/icaljs_dump.mjs); both must see the same events. Without
`node` or the npm package the tests are skipped, unless REQUIRE_BROWSER=1 (as in CI): then they
fail. Times across the clock changes, read by a third parser, are in test_calendar_timezones.py.
"""

import datetime
import re

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from lending.calendar import (
    PRODID,
    calendar_for_borrower,
    calendar_for_location,
    calendar_for_reservation,
    feed_version_for_borrower,
    feed_version_for_location,
)
from lending.models import ReservationStatus
from lending.models import Fulfilment
from lending.services import reservation_cancel, reservation_change, reservation_create, reservation_mark_no_show
from tests import factories
from tests.lending.calendar_readers import icaljs_read
from tests.lending.conftest import MONDAY, NEXT_TUESDAY, NEXT_WEDNESDAY, TUESDAY

UTC = datetime.UTC
TEN = datetime.time(10, 0)
ADDRESS = "Medienzentrum im Rathaus\nHauptstraße 1\n\n12345 Musterstadt"

pytestmark = pytest.mark.usefixtures("monday")


@pytest.fixture(autouse=True)
def english():
    # The feed's words are translated; the tests read the English ones whatever the catalogue holds.
    with translation.override("en"):
        yield


@pytest.fixture
def location(location):
    location.address = ADDRESS
    location.save()
    return location


@pytest.fixture
def projector(location):
    return factories.make_item_type(location=location, name="Beamer", slug="beamer", units=2)


def reserve(*, location, school, borrower, lines, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY,
            pickup_slot=TEN, status=None):
    return factories.make_reservation(
        location=location, school=school, borrower=borrower, lines=lines, pickup_day=pickup_day,
        return_day=return_day, pickup_slot=pickup_slot, status=status,
    )


@pytest.fixture
def booking(location, school_a, teacher_a, item_type, projector):
    """Teacher A picks up two VR cases and a projector next Tuesday at 10:00, back next Wednesday."""
    return reserve(location=location, school=school_a, borrower=teacher_a, lines={item_type: 2, projector: 1})


# The two parsers ---------------------------------------------------------------------------------


def _utc(value):
    return value.astimezone(UTC)


def _python_event(event):
    return {
        "uid": str(event["UID"]),
        "summary": str(event["SUMMARY"]),
        "start": _utc(event.decoded("DTSTART")),
        "end": _utc(event.decoded("DTEND")),
        "start_tzid": event["DTSTART"].params.get("TZID"),
        "stamp": event.decoded("DTSTAMP"),
        "status": str(event["STATUS"]),
        "sequence": event.decoded("SEQUENCE"),
        "location": str(event["LOCATION"]),
        "description": str(event["DESCRIPTION"]),
        "url": str(event["URL"]) if "URL" in event else None,
        "alarms": [
            {"action": str(alarm["ACTION"]), "trigger": alarm["TRIGGER"].to_ical().decode(),
             "description": str(alarm["DESCRIPTION"])}
            for alarm in event.walk("VALARM")
        ],
    }


def _js_event(event):
    return {**event, **{key: datetime.datetime.fromisoformat(event[key]) for key in ("start", "end", "stamp")}}


def read_feed(ics):
    """The calendar and its events as icalendar reads them, after checking that ical.js reads the
    same: the same UIDs in the same order, the same instants, words, states and reminders."""
    calendar = icalendar.Calendar.from_ical(ics)
    events = [_python_event(event) for event in calendar.walk("VEVENT")]
    seen_by_icaljs = icaljs_read(ics)
    assert [_js_event(event) for event in seen_by_icaljs["events"]] == events
    for name in ("prodid", "version", "calscale", "method"):
        assert seen_by_icaljs[name] == str(calendar[name.upper()])
    assert seen_by_icaljs["name"] == (str(calendar["X-WR-CALNAME"]) if "X-WR-CALNAME" in calendar else None)
    assert seen_by_icaljs["timezones"] == [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")]
    return calendar, events


def by_uid(events):
    return {event["uid"]: event for event in events}


def teacher_feed(user, now=None):
    return read_feed(calendar_for_borrower(user=user, now=now or timezone.now()))


def counter_feed(location, now=None):
    return read_feed(calendar_for_location(location=location, now=now or timezone.now()))


def at(day, hour, minute=0):
    """An instant in UTC, to compare with."""
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


# The teacher's feed ------------------------------------------------------------------------------


def test_the_calendar_says_who_made_it_and_how_to_read_it(teacher_a, booking):
    calendar, _ = teacher_feed(teacher_a)

    assert str(calendar["PRODID"]) == PRODID == "-//Technikverleih//Technikverleih//DE"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == str(calendar["NAME"]) == "Technikverleih: my bookings"
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_the_words_go_through_gettext(monkeypatch, teacher_a, location, booking):
    monkeypatch.setattr("lending.calendar._", lambda message: f"«{message}»")

    calendar, events = teacher_feed(teacher_a)
    counter, _ = counter_feed(location)

    assert str(calendar["X-WR-CALNAME"]) == "«Technikverleih: my bookings»"
    assert str(counter["X-WR-CALNAME"]) == "«Technikverleih: counter Medienzentrum Test»"
    assert events[0]["summary"] == "«Pickup: 2 × VR-Koffer, Beamer»"
    assert events[0]["description"].startswith(f"«Booking {booking.code}»")


def test_a_booking_is_a_pickup_at_its_slot_and_a_return_during_counter_hours(teacher_a, booking):
    _, events = teacher_feed(teacher_a)

    assert [event["uid"] for event in events] == [f"{booking.code}-pickup@testserver", f"{booking.code}-return@testserver"]
    pickup, back = events
    # Next Tuesday 10:00–10:30 and next Wednesday 9:00–16:00 in Berlin, winter time (UTC+1).
    assert (pickup["start"], pickup["end"]) == (at(NEXT_TUESDAY, 9), at(NEXT_TUESDAY, 9, 30))
    assert (back["start"], back["end"]) == (at(NEXT_WEDNESDAY, 8), at(NEXT_WEDNESDAY, 15))
    assert pickup["start_tzid"] == back["start_tzid"] == "Europe/Berlin"
    assert pickup["summary"] == "Pickup: 2 × VR-Koffer, Beamer"
    assert back["summary"] == "Return: 2 × VR-Koffer, Beamer"


def test_each_event_carries_what_clients_need(teacher_a, booking):
    _, events = teacher_feed(teacher_a)
    link = f"http://testserver/buchungen/{booking.code}/"

    for event in events:
        assert event["stamp"] == MONDAY.astimezone(UTC) == booking.updated_at
        assert event["sequence"] == 0
        assert event["status"] == "CONFIRMED"
        assert event["location"] == "Medienzentrum Test, Medienzentrum im Rathaus, Hauptstraße 1, 12345 Musterstadt"
        assert event["description"] == f"Booking {booking.code}\n2 × VR-Koffer\n1 × Beamer\n\n{link}"
        assert event["url"] == link
        assert event["alarms"] == [{"action": "DISPLAY", "trigger": "-P1D", "description": event["summary"]}]


def test_the_stamp_is_written_in_utc(teacher_a, booking):
    ics = calendar_for_borrower(user=teacher_a, now=timezone.now())

    assert ics.count(b"DTSTAMP:20270301T090000Z\r\n") == 2


def test_it_holds_only_the_teachers_own_bookings(teacher_a, teacher_b, school_b, location, item_type, booking):
    reserve(location=location, school=school_b, borrower=teacher_b, lines={item_type: 1})

    _, events = teacher_feed(teacher_a)

    assert {event["uid"].split("-")[0] for event in events} == {booking.code}


def test_it_holds_loans_on_the_way_and_recent_returns_but_not_old_ones(teacher_a, school_a, location, item_type):
    handed_out_long_ago = reserve(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1}, status=ReservationStatus.HANDED_OUT,
        pickup_day=datetime.date(2026, 10, 6), return_day=datetime.date(2026, 10, 14),
    )
    returned_recently = reserve(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1}, status=ReservationStatus.RETURNED,
        pickup_day=datetime.date(2026, 11, 24), return_day=datetime.date(2026, 12, 2),  # 89 days before Monday
    )
    reserve(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1}, status=ReservationStatus.RETURNED,
        pickup_day=datetime.date(2026, 11, 17), return_day=datetime.date(2026, 11, 25),  # 96 days before Monday
    )

    _, events = teacher_feed(teacher_a)

    assert {event["uid"].split("-")[0] for event in events} == {handed_out_long_ago.code, returned_recently.code}
    assert {event["status"] for event in events} == {"CONFIRMED"}


def test_a_change_moves_the_events_and_raises_the_sequence(time_machine, teacher_a, item_type):
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY,
                             return_day=NEXT_WEDNESDAY, pickup_slot=datetime.time(9, 0))
    _, before = teacher_feed(teacher_a)
    time_machine.move_to(MONDAY + datetime.timedelta(hours=1), tick=False)

    reservation_change(reservation=booking, actor=teacher_a, pickup_slot=datetime.time(11, 0))

    _, after = teacher_feed(teacher_a)
    assert [event["uid"] for event in after] == [event["uid"] for event in before]
    assert [event["sequence"] for event in before] == [0, 0]
    assert [event["sequence"] for event in after] == [1, 1]
    assert after[0]["start"] == at(NEXT_TUESDAY, 10)
    assert after[0]["stamp"] > before[0]["stamp"]


def test_a_cancelled_booking_stays_for_a_while_as_cancelled(teacher_a, booking):
    reservation_cancel(reservation=booking, actor=teacher_a)

    _, events = teacher_feed(teacher_a)

    assert [event["status"] for event in events] == ["CANCELLED", "CANCELLED"]
    assert [event["sequence"] for event in events] == [1, 1]
    assert events[0]["summary"] == "Pickup: 2 × VR-Koffer, Beamer (cancelled)"
    # No reminder for what will not happen.
    assert [event["alarms"] for event in events] == [[], []]
    _, later = teacher_feed(teacher_a, now=timezone.now() + datetime.timedelta(days=59))
    assert len(later) == 2
    _, much_later = teacher_feed(teacher_a, now=timezone.now() + datetime.timedelta(days=61))
    assert much_later == []


def test_a_booking_not_picked_up_is_cancelled_in_the_feed(time_machine, teacher_a, clerk, booking):
    time_machine.move_to(datetime.datetime.combine(NEXT_TUESDAY, datetime.time(17, 0), tzinfo=MONDAY.tzinfo),
                         tick=False)
    reservation_mark_no_show(reservation=booking, actor=clerk)

    _, events = teacher_feed(teacher_a)

    assert [event["status"] for event in events] == ["CANCELLED", "CANCELLED"]
    assert events[1]["summary"] == "Return: 2 × VR-Koffer, Beamer (not picked up)"


# Daylight saving time ----------------------------------------------------------------------------


@pytest.mark.parametrize(("pickup_day", "pickup_utc"), [
    (datetime.date(2027, 3, 23), 9),    # winter time, UTC+1
    (datetime.date(2027, 3, 30), 8),    # summer time from Sunday 28 March, UTC+2
    (datetime.date(2027, 10, 26), 8),   # still summer time
    (datetime.date(2027, 11, 2), 9),    # winter time from Sunday 31 October
])
def test_a_pickup_at_ten_in_berlin_is_right_on_both_sides_of_the_clock_change(
    teacher_a, school_a, location, item_type, pickup_day, pickup_utc
):
    reserve(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
            pickup_day=pickup_day, return_day=pickup_day)

    _, (pickup, _back) = teacher_feed(teacher_a)

    assert pickup["start"] == at(pickup_day, pickup_utc)
    assert pickup["end"] == at(pickup_day, pickup_utc, 30)


@pytest.mark.parametrize(("pickup_day", "return_day", "pickup_utc", "opens_utc", "closes_utc"), [
    # Picked up in winter time, back in summer time: the counter still opens at 9:00 local time.
    (datetime.date(2027, 3, 23), datetime.date(2027, 3, 31), 9, 7, 14),
    (datetime.date(2027, 10, 27), datetime.date(2027, 11, 3), 8, 8, 15),
])
def test_a_loan_across_the_clock_change_keeps_local_times(
    teacher_a, school_a, location, item_type, pickup_day, return_day, pickup_utc, opens_utc, closes_utc
):
    reserve(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
            pickup_day=pickup_day, return_day=return_day)

    _, (pickup, back) = teacher_feed(teacher_a)

    assert pickup["start"] == at(pickup_day, pickup_utc)
    assert (back["start"], back["end"]) == (at(return_day, opens_utc), at(return_day, closes_utc))


# What the bytes look like ------------------------------------------------------------------------


def test_lines_end_in_crlf_and_are_folded_at_75_octets(teacher_a, school_a, location):
    long_name = "Großes Übertragungs-Set für Schulkonzerte mit Funkmikrofonen, Empfängern und Ladestation " * 2
    long_item = factories.make_item_type(location=location, name=long_name.strip(), slug="lang", units=1)
    reserve(location=location, school=school_a, borrower=teacher_a, lines={long_item: 1})

    ics = calendar_for_borrower(user=teacher_a, now=timezone.now())

    assert ics.endswith(b"\r\n")
    assert b"\n" not in ics.replace(b"\r\n", b"")
    assert b"\r" not in ics.replace(b"\r\n", b"")
    lines = ics.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # never folded inside a character
    assert any(line.startswith(b" ") for line in lines)
    _, (pickup, _back) = read_feed(ics)
    assert pickup["summary"] == f"Pickup: {long_name.strip()}"


INJECTION = "Beamer\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@example.org\r\nSUMMARY:Gratis\nDTSTART:20270301T000000Z"


def test_a_line_break_in_a_name_cannot_end_the_event_or_start_another(teacher_a, school_a, location):
    location.name = "Medienzentrum\nEND:VCALENDAR"
    location.address = "Hauptstraße 1\r\nEND:VEVENT"
    location.save()
    evil_item = factories.make_item_type(location=location, name=INJECTION, slug="evil", units=1)
    booking = reserve(location=location, school=school_a, borrower=teacher_a, lines={evil_item: 1})

    ics = calendar_for_borrower(user=teacher_a, now=timezone.now())

    lines = ics.split(b"\r\n")
    assert lines.count(b"BEGIN:VEVENT") == lines.count(b"END:VEVENT") == 2
    assert lines.count(b"END:VCALENDAR") == 1
    assert not any(line.startswith(b"UID:evil") for line in lines)
    _, events = read_feed(ics)
    assert [event["uid"] for event in events] == [f"{booking.code}-pickup@testserver", f"{booking.code}-return@testserver"]
    flat = " ".join(INJECTION.split())
    assert events[0]["summary"] == f"Pickup: {flat}"
    assert events[0]["description"].splitlines()[1] == f"1 × {flat}"
    assert events[0]["location"] == "Medienzentrum END:VCALENDAR, Hauptstraße 1, END:VEVENT"


@pytest.mark.parametrize("name", [
    "Großes Übertragungs-Set für Schulkonzerte mit Funkmikrofonen, Empfängern und Ladestation " * 2,
    "Komma, Semikolon; Backslash \\ und Zirkumflex ^ " * 4,
    "🎧 Kopfhörer-Klassensatz 🎧 " * 6,
    "a" * 73 + ",",  # an escape right at the fold
])
def test_icalendar_writes_every_feed_again_byte_for_byte(teacher_a, school_a, location, clerk, name):
    """The events are written by lending.calendar itself (icalendar's object model is ten times
    slower for a long feed): parsed by icalendar and written again, every feed stays the same."""
    item = factories.make_item_type(location=location, name=name.strip(), slug="item", units=2)
    reserve(location=location, school=school_a, borrower=teacher_a, lines={item: 2})
    reserve(location=location, school=school_a, borrower=teacher_a, lines={item: 1}, status=ReservationStatus.CANCELLED)

    for ics in (calendar_for_borrower(user=teacher_a, now=timezone.now()),
                calendar_for_location(location=location, now=timezone.now())):
        assert icalendar.Calendar.from_ical(ics).to_ical() == ics


def test_the_same_bookings_give_the_same_bytes(teacher_a, booking):
    now = timezone.now()

    assert calendar_for_borrower(user=teacher_a, now=now) == calendar_for_borrower(user=teacher_a, now=now)


def test_uids_take_the_host_of_site_url_and_links_need_one(settings, teacher_a, booking):
    settings.SITE_URL = "https://verleih.example.de"
    _, events = teacher_feed(teacher_a)
    assert events[0]["uid"] == f"{booking.code}-pickup@verleih.example.de"
    assert events[0]["url"] == f"https://verleih.example.de/buchungen/{booking.code}/"

    settings.SITE_URL = ""
    _, events = teacher_feed(teacher_a)
    assert events[0]["uid"] == f"{booking.code}-pickup@technikverleih"
    assert events[0]["url"] is None
    assert "buchungen" not in events[0]["description"]

    # A view may pass the address of the request; the UIDs stay as they were.
    _, events = read_feed(calendar_for_borrower(user=teacher_a, now=timezone.now(), base_url="https://other.example/"))
    assert events[0]["uid"] == f"{booking.code}-pickup@technikverleih"
    assert events[0]["url"] == f"https://other.example/buchungen/{booking.code}/"


def test_an_empty_feed_is_a_valid_calendar(teacher_a):
    calendar, events = teacher_feed(teacher_a)

    assert events == []
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert calendar.walk("VTIMEZONE") == []


# The counter's feed ------------------------------------------------------------------------------


def test_the_counter_feed_names_the_borrower_of_every_booking(
    teacher_a, teacher_b, school_a, school_b, location, item_type, booking
):
    other = reserve(location=location, school=school_b, borrower=teacher_b, lines={item_type: 1},
                    pickup_day=NEXT_WEDNESDAY, pickup_slot=datetime.time(9, 30))

    calendar, events = counter_feed(location)

    assert str(calendar["X-WR-CALNAME"]) == "Technikverleih: counter Medienzentrum Test"
    assert list(by_uid(events)) == [
        f"{booking.code}-pickup@testserver", f"{booking.code}-return@testserver",
        f"{other.code}-pickup@testserver", f"{other.code}-return@testserver",
    ]
    pickup = by_uid(events)[f"{booking.code}-pickup@testserver"]
    assert pickup["summary"] == "Pickup: Alice Adler – 2 × VR-Koffer, Beamer"
    assert pickup["description"].splitlines()[:2] == [f"Booking {booking.code}", "Borrower: Alice Adler (Gymnasium am Park)"]
    assert by_uid(events)[f"{other.code}-return@testserver"]["summary"] == "Return: Bob Berg – VR-Koffer"


def test_the_counter_feed_holds_only_its_counter_from_thirty_days_back(teacher_a, school_a, location, item_type):
    elsewhere = factories.make_location(name="Außenstelle")
    elsewhere_item = factories.make_item_type(location=elsewhere, units=1)
    reserve(location=elsewhere, school=school_a, borrower=teacher_a, lines={elsewhere_item: 1})
    recent = reserve(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                     status=ReservationStatus.RETURNED, pickup_day=datetime.date(2027, 1, 26),
                     return_day=datetime.date(2027, 2, 2))  # 27 days before Monday
    reserve(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
            status=ReservationStatus.RETURNED, pickup_day=datetime.date(2027, 1, 19),
            return_day=datetime.date(2027, 1, 27))  # 33 days before Monday
    far_ahead = reserve(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                        pickup_day=datetime.date(2028, 2, 1), return_day=datetime.date(2028, 2, 2))

    _, events = counter_feed(location)

    assert [event["uid"].split("-")[0] for event in events[::2]] == [recent.code, far_ahead.code]


def test_the_counter_feed_names_the_school_once_the_person_is_removed(school_a, location, item_type):
    reserve(location=location, school=school_a, borrower=None, lines={item_type: 1})

    _, events = counter_feed(location)

    assert events[0]["summary"] == "Pickup: Gymnasium am Park – VR-Koffer"


def test_the_counter_feed_shows_cancelled_bookings_as_cancelled(teacher_a, location, booking):
    reservation_cancel(reservation=booking, actor=teacher_a)

    _, events = counter_feed(location)

    assert [event["status"] for event in events] == ["CANCELLED", "CANCELLED"]


# One booking -------------------------------------------------------------------------------------


def test_one_booking_gives_its_two_events_and_no_calendar_name(teacher_a, school_a, location, item_type, booking):
    reserve(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1})

    calendar, events = read_feed(calendar_for_reservation(reservation=booking))

    assert [event["uid"] for event in events] == [f"{booking.code}-pickup@testserver", f"{booking.code}-return@testserver"]
    assert "X-WR-CALNAME" not in calendar and "NAME" not in calendar
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_one_cancelled_booking_is_cancelled(teacher_a, booking):
    reservation_cancel(reservation=booking, actor=teacher_a)

    _, events = read_feed(calendar_for_reservation(reservation=booking))

    assert [event["status"] for event in events] == ["CANCELLED", "CANCELLED"]


# Queries -----------------------------------------------------------------------------------------


def _many_bookings(count, *, location, school, borrower, item_types):
    for number in range(count):
        day = TUESDAY + datetime.timedelta(weeks=number % 40)
        reserve(location=location, school=school, borrower=borrower,
                lines={item_type: 1 + number % 2 for item_type in item_types},
                pickup_day=day, return_day=day + datetime.timedelta(days=1),
                status=ReservationStatus.CANCELLED if number % 7 == 0 else None)


def _queries(build):
    with CaptureQueriesContext(connection) as context:
        build()
    return len(context.captured_queries)


@pytest.mark.parametrize("feed", ["borrower", "location"])
def test_a_feed_takes_the_same_queries_for_5_and_for_50_bookings(
    teacher_a, school_a, location, item_type, projector, feed
):
    def build():
        now = timezone.now()
        if feed == "borrower":
            return calendar_for_borrower(user=teacher_a, now=now)
        return calendar_for_location(location=location, now=now)

    _many_bookings(5, location=location, school=school_a, borrower=teacher_a, item_types=[item_type, projector])
    few = _queries(build)
    _many_bookings(45, location=location, school=school_a, borrower=teacher_a, item_types=[item_type, projector])
    many = _queries(build)

    assert few == many == 2
    assert len(read_feed(build())[1]) == 100


def test_one_booking_takes_two_queries(django_assert_num_queries, booking):
    with django_assert_num_queries(2):
        calendar_for_reservation(reservation=booking)


# Feed versions -----------------------------------------------------------------------------------


def test_a_feed_version_is_two_queries_and_a_quoted_strong_etag(django_assert_num_queries, teacher_a, location,
                                                                  booking):
    with django_assert_num_queries(2):
        etag, last_modified = feed_version_for_borrower(user=teacher_a)
    with django_assert_num_queries(2):
        location_etag, _ = feed_version_for_location(location=location)

    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert re.fullmatch(r'"[0-9a-f]{32}"', location_etag)
    assert last_modified == booking.updated_at == MONDAY


def test_a_feed_version_stays_while_nothing_in_the_feed_changes(
    teacher_a, teacher_b, school_b, location, item_type, booking
):
    teachers_version = feed_version_for_borrower(user=teacher_a)
    counters_version = feed_version_for_location(location=location)
    # Another teacher's booking at this counter is not in teacher A's feed...
    reserve(location=location, school=school_b, borrower=teacher_b, lines={item_type: 1})
    assert feed_version_for_borrower(user=teacher_a) == teachers_version
    assert feed_version_for_location(location=location) != counters_version
    counters_version = feed_version_for_location(location=location)
    # ...and one at another counter is in neither.
    elsewhere = factories.make_location()
    reserve(location=elsewhere, school=school_b, borrower=teacher_b,
            lines={factories.make_item_type(location=elsewhere, units=1): 1})

    assert feed_version_for_borrower(user=teacher_a) == teachers_version
    assert feed_version_for_location(location=location) == counters_version


def test_a_feed_version_changes_with_a_booking(time_machine, teacher_a, location, item_type):
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY,
                             return_day=NEXT_WEDNESDAY)
    versions = [feed_version_for_borrower(user=teacher_a), feed_version_for_location(location=location)]

    time_machine.move_to(MONDAY + datetime.timedelta(minutes=5), tick=False)
    reservation_change(reservation=booking, actor=teacher_a, pickup_slot=datetime.time(10, 0))
    changed = [feed_version_for_borrower(user=teacher_a), feed_version_for_location(location=location)]
    time_machine.move_to(MONDAY + datetime.timedelta(minutes=10), tick=False)
    reservation_cancel(reservation=booking, actor=teacher_a)
    cancelled = [feed_version_for_borrower(user=teacher_a), feed_version_for_location(location=location)]

    for before, after in [(versions, changed), (changed, cancelled)]:
        for (etag_before, modified_before), (etag_after, modified_after) in zip(before, after, strict=True):
            assert etag_after != etag_before
            assert modified_after > modified_before


def test_a_feed_version_changes_when_a_booking_leaves_the_feed_with_time(teacher_a, booking):
    reservation_cancel(reservation=booking, actor=teacher_a)
    now = timezone.now()

    assert (feed_version_for_borrower(user=teacher_a, now=now + datetime.timedelta(days=59))
            == feed_version_for_borrower(user=teacher_a, now=now))
    etag, last_modified = feed_version_for_borrower(user=teacher_a, now=now + datetime.timedelta(days=61))
    assert etag != feed_version_for_borrower(user=teacher_a, now=now)[0]
    assert last_modified is None


def test_a_feed_version_depends_on_the_language(teacher_a, booking):
    english = feed_version_for_borrower(user=teacher_a)[0]
    with translation.override("de"):
        german = feed_version_for_borrower(user=teacher_a)[0]

    assert german != english



@pytest.mark.parametrize("change", ["counter hours", "counter address", "item name"])
def test_a_feed_version_changes_with_the_counter_and_the_items(time_machine, teacher_a, location, item_type, booking,
                                                               change):
    before = (feed_version_for_borrower(user=teacher_a)[0], feed_version_for_location(location=location)[0])
    time_machine.shift(datetime.timedelta(minutes=5))
    if change == "counter hours":
        location.closes_at = datetime.time(14, 0)
        location.save()
    elif change == "counter address":
        location.address = "Neue Straße 2"
        location.save()
    else:
        item_type.name = "VR-Koffer (neu)"
        item_type.save()

    after = (feed_version_for_borrower(user=teacher_a)[0], feed_version_for_location(location=location)[0])

    assert after[0] != before[0] and after[1] != before[1]


def test_a_delivery_is_its_delivery_and_collection_at_the_school_in_both_feeds(tour, teacher, school, vr):
    tour.address = "Königswall 18\n44137 Dortmund"
    tour.save()
    delivery = reservation_create(borrower=teacher, school=school, pickup_day=NEXT_TUESDAY, pickup_slot=None,
                                  return_day=NEXT_WEDNESDAY, lines={vr.pk: 2}, fulfilment=Fulfilment.DELIVERY)
    school_place = "Gesamtschule Hofseite, Parkstraße 1, 44135 Dortmund"

    for (_, events), summaries in (
        (teacher_feed(teacher), ("Delivery: 2 × VR-Koffer", "Collection: 2 × VR-Koffer")),
        (counter_feed(tour), ("Delivery: Dora Dahl – 2 × VR-Koffer", "Collection: Dora Dahl – 2 × VR-Koffer")),
    ):
        deliver, collect = (by_uid(events)[f"{delivery.code}-{kind}@testserver"] for kind in ("pickup", "return"))
        # During counter hours, 9:00–16:00 in Berlin (UTC+1), on both days.
        assert (deliver["start"], deliver["end"]) == (at(NEXT_TUESDAY, 8), at(NEXT_TUESDAY, 15))
        assert (collect["start"], collect["end"]) == (at(NEXT_WEDNESDAY, 8), at(NEXT_WEDNESDAY, 15))
        assert (deliver["summary"], collect["summary"]) == summaries
        assert deliver["location"] == collect["location"] == school_place


def test_a_delivery_the_school_returns_is_returned_at_the_counter(tour, teacher, school, vr):
    tour.collection_by_tour = False
    tour.address = "Königswall 18\n44137 Dortmund"
    tour.save()
    delivery = reservation_create(borrower=teacher, school=school, pickup_day=NEXT_TUESDAY, pickup_slot=None,
                                  return_day=NEXT_WEDNESDAY, lines={vr.pk: 1}, fulfilment=Fulfilment.DELIVERY)

    _, events = teacher_feed(teacher)

    back = by_uid(events)[f"{delivery.code}-return@testserver"]
    assert back["summary"] == "Return: VR-Koffer"
    assert back["location"] == "Medienzentrum Tour, Königswall 18, 44137 Dortmund"

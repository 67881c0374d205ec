"""Calendar times across years and clock changes (issue 11): every feed and every download reads
the same in independent parsers, instant by instant as the IANA time zone database (zoneinfo) has
it.

The parsers use the VTIMEZONE in the file, not their own knowledge of the TZID: ical.js (the
library of Thunderbird) and dateutil's tzical (tests/lending/calendar_readers.py). The bookings
cover every month of 2026–2031 and both sides of every change to and from summer time in those
years: the day before, the day of the change and the day after, and a counter open at night on
the day itself, whose slots fall before, into and after the hour that is skipped or repeated.
"""

import datetime
import re
import zoneinfo

import pytest
from django.urls import reverse

from lending.calendar import calendar_for_borrower, feed_version_for_borrower
from lending.calendar_tokens import calendar_token_rotate
from lending.models import Reservation
from lending.vtimezone import vtimezone
from tests import factories
from tests.lending.calendar_readers import dateutil_read, icaljs_read, icaljs_read_many

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = datetime.UTC
YEARS = range(2026, 2032)
EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]
# Monday 5 January 2026: every booking below lies ahead.
NOW = datetime.datetime(2026, 1, 5, 8, 0, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def now(time_machine):
    time_machine.move_to(NOW, tick=False)


def clock_changes(zone, years):
    """The days on which `zone`'s offset at noon differs from the day before's, found day by day
    with zoneinfo (independently of lending/vtimezone.py)."""
    day = datetime.date(years[0], 1, 1)
    days = []
    while day.year <= years[-1]:
        noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=zone)
        if noon.utcoffset() != (noon - datetime.timedelta(days=1)).utcoffset():
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def test_the_clock_changes_of_the_test_are_the_twelve_sundays_of_the_eu_rule():
    changes = clock_changes(BERLIN, YEARS)

    assert len(changes) == 12
    assert all(day.weekday() == 6 and day.month in (3, 10) and day.day > 24 for day in changes)


def _slots(counter):
    slot = datetime.datetime.combine(datetime.date.min, counter.opens_at)
    while slot.time() < counter.closes_at:
        yield slot.time()
        slot += datetime.timedelta(minutes=counter.slot_minutes)


def _book(*, counter, school, borrower, pickup_day, return_day, pickup_slot):
    return Reservation(
        location=counter, school=school, borrower=borrower, pickup_day=pickup_day, return_day=return_day,
        pickup_slot=pickup_slot,
    )


def book_across_the_years(*, day_counter, night_counter, school, borrower, zone, years):
    """Bookings in every month of `years` and on both sides of every clock change, written in one
    query (the feeds read them as any other booking)."""
    bookings = []
    for year in years:
        for month in range(1, 13):
            pickup_day = datetime.date(year, month, 14)
            bookings.append(_book(counter=day_counter, school=school, borrower=borrower, pickup_day=pickup_day,
                                  return_day=pickup_day + datetime.timedelta(days=2), pickup_slot=datetime.time(10)))
    for change in clock_changes(zone, years):
        before, after = change - datetime.timedelta(days=1), change + datetime.timedelta(days=1)
        # Picked up the day before, back the day after; picked up at the end of the day before,
        # back on the day itself.
        bookings.append(_book(counter=day_counter, school=school, borrower=borrower, pickup_day=before,
                              return_day=after, pickup_slot=datetime.time(9)))
        bookings.append(_book(counter=day_counter, school=school, borrower=borrower, pickup_day=before,
                              return_day=change, pickup_slot=datetime.time(15, 30)))
        # Every slot of the night counter, on the day before and on the day of the change.
        for day in (before, change):
            for slot in _slots(night_counter):
                bookings.append(_book(counter=night_counter, school=school, borrower=borrower, pickup_day=day,
                                      return_day=day, pickup_slot=slot))
    return Reservation.objects.bulk_create(bookings)


def expected(reservations, zone):
    """{uid: (start, end)} of every event as zoneinfo reads the counter's local times: the pickup
    during its slot, the return during counter hours. A local time the clock skips or shows twice
    is read as zoneinfo and RFC 5545 3.3.5 read it: with the offset before the change."""
    def instant(day, time, minutes=0):
        wall = datetime.datetime.combine(day, time) + datetime.timedelta(minutes=minutes)
        return wall.replace(tzinfo=zone).astimezone(UTC)

    events = {}
    for reservation in reservations:
        counter = reservation.location
        events[f"{reservation.code}-pickup@testserver"] = (
            instant(reservation.pickup_day, reservation.pickup_slot),
            instant(reservation.pickup_day, reservation.pickup_slot, counter.slot_minutes),
        )
        events[f"{reservation.code}-return@testserver"] = (
            instant(reservation.return_day, counter.opens_at), instant(reservation.return_day, counter.closes_at),
        )
    return events


def icaljs_times(dump):
    return {
        event["uid"]: tuple(datetime.datetime.fromisoformat(event[key]) for key in ("start", "end"))
        for event in dump["events"]
    }


def assert_read_alike(ics, dump, events):
    """ical.js (its `dump`) and dateutil read every event of `ics` at the instants of `events`."""
    assert icaljs_times(dump) == events
    assert dateutil_read(ics) == events


@pytest.fixture
def counters(location):
    """The day counter (9:00–16:00, every day, half-hour slots) and a night counter open
    00:00–04:00 (as an admin may set one up), whose slots meet the hour of the change."""
    location.counter_weekdays = EVERY_DAY
    location.save()
    night = factories.make_location(
        name="Nachtschalter", slug="nacht", counter_weekdays=EVERY_DAY, opens_at=datetime.time(0, 0),
        closes_at=datetime.time(4, 0), slot_minutes=30,
    )
    return location, night


@pytest.fixture
def bookings(counters, school_a, teacher_a):
    day_counter, night_counter = counters
    book_across_the_years(day_counter=day_counter, night_counter=night_counter, school=school_a,
                          borrower=teacher_a, zone=BERLIN, years=YEARS)
    return list(Reservation.objects.select_related("location").order_by("pk"))


def test_every_feed_and_download_reads_as_the_iana_database_in_ical_js_and_dateutil(
    client, teacher_a, clerk, counters, bookings
):
    day_counter, night_counter = counters
    clerk.locations.add(night_counter)
    teachers_token, clerks_token = calendar_token_rotate(user=teacher_a), calendar_token_rotate(user=clerk)
    feeds = {
        "teacher": client.get(reverse("frontend:calendar_feed", kwargs={"token": teachers_token})),
        **{
            counter.slug: client.get(reverse("frontend:calendar_counter_feed",
                                             kwargs={"token": clerks_token, "location": counter.slug}))
            for counter in counters
        },
    }
    client.force_login(teacher_a)
    downloads = {
        booking.code: client.get(reverse("frontend:booking_calendar", kwargs={"code": booking.code}))
        for booking in bookings
    }
    assert {response.status_code for response in [*feeds.values(), *downloads.values()]} == {200}
    files = [response.content for response in [*feeds.values(), *downloads.values()]]

    dumps = icaljs_read_many(files)

    everything = expected(bookings, BERLIN)
    assert len(everything) == 2 * len(bookings) > 500
    of_counter = {
        counter.slug: expected([booking for booking in bookings if booking.location == counter], BERLIN)
        for counter in counters
    }
    wanted = [everything, of_counter[day_counter.slug], of_counter[night_counter.slug]]
    wanted += [expected([booking], BERLIN) for booking in bookings]
    for ics, dump, events in zip(files, dumps, wanted, strict=True):
        assert_read_alike(ics, dump, events)


def test_a_time_the_clock_skips_or_shows_twice_is_written_in_utc(teacher_a, counters, school_a):
    """Readers disagree about those (ical.js takes the offset after the gap and the second of two
    equal times), so only these go out in UTC; the others keep the zone's TZID."""
    _, night = counters
    for day in (datetime.date(2027, 3, 28), datetime.date(2027, 10, 31)):
        factories.make_reservation(location=night, school=school_a, borrower=teacher_a, lines={},
                                   pickup_day=day, return_day=day, pickup_slot=datetime.time(2, 30))

    ics = calendar_for_borrower(user=teacher_a, now=NOW).decode()

    events = ics[ics.index("END:VTIMEZONE"):]
    starts = re.findall(r"^DTSTART.*$", events, flags=re.MULTILINE)
    assert starts == [
        "DTSTART:20270328T013000Z\r",  # 02:30 does not exist that Sunday: 03:30 CEST
        "DTSTART;TZID=Europe/Berlin:20270328T000000\r",  # the return: counter hours 00:00–04:00
        "DTSTART:20271031T003000Z\r",  # 02:30 CEST, the first of the two
        "DTSTART;TZID=Europe/Berlin:20271031T000000\r",
    ]


# The VTIMEZONE itself --------------------------------------------------------------------------


def vtimezone_lines(ics):
    text = re.sub(r"\r\n[ \t]", "", ics.decode())
    return text[text.index("BEGIN:VTIMEZONE"):text.index("END:VTIMEZONE")].split("\r\n")


def test_the_vtimezone_is_the_yearly_rule_that_outlook_google_apple_and_thunderbird_read(
    client, teacher_a, counters, bookings
):
    token = calendar_token_rotate(user=teacher_a)

    lines = vtimezone_lines(client.get(reverse("frontend:calendar_feed", kwargs={"token": token})).content)

    # One DAYLIGHT and one STANDARD with a plain local DTSTART (the time before the change) and a
    # yearly RRULE of one weekday occurrence; no RDATE, which ical.js and Outlook misread.
    assert lines == [
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Berlin",
        "X-LIC-LOCATION:Europe/Berlin",
        "BEGIN:DAYLIGHT",
        "DTSTART:19960331T020000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        "TZNAME:CEST",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "DTSTART:19961027T030000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "TZNAME:CET",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "",
    ]


@pytest.mark.parametrize(("key", "components", "ruled"), [
    ("America/New_York", 2, True),     # the second Sunday in March, the first in November
    ("Australia/Sydney", 2, True),     # summer time across the new year
    ("Europe/Dublin", 2, True),        # the database's negative summer time in winter
    ("Pacific/Auckland", 2, True),
    ("Asia/Tokyo", 1, False),          # no summer time
    ("Asia/Tehran", 1, False),         # summer time abolished in 2022
    ("America/Santiago", 35, False),   # "first Sunday on or after the 2nd": no BYDAY for it
    ("America/Nuuk", 35, False),       # the change at 22:00 on the Saturday before the last Sunday
    ("Africa/Casablanca", None, False),  # around Ramadan
])
def test_any_zone_reads_as_the_iana_database(settings, teacher_a, counters, school_a, key, components, ruled):
    """The site's zone is a setting: for any zone, the feed reads as zoneinfo has it in both
    parsers, with a yearly rule where one predicts every change, one component per change where
    none does (one DTSTART each, never an RDATE)."""
    settings.TIME_ZONE = key
    zone = zoneinfo.ZoneInfo(key)
    day_counter, night_counter = counters
    book_across_the_years(day_counter=day_counter, night_counter=night_counter, school=school_a,
                          borrower=teacher_a, zone=zone, years=YEARS)
    reservations = list(Reservation.objects.select_related("location"))
    ics = calendar_for_borrower(user=teacher_a, now=NOW)

    assert_read_alike(ics, icaljs_read(ics), expected(reservations, zone))
    lines = vtimezone_lines(ics)
    starts = [line for line in lines if line.startswith("BEGIN:STANDARD") or line.startswith("BEGIN:DAYLIGHT")]
    assert components is None or len(starts) == components
    assert not any(line.startswith("RDATE") for line in lines)
    assert sum(line.startswith("RRULE:") for line in lines) == (2 if ruled else 0)
    assert lines.count(f"TZID:{key}") == lines.count(f"X-LIC-LOCATION:{key}") == 1


def test_the_feed_version_changes_with_the_zones_vtimezone(settings, teacher_a, counters, school_a):
    """A time zone database update with a new rule must reach the clients that hold a 304."""
    factories.make_reservation(location=counters[0], school=school_a, borrower=teacher_a, lines={},
                               pickup_day=datetime.date(2026, 3, 3), return_day=datetime.date(2026, 3, 4))
    berlin = feed_version_for_borrower(user=teacher_a, now=NOW)
    settings.TIME_ZONE = "Europe/Lisbon"  # the same rule, another zone: another VTIMEZONE

    lisbon = feed_version_for_borrower(user=teacher_a, now=NOW)

    assert lisbon[0] != berlin[0]
    assert lisbon[1] == berlin[1]


def test_a_rule_that_changes_within_the_years_gives_one_component_per_change():
    """New York moved its changes in 2007: no one rule predicts 2005–2010."""
    component = vtimezone(zoneinfo.ZoneInfo("America/New_York"), first_year=2005, last_year=2010)

    parts = component.subcomponents
    assert all("RRULE" not in part and "RDATE" not in part for part in parts)
    starts = [part.decoded("DTSTART") for part in parts[1:]]
    assert datetime.datetime(2006, 4, 2, 2, 0) in starts  # the first Sunday in April, before 2007
    assert datetime.datetime(2007, 3, 11, 2, 0) in starts  # the second Sunday in March, since
    # Checked ten years beyond the last year the feed needs: to 2020.
    assert max(starts) == datetime.datetime(2020, 11, 1, 2, 0)


def test_the_rule_starts_when_it_began_to_hold():
    """DTSTART is the first year since 1970 from which the rule has held, not a date it is wrong for."""
    new_york = vtimezone(zoneinfo.ZoneInfo("America/New_York"), first_year=2026, last_year=2026)
    berlin = vtimezone(zoneinfo.ZoneInfo("Europe/Berlin"), first_year=2026, last_year=2026)

    assert [part.decoded("DTSTART") for part in new_york.subcomponents] == [
        datetime.datetime(2007, 3, 11, 2, 0), datetime.datetime(2007, 11, 4, 2, 0),
    ]
    assert [part.decoded("DTSTART") for part in berlin.subcomponents] == [
        datetime.datetime(1996, 3, 31, 2, 0), datetime.datetime(1996, 10, 27, 3, 0),
    ]


def test_the_portal_accepts_a_counter_open_at_night_on_sundays(counters):
    """So the times of the hour of the change are ones the portal can produce."""
    for counter in counters:
        counter.full_clean()

"""Every feed reads the same instants in every widely used parser, for any day the portal can book
and years beyond: events in each month of 2026–2031 and on both sides of every change of the clock,
read by ical.js (Thunderbird's parser, through Node) and by dateutil's VTIMEZONE reader (which
uses the VTIMEZONE in the file, not its own zone database), compared with the IANA database
(zoneinfo). The zones beyond Berlin show both ways the VTIMEZONE is written (lending/vtimezone.py):
yearly rules, and one component per change where no yearly rule fits (Santiago, Casablanca)."""

import datetime
import io
import re
import zoneinfo

import icalendar
import pytest
from dateutil import tz as dateutil_tz

from lending.calendar import calendar_for_borrower, calendar_for_location
from lending.vtimezone import changes, vtimezone
from tests.lending.test_calendar import icaljs_read, reserve

UTC = datetime.UTC
YEARS = range(2026, 2032)
ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "Australia/Sydney", "America/Santiago",
         "Africa/Casablanca", "Asia/Tokyo"]


def dateutil_zones(ics):
    """The file's VTIMEZONEs as dateutil reads them. dateutil refuses properties it does not know,
    so the extension properties (X-…) are left out; nothing else is touched."""
    text = ics.decode() if isinstance(ics, bytes) else ics
    blocks = re.findall(r"BEGIN:VTIMEZONE\r?\n.*?END:VTIMEZONE\r?\n", text, re.S)
    assert blocks, "the calendar has no VTIMEZONE"
    source = "".join(line + "\n" for block in blocks for line in block.splitlines() if not line.startswith("X-"))
    return dateutil_tz.tzical(io.StringIO(source))


def test_each_zone_is_read_by_dateutil_as_zoneinfo_has_it_around_every_change_and_in_between():
    """A wall-clock time with the zone's TZID, as every event carries, gets zoneinfo's offset from
    the file's VTIMEZONE: every five hours of six years, and every ten minutes for two hours either
    side of each change. Left out: the hour a change skips or repeats, which no feed writes."""
    for name in ZONES:
        zone = zoneinfo.ZoneInfo(name)
        component = icalendar.Calendar()
        component.add_component(vtimezone(zone, first_year=YEARS[0], last_year=YEARS[-1]))
        read = dateutil_zones(component.to_ical()).get(name)
        walls = [datetime.datetime(YEARS[0], 1, 1) + datetime.timedelta(hours=5 * step)
                 for step in range((len(YEARS) * 366 * 24) // 5)]
        for change in changes(zone, YEARS[0], YEARS[-1]):
            walls += [change.onset + datetime.timedelta(minutes=10 * step) for step in range(-12, 13)]
        checked = 0
        for wall in walls:
            if wall.replace(tzinfo=zone).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset():
                continue  # skipped or repeated by a change
            assert wall.replace(tzinfo=read).utcoffset() == wall.replace(tzinfo=zone).utcoffset(), (name, wall)
            checked += 1
        assert checked > len(walls) * 0.9


def test_berlin_is_written_as_two_yearly_rules_outlook_reads():
    component = icalendar.Calendar()
    component.add_component(vtimezone(zoneinfo.ZoneInfo("Europe/Berlin"), first_year=2025, last_year=2030))
    text = component.to_ical().decode()
    assert "RDATE" not in text
    daylight = text[text.index("BEGIN:DAYLIGHT"):text.index("END:DAYLIGHT")]
    standard = text[text.index("BEGIN:STANDARD"):text.index("END:STANDARD")]
    for part, start, month, offsets in [(daylight, "19700329T020000", 3, ("+0100", "+0200")),
                                        (standard, "19701025T030000", 10, ("+0200", "+0100"))]:
        assert f"DTSTART:{start}\r\n" in part
        assert f"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH={month}\r\n" in part
        assert f"TZOFFSETFROM:{offsets[0]}\r\nTZOFFSETTO:{offsets[1]}\r\n" in part
    assert "X-LIC-LOCATION:Europe/Berlin\r\n" in text


def test_a_zone_without_a_yearly_rule_gets_one_component_per_change():
    zone = zoneinfo.ZoneInfo("America/Santiago")  # September's change: the first Sunday on or after the 2nd
    component = icalendar.Calendar()
    component.add_component(vtimezone(zone, first_year=2026, last_year=2027))
    text = component.to_ical().decode()
    assert "RRULE" not in text and "RDATE" not in text
    assert text.count("DTSTART:") == 1 + len(changes(zone, 2026, 2027))


def _days(zone):
    """The 15th of every month, and the days before and after each change of the clock."""
    days = {datetime.date(year, month, 15) for year in YEARS for month in range(1, 13)}
    for change in changes(zone, YEARS[0], YEARS[-1]):
        local = change.at.astimezone(zone).date()
        days |= {local - datetime.timedelta(days=1), local + datetime.timedelta(days=1)}
    return sorted(days)


@pytest.mark.parametrize("name", ["Europe/Berlin", "Australia/Sydney", "America/Santiago", "Africa/Casablanca"])
def test_every_parser_reads_the_iana_instants_of_every_event(settings, name, teacher_a, school_a, location, item_type,
                                                             clerk):
    settings.TIME_ZONE = name
    zone = zoneinfo.ZoneInfo(name)
    expected = {}
    for day in _days(zone):
        reservation = reserve(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                              pickup_day=day, return_day=day)
        slot = datetime.datetime.combine(day, reservation.pickup_slot, zone)
        expected[f"{reservation.code}-pickup"] = (slot, slot + datetime.timedelta(minutes=location.slot_minutes))
        expected[f"{reservation.code}-return"] = (datetime.datetime.combine(day, location.opens_at, zone),
                                                  datetime.datetime.combine(day, location.closes_at, zone))
    now = datetime.datetime(2026, 1, 1, tzinfo=UTC)

    for ics in (calendar_for_borrower(user=teacher_a, now=now), calendar_for_location(location=location, now=now)):
        wanted = {uid: tuple(moment.astimezone(UTC) for moment in pair) for uid, pair in expected.items()}
        by_icaljs = {event["uid"].split("@")[0]: (datetime.datetime.fromisoformat(event["start"]),
                                                  datetime.datetime.fromisoformat(event["end"]))
                     for event in icaljs_read(ics)["events"]}
        assert by_icaljs == wanted

        read = dateutil_zones(ics).get(name)
        by_dateutil = {}
        for event in icalendar.Calendar.from_ical(ics).walk("VEVENT"):
            assert event["DTSTART"].params["TZID"] == name
            # The wall-clock time as written, placed in the zone as dateutil reads it from the file.
            start, end = (event.decoded(key).replace(tzinfo=read).astimezone(UTC) for key in ("DTSTART", "DTEND"))
            by_dateutil[str(event["UID"]).split("@")[0]] = (start, end)
        assert by_dateutil == wanted

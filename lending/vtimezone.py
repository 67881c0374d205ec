"""The VTIMEZONE our calendars carry, written so that every widely used client reads it alike.

icalendar's `Timezone.from_tzinfo` lists each change of a range of years as RDATE values under one
DTSTART. RFC 5545 allows that, but clients do not agree on it: Outlook is known to misread RDATE
lists and to want one yearly rule each for standard and daylight time; libical and ical.js
(Thunderbird) fall back to an offset of zero for times before the first DTSTART; and a range of
years ends, while a subscribed feed is read for years. So the zone is written the way Google
Calendar, Outlook and Thunderbird's own zone files write it: a STANDARD and a DAYLIGHT rule with a
yearly RRULE (`BYMONTH` and `BYDAY=-1SU` or `2SU` …, the forms Outlook understands), starting in
1970, with X-LIC-LOCATION naming the IANA zone. The rule is derived from the IANA database
(zoneinfo) and used only after checking that it gives every change zoneinfo has from the first
year asked for to twenty years beyond the last; a zone whose changes follow no such rule (Morocco's
around Ramadan, say) gets one component per change instead, each with its own DTSTART.
"""

import calendar as month_calendar
import datetime
import functools
from dataclasses import dataclass

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

UTC = datetime.UTC
RULE_YEARS_AHEAD = 20  # a rule must hold this far beyond the last year asked for
RULE_FROM = 1970  # where the yearly rules start, as in the zones of Google Calendar and Thunderbird
_STEP = datetime.timedelta(hours=12)  # no zone changes its offset twice within 12 hours
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Change:
    """One change of a zone's offset: when (UTC), from and to which offset, the name after it,
    and whether the time after it is daylight saving time."""

    at: datetime.datetime
    offset_from: datetime.timedelta
    offset_to: datetime.timedelta
    name: str
    daylight: bool

    @property
    def onset(self):
        """The local time at which the change happens, in the offset before it (RFC 5545's DTSTART)."""
        return (self.at + self.offset_from).replace(tzinfo=None)


def vtimezone(zone, *, first_year, last_year):
    """The VTIMEZONE of `zone` (a zoneinfo.ZoneInfo) as an icalendar component, right for every
    time from the start of `first_year` to at least the end of `last_year`. The same object for
    the same arguments (built once per process): add it to a calendar, do not change it."""
    return _vtimezone(zone, first_year, last_year)


@functools.lru_cache(maxsize=64)
def _vtimezone(zone, first_year, last_year):
    component = Timezone()
    component.add("tzid", zone.key)
    component.add("x-lic-location", zone.key)
    checked = changes(zone, first_year, last_year + RULE_YEARS_AHEAD)
    rules = yearly_rules(checked, first_year, last_year + RULE_YEARS_AHEAD)
    if rules is not None:
        for change, rrule in rules:
            component.add_component(_observance(change, _first_onset(rrule, change.onset.time()), rrule))
        return component
    # No yearly rule: what holds at the start, then each change of the years asked for.
    start = datetime.datetime(first_year, 1, 1, tzinfo=UTC).astimezone(zone)
    offset = start.utcoffset()
    component.add_component(_observance(
        Change(at=datetime.datetime(RULE_FROM, 1, 1, tzinfo=UTC) - offset, offset_from=offset, offset_to=offset,
               name=start.tzname(), daylight=start.dst() > datetime.timedelta(0)),
        datetime.datetime(RULE_FROM, 1, 1), None,
    ))
    for change in changes(zone, first_year, last_year):
        component.add_component(_observance(change, change.onset, None))
    return component


def changes(zone, first_year, last_year):
    """Every change of the zone's UTC offset from the start of `first_year` to the end of
    `last_year`, found by stepping through the years and narrowing each step down to the second."""
    return _changes(zone, first_year, last_year)


@functools.lru_cache(maxsize=64)
def _changes(zone, first_year, last_year):
    found = []
    moment = datetime.datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime.datetime(last_year + 1, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        following = moment + _STEP
        following_offset = following.astimezone(zone).utcoffset()
        if following_offset != offset:
            low, high = moment, following
            while high - low > datetime.timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            local = high.astimezone(zone)
            # Daylight only for a positive DST: Morocco's months at +00 are a "negative DST" in
            # the IANA data, which clients read as a STANDARD observance (a repeated hour).
            found.append(Change(at=high.replace(microsecond=0), offset_from=offset, offset_to=following_offset,
                                name=local.tzname(), daylight=local.dst() > datetime.timedelta(0)))
        moment, offset = following, following_offset
    return tuple(found)


def yearly_rules(found, first_year, last_year):
    """[(a change, its RRULE)] for the zone's two yearly changes, or None if the changes of those
    years do not follow two yearly rules of the form "the n-th (or last) weekday of a month at a
    local time"; also None for a zone without changes."""
    if not found:
        return None
    kinds = {}
    for change in found:
        kinds.setdefault((change.offset_from, change.offset_to), []).append(change)
    if len(kinds) != 2 or any(len(each) != last_year - first_year + 1 for each in kinds.values()):
        return None
    rules = []
    for each in kinds.values():
        if {change.at.year for change in each} != set(range(first_year, last_year + 1)) \
                or len({(change.name, change.daylight) for change in each}) != 1:
            return None
        rule = _rule_of(each)
        if rule is None:
            return None
        rules.append((each[-1], rule))
    # DAYLIGHT first, as Google Calendar and RFC 5545's examples write them.
    return sorted(rules, key=lambda pair: not pair[0].daylight)


def _rule_of(each):
    onsets = [change.onset for change in each]
    month, weekday, time = onsets[0].month, onsets[0].weekday(), onsets[0].time()
    if any((onset.month, onset.weekday(), onset.time()) != (month, weekday, time) for onset in onsets):
        return None
    if all(onset.day + 7 > month_calendar.monthrange(onset.year, month)[1] for onset in onsets):
        which = -1
    else:
        which = (onsets[0].day - 1) // 7 + 1
        if any((onset.day - 1) // 7 + 1 != which for onset in onsets):
            return None
    return {"freq": "yearly", "bymonth": month, "byday": f"{which}{_WEEKDAYS[weekday]}"}


def _first_onset(rrule, time):
    """The rule's first day in RULE_FROM, at the change's local time."""
    month, which, weekday = rrule["bymonth"], int(rrule["byday"][:-2]), _WEEKDAYS.index(rrule["byday"][-2:])
    days = [day for day in range(1, month_calendar.monthrange(RULE_FROM, month)[1] + 1)
            if datetime.date(RULE_FROM, month, day).weekday() == weekday]
    return datetime.datetime.combine(datetime.date(RULE_FROM, month, days[which if which < 0 else which - 1]), time)


def _observance(change, start, rrule):
    observance = TimezoneDaylight() if change.daylight else TimezoneStandard()
    observance.add("dtstart", start)
    if rrule is not None:
        observance.add("rrule", rrule)
    observance.add("tzoffsetfrom", change.offset_from)
    observance.add("tzoffsetto", change.offset_to)
    observance.add("tzname", change.name)
    return observance

"""The VTIMEZONE of a feed, derived from the IANA time zone database (zoneinfo), in the form every
widely used calendar program reads.

What the programs need (README, "Calendar subscription"; details in docs/architecture.md):

- Outlook (desktop, Exchange) turns a VTIMEZONE into one yearly rule for the start and one for
  the end of daylight saving time. It reads only TZID, DTSTART, RRULE, TZOFFSETFROM and
  TZOFFSETTO; the RRULE must be FREQ=YEARLY with BYMONTH and one BYDAY occurrence (`-1SU`, `2SU`);
  of several DAYLIGHT components it takes the one with the latest DTSTART (or the first, or
  refuses the file) [MS-OXCICAL 2.1.3.1.1.19, MS-STANOICAL 2.2.47].
- ical.js (Thunderbird's calendar library, also Nextcloud's) reads only the first value of each
  RDATE property, and ignores DTSTART as an onset once a component has an RDATE: icalendar's
  `Timezone.from_tzinfo` (one DTSTART plus a comma-separated RDATE list per observance) came out
  an hour wrong there from the second summer of a feed on.
- Google Calendar and Apple Calendar resolve an IANA TZID (`Europe/Berlin`) themselves and write
  RRULE-based VTIMEZONEs with X-LIC-LOCATION, as Mozilla and libical do. DTSTART inside the
  VTIMEZONE must be a plain local time (no TZID, no `Z`).

So a zone with a yearly rule gets exactly one DAYLIGHT and one STANDARD component, each with a
DTSTART (the local time before the change, as RFC 5545 3.6.5 asks) and an RRULE; a zone without
daylight saving time one STANDARD component. The rule is not assumed but derived from the zone's
actual changes and checked against every change from the first year a feed needs through
`RULE_YEARS_BEYOND` years after its last; DTSTART goes back to the first year since 1970 from which
the rule has held without a break (1996 for Europe/Berlin). A zone whose changes no yearly rule of
that form predicts (Morocco's Ramadan, a rule change inside the feed's years) gets one component
per change instead, each with its own DTSTART and neither RRULE nor RDATE: every reader gets those
right except Outlook, which cannot express such a zone anyway.
"""

import dataclasses
import datetime
import functools
import zoneinfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# How many years after the last one a feed needs the rule is checked for (and so holds for at
# least): calendar programs keep a feed's VTIMEZONE, and a booking may be moved later.
RULE_YEARS_BEYOND = 10
# No reader looks further back than this; zoneinfo's history before it is of no use to a feed.
EARLIEST_YEAR = 1970

UTC = datetime.UTC
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# zoneinfo offers no list of a zone's changes, only the offset at any instant: the changes are
# found by looking once a day and narrowing each difference down to the second. Two changes within
# one day that cancel out would be missed; the database has none since 1970.
_PROBE_STEP = 86400


@dataclasses.dataclass(frozen=True)
class Transition:
    """One change of a zone's offset or abbreviation."""

    at: datetime.datetime  # the instant, in UTC
    offset_from: datetime.timedelta
    offset_to: datetime.timedelta
    name: str  # the abbreviation from then on (TZNAME)
    daylight: bool

    @property
    def wall(self):
        """The local time of the change on the clock before it (DTSTART in RFC 5545 3.6.5)."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    @property
    def kind(self):
        return self.offset_from, self.offset_to, self.name


@dataclasses.dataclass(frozen=True)
class Observance:
    """One STANDARD or DAYLIGHT component."""

    daylight: bool
    start: datetime.datetime  # local time, on the clock before the change
    offset_from: datetime.timedelta
    offset_to: datetime.timedelta
    name: str
    month: int | None = None  # with `byday`: the yearly rule (RRULE)
    byday: str | None = None

    def onset(self, year):
        """The rule's change in `year` as a UTC instant."""
        day = _nth_weekday(year, self.month, self.byday)
        wall = datetime.datetime.combine(day, self.start.time())
        return (wall - self.offset_from).replace(tzinfo=UTC)


def vtimezone(zone, *, first_year, last_year):
    """The VTIMEZONE component for `zone` (a zoneinfo.ZoneInfo) that gives every local time from
    the zone's first change in `first_year` through the end of `last_year` the offset zoneinfo
    gives it, in every reader named in the module docstring (so `first_year` is best a year before
    the first time it is for). A new component each call; the work is cached."""
    component = Timezone()
    component.add("tzid", zone.key)
    component.add("x-lic-location", zone.key)
    for observance in observances(zone.key, first_year=first_year, last_year=last_year):
        part = TimezoneDaylight() if observance.daylight else TimezoneStandard()
        part.add("dtstart", observance.start)
        if observance.byday:
            part.add("rrule", {"FREQ": "YEARLY", "BYMONTH": observance.month, "BYDAY": observance.byday})
        part.add("tzname", observance.name)
        part.add("tzoffsetfrom", observance.offset_from)
        part.add("tzoffsetto", observance.offset_to)
        component.add_component(part)
    return component


@functools.lru_cache(maxsize=64)
def observances(key, *, first_year, last_year):
    """The components of `vtimezone` as a tuple of Observance: a yearly rule if one predicts every
    change from `first_year` through `last_year + RULE_YEARS_BEYOND`, else one per change."""
    zone = zoneinfo.ZoneInfo(key)
    until = last_year + RULE_YEARS_BEYOND
    earliest = min(EARLIEST_YEAR, first_year)
    changes = zone_transitions(zone, first_year=earliest, last_year=until)
    by_year = {}
    for change in changes:
        by_year.setdefault(change.wall.year, []).append(change)
    checked = [change for change in changes if change.wall.year >= first_year]

    if not checked:
        return (_unchanging(zone, [change for change in changes if change.wall.year < first_year], earliest),)
    rules = _yearly_rules(checked, first_year=first_year, last_year=until)
    if rules is None:
        return _one_per_change(zone, checked, first_year=first_year)
    # Back to the first year from which the rule has held every year (from 1970 at the earliest).
    since = first_year
    while since > earliest and _predicted(rules, since - 1) == _actual(by_year.get(since - 1, [])):
        since -= 1
    return tuple(
        dataclasses.replace(rule, start=(rule.onset(since) + rule.offset_from).replace(tzinfo=None)) for rule in rules
    )


def zone_transitions(zone, *, first_year, last_year):
    """Every change of `zone`'s offset or abbreviation whose local time falls in the years
    `first_year` to `last_year`, in order, from zoneinfo."""
    start = int(datetime.datetime(first_year - 1, 12, 30, tzinfo=UTC).timestamp())
    end = int(datetime.datetime(last_year + 1, 1, 3, tzinfo=UTC).timestamp())

    def state(timestamp):
        local = datetime.datetime.fromtimestamp(timestamp, zone)
        return local.utcoffset(), local.tzname(), bool(local.dst())

    changes = []
    before = state(start)
    for probe in range(start + _PROBE_STEP, end + _PROBE_STEP, _PROBE_STEP):
        after = state(probe)
        if after == before:
            continue
        low, high = probe - _PROBE_STEP, probe  # state(low) == before, state(high) == after
        while high - low > 1:
            middle = (low + high) // 2
            if state(middle) == before:
                low = middle
            else:
                high = middle
        change = Transition(
            at=datetime.datetime.fromtimestamp(high, UTC), offset_from=before[0], offset_to=after[0],
            name=after[1], daylight=after[2],
        )
        if first_year <= change.wall.year <= last_year:
            changes.append(change)
        before = after
    return changes


def _yearly_rules(changes, *, first_year, last_year):
    """Two Observances with RRULEs that predict exactly `changes` (one of each kind every year from
    `first_year` to `last_year`), or None."""
    kinds = {}
    for change in changes:
        kinds.setdefault(change.kind, []).append(change)
    if len(kinds) != 2:
        return None
    rules = []
    for kind, of_kind in kinds.items():
        first = of_kind[0].wall
        if any((change.wall.month, change.wall.time()) != (first.month, first.time()) for change in of_kind):
            return None
        bydays = set.intersection(*(_bydays(change.wall.date()) for change in of_kind))
        if not bydays:
            return None
        offset_from, offset_to, name = kind
        rules.append(Observance(
            daylight=False, start=first, offset_from=offset_from, offset_to=offset_to, name=name,
            month=first.month, byday=min(bydays, key=lambda byday: (byday.startswith("-"), byday)),
        ))
    # DAYLIGHT is the half of the year with the larger offset, as Outlook and the others write it
    # (also for Europe/Dublin, where the database calls the winter's GMT the daylight saving time).
    standard, daylight = sorted(rules, key=lambda rule: rule.offset_to)
    if standard.offset_to != daylight.offset_from or daylight.offset_to != standard.offset_from:
        return None
    rules = (dataclasses.replace(daylight, daylight=True), standard)
    by_year = {}
    for change in changes:
        by_year.setdefault(change.wall.year, []).append(change)
    for year in range(first_year, last_year + 1):
        if _predicted(rules, year) != _actual(by_year.get(year, [])):
            return None
    return rules


def _predicted(rules, year):
    return sorted((rule.onset(year), rule.offset_from, rule.offset_to, rule.name) for rule in rules)


def _actual(changes):
    return sorted((change.at, *change.kind) for change in changes)


def _one_per_change(zone, changes, *, first_year):
    """One component for the offset in force on 1 January of `first_year`, then one per change."""
    start = datetime.datetime(first_year, 1, 1)
    local = start.replace(tzinfo=zone)
    offset = local.utcoffset()
    observances = [Observance(
        daylight=bool(local.dst()), start=start, offset_from=offset, offset_to=offset, name=local.tzname(),
    )]
    for change in changes:
        observances.append(Observance(
            daylight=change.daylight, start=change.wall, offset_from=change.offset_from,
            offset_to=change.offset_to, name=change.name,
        ))
    return tuple(observances)


def _unchanging(zone, earlier_changes, earliest):
    """The one STANDARD component of a zone without changes in the feed's years: since its last
    change, or since 1970."""
    if earlier_changes:
        last = earlier_changes[-1]
        return Observance(daylight=False, start=last.wall, offset_from=last.offset_from,
                          offset_to=last.offset_to, name=last.name)
    local = datetime.datetime(earliest, 1, 1, tzinfo=zone)
    return Observance(daylight=False, start=local.replace(tzinfo=None), offset_from=local.utcoffset(),
                      offset_to=local.utcoffset(), name=local.tzname())


def _bydays(day):
    """The BYDAY values that name `day` within its month: `2SU` (the second Sunday), `-1SU` (the
    last)."""
    weekday = _WEEKDAYS[day.weekday()]
    names = set()
    number = (day.day - 1) // 7 + 1
    if number <= 4:
        names.add(f"{number}{weekday}")
    if (day + datetime.timedelta(days=7)).month != day.month:
        names.add(f"-1{weekday}")
    return names


def _nth_weekday(year, month, byday):
    number, weekday = int(byday[:-2]), _WEEKDAYS.index(byday[-2:])
    if number > 0:
        first = datetime.date(year, month, 1)
        return first + datetime.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (number - 1))
    last = (datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1))
    return last - datetime.timedelta(days=(last.weekday() - weekday) % 7)

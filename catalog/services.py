"""Writes of the catalogue: closures from the public and school holidays of a German state."""

import datetime
import logging
from dataclasses import dataclass

import holidays
from django.db import transaction

from catalog.exceptions import CatalogError
from catalog.models import Closure, Location
from catalog.versions import catalogue_changed

logger = logging.getLogger(__name__)

ONE_DAY = datetime.timedelta(days=1)
IMPORTED_SOURCES = (Closure.Source.PUBLIC_HOLIDAY, Closure.Source.SCHOOL_HOLIDAY)
# Holiday names are data shown to teachers of a German media centre, so they are stored in German
# whatever language the command runs in.
HOLIDAY_LANGUAGE = "de"


@dataclass(frozen=True)
class HolidayImport:
    """What `closures_import_holidays` did for one location and year."""

    location: Location
    year: int
    state: str
    created: int
    removed: int
    unchanged: int
    school_holidays_known: bool


def holiday_states():
    """The two-letter codes of the German states the `holidays` package knows."""
    return sorted(code for code in holidays.Germany.subdivisions if len(code) == 2 and code.isupper())


def holiday_years():
    """The first and last year the `holidays` package computes German holidays for."""
    return getattr(holidays.Germany, "start_year", 1991), getattr(holidays.Germany, "end_year", 2100)


def _check_state_and_year(*, state, year):
    normalised = (state or "").strip().upper()
    if normalised not in holiday_states():
        raise CatalogError("unknown_state", state=state or "''", choices=", ".join(holiday_states()))
    first, last = holiday_years()
    if not isinstance(year, int) or not first <= year <= last:
        raise CatalogError("year_out_of_range", first=first, last=last)
    return normalised


def _school_holidays_supported():
    return hasattr(holidays, "SCHOOL") and holidays.SCHOOL in getattr(holidays.Germany, "supported_categories", ())


def _date_ranges(calendar):
    """{(first_day, last_day, name)} with consecutive days of the same name joined into one range.

    A day may carry several names (the package joins them with "; "); each gets its own range, so
    Christmas holidays that contain a public holiday stay one range.
    """
    runs = {}  # name -> [first_day, last_day] of the run being built
    ranges = set()
    for day in sorted(calendar):
        for name in calendar.get_list(day):
            run = runs.get(name)
            if run is not None and run[1] + ONE_DAY == day:
                run[1] = day
                continue
            if run is not None:
                ranges.add((run[0], run[1], name))
            runs[name] = [day, day]
    ranges.update((first, last, name) for name, (first, last) in runs.items())
    return ranges


def holiday_closures(*, year, state):
    """{(first_day, last_day, reason): source} for the public and school holidays of a state.

    Raises CatalogError: unknown_state, year_out_of_range. The second value says whether the
    `holidays` package knows any school holidays of that state and year (it covers only a few
    years ahead, as the states publish them).
    """
    state = _check_state_and_year(state=state, year=year)
    closures = {}
    public = holidays.Germany(subdiv=state, years=year, language=HOLIDAY_LANGUAGE)
    for first, last, name in _date_ranges(public):
        closures[(first, last, name[:200])] = Closure.Source.PUBLIC_HOLIDAY
    school_holidays_known = False
    if _school_holidays_supported():
        school = holidays.Germany(
            subdiv=state, years=year, categories=(holidays.SCHOOL,), language=HOLIDAY_LANGUAGE
        )
        school_holidays_known = len(school) > 0
        for first, last, name in _date_ranges(school):
            closures.setdefault((first, last, name[:200]), Closure.Source.SCHOOL_HOLIDAY)
    return closures, school_holidays_known


def closures_import_holidays(*, location, year, state=None):
    """Make the imported closures of `location` in `year` match the holidays of a German state.

    Arguments:
        location: the counter whose closures are filled.
        year: the calendar year, e.g. 2027.
        state: two-letter state code (NW, BY, …); defaults to the location's `holiday_state`.

    Public holidays become one closure per day, school holidays one closure per holiday range.
    Running it again creates nothing twice; closures it imported earlier for that year which the
    `holidays` package no longer lists (moved holidays, another state) are removed. Closures
    entered by staff are never touched.

    Raises CatalogError: unknown_state, year_out_of_range. Nothing is written when it raises.
    """
    state = _check_state_and_year(state=location.holiday_state if state is None else state, year=year)
    wanted, school_holidays_known = holiday_closures(year=year, state=state)
    with transaction.atomic():
        # Two imports for the same location queue here instead of racing on the unique constraint.
        Location.objects.select_for_update().filter(pk=location.pk).first()
        existing = {
            (closure.first_day, closure.last_day, closure.reason): closure
            for closure in Closure.objects.filter(location=location, first_day__year=year)
        }
        stale = [
            closure.pk for key, closure in existing.items()
            if closure.source in IMPORTED_SOURCES and key not in wanted
        ]
        Closure.objects.filter(pk__in=stale).delete()
        missing = [
            Closure(location=location, first_day=first, last_day=last, reason=reason, source=source)
            for (first, last, reason), source in sorted(wanted.items())
            if (first, last, reason) not in existing
        ]
        Closure.objects.bulk_create(missing)
        catalogue_changed(location_ids=[location.pk])
    logger.info(
        "holidays %s %s imported for location %s: %d created, %d removed",
        state, year, location.slug, len(missing), len(stale),
    )
    return HolidayImport(
        location=location, year=year, state=state, created=len(missing), removed=len(stale),
        unchanged=len(wanted) - len(missing), school_holidays_known=school_holidays_known,
    )

"""The annual report's figures (lending/figures.py, issue 14) against counts written here.

The property test writes a random dataset of two winters (November 2025 to February 2026) straight
through the ORM, as the booking services refuse past days, and recounts every figure of every table
in plain Python over the generated records: never through the module's helpers. The edge tests pin
down what the module's docstring promises in words: a loan over the new year, a booking moved after
it was counted, a school that changed its type, a purged borrower, a refused request, the teacher
reference, and a fixed number of queries.

Each property example builds its rows inside a savepoint and rolls it back.
"""

import datetime
import random
import statistics as pystatistics
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from accounts.models import Qualification, QualificationGrant, QualificationTraining, SchoolType, User
from accounts.qualifications import qualification_grant, qualification_revoke
from accounts.services import personal_data_purge
from catalog.models import ItemType, Location, Unit, UnitStatus
from lending.exceptions import BookingError
from lending.figures import TABLE_KEYS, Period, statistics_report
from lending.models import (
    Handover,
    RefusedRequest,
    Reservation,
    ReservationEvent,
    ReservationLine,
    ReservationStatus,
    TeacherReach,
    TeacherYear,
    UnitEvent,
    WaitlistEntry,
)
from lending.services import reservation_create
from tests import factories

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
ONE_DAY = datetime.timedelta(days=1)
SLOT = datetime.time(9, 0)

S = ReservationStatus
LOANS = (S.HANDED_OUT, S.RETURNED)
BOOKED = (S.CONFIRMED, S.HANDED_OUT, S.RETURNED)

# Without shrinking: every example writes a dataset, and shrinking one that fails takes minutes.
# The failure names the table, the period and the counters; the edge tests below hold minimal cases.
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The random data: pickup days from 1 November 2025 through 28 February 2026.
DATA_START = datetime.date(2025, 11, 1)
DATA_DAYS = 120
TODAYS = (datetime.date(2026, 1, 20), datetime.date(2026, 3, 15))
# Times of day on both sides of midnight in UTC: 00:30 in Berlin is still the day before in UTC.
HOURS = (datetime.time(0, 30), datetime.time(10, 0), datetime.time(23, 30))
LOCATION_NAMES = ("Medienzentrum Nord", "medienzentrum Ost")
CATEGORY_NAMES = ("Tablets", "robotik")
QUALIFICATION_NAMES = ("Drohnen-Führerschein", "laser-Einweisung")
ITEM_NAMES = ("Beamer", "iPad-Koffer", "kamera-Set", "Lego-Roboter", "VR-Brille", "drohne")
SCHOOL_NAMES = ("Gymnasium am Park", "grundschule Nord", "Realschule Süd", "Gesamtschule Ost", "anne-Frank-Schule")
SCHOOL_TYPES = (SchoolType.GRUNDSCHULE, SchoolType.REALSCHULE, SchoolType.GYMNASIUM, SchoolType.GESAMTSCHULE)
# Units retired long before any period, or in the middle of the data.
RETIRED_BEFORE = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=BERLIN)
RETIRED_DURING = datetime.datetime(2026, 1, 15, 12, 0, tzinfo=BERLIN)


def at(day, time=datetime.time(10, 0)):
    return datetime.datetime.combine(day, time, tzinfo=BERLIN)


# Independent arithmetic ------------------------------------------------------------------------


def percent(part, whole):
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def percent_change(now, before):
    if not before:
        return None
    return ((Decimal(now) - Decimal(before)) * 100 / Decimal(before)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def month_starts(first_day, last_day):
    months, year, month = [], first_day.year, first_day.month
    while datetime.date(year, month, 1) <= last_day:
        months.append(datetime.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def each_day(first_day, last_day):
    day = first_day
    while day <= last_day:
        yield day
        day += ONE_DAY


def a_year_earlier(day):
    if (day.month, day.day) == (2, 29):
        return datetime.date(day.year - 1, 2, 28)
    return datetime.date(day.year - 1, day.month, day.day)


# The random dataset: a plain description first, then the rows -------------------------------------


class HypothesisPick:
    """Choices drawn by hypothesis (printed with a failing example)."""

    def __init__(self, data):
        self.data = data

    def integer(self, low, high):
        return self.data.draw(st.integers(min_value=low, max_value=high))

    def choice(self, values):
        return self.data.draw(st.sampled_from(list(values)))

    def boolean(self):
        return self.data.draw(st.booleans())

    def shuffled(self, values):
        return self.data.draw(st.permutations(list(values)))


class RandomPick:
    """The same choices from a seeded generator, for tests that need a dataset of a given size."""

    def __init__(self, seed):
        self.random = random.Random(seed)

    def integer(self, low, high):
        return self.random.randint(low, high)

    def choice(self, values):
        return self.random.choice(list(values))

    def boolean(self):
        return self.random.random() < 0.5

    def shuffled(self, values):
        values = list(values)
        self.random.shuffle(values)
        return values


def describe_dataset(pick, *, item_types=(2, 4), schools=(3, 5), teachers=(2, 4), reservations=(2, 18),
                     refused=(0, 4), waiting=(0, 4)):
    """A random dataset as plain values (indices into its own lists, dates, statuses)."""
    today = pick.choice(TODAYS)
    spec = {"today": today, "category_positions": [pick.integer(0, 1) for _ in CATEGORY_NAMES]}
    names = pick.shuffled(ITEM_NAMES)
    spec["item_types"] = [
        {
            "name": names[index % len(names)] + ("" if index < len(names) else f" {index}"),
            # Both counters have at least one item type.
            "location": index % 2 if index < 2 else pick.integer(0, 1),
            "category": pick.integer(0, 1),
            "qualification": pick.choice([None, None, 0, 1]),
            "units": [pick.choice([None, None, None, RETIRED_BEFORE, RETIRED_DURING])
                      for _ in range(pick.integer(1, 4))],
        }
        for index in range(pick.integer(*item_types))
    ]
    spec["schools"] = []
    for index in range(pick.integer(*schools)):
        booked_as = pick.choice(SCHOOL_TYPES)
        changed = pick.choice([None, None, *SCHOOL_TYPES])
        spec["schools"].append({
            "name": SCHOOL_NAMES[index % len(SCHOOL_NAMES)] + ("" if index < len(SCHOOL_NAMES) else f" {index}"),
            "type_booked": booked_as,
            # The school's type today; bookings with a pickup day before the change keep the old one.
            "type_today": changed or booked_as,
            "changed_on": DATA_START + datetime.timedelta(days=pick.integer(0, DATA_DAYS)) if changed else None,
            "active": pick.integer(0, 3) > 0,
        })
    spec["teachers"] = [pick.integer(0, len(spec["schools"]) - 1) for _ in range(pick.integer(*teachers))]

    def type_at_booking(school, pickup_day):
        if school["changed_on"] is not None and pickup_day >= school["changed_on"]:
            return school["type_today"]
        return school["type_booked"]

    open_units = set()
    spec["reservations"] = []
    for _ in range(pick.integer(*reservations)):
        location = pick.integer(0, 1)
        here = [index for index, item in enumerate(spec["item_types"]) if item["location"] == location]
        chosen = pick.shuffled(here)[:pick.integer(1, min(2, len(here)))]
        lines = {index: pick.integer(1, 3) for index in chosen}
        pickup_day = DATA_START + datetime.timedelta(days=pick.integer(0, DATA_DAYS - 1))
        return_day = pickup_day + datetime.timedelta(days=pick.integer(0, 20))
        status = pick.choice(list(S))
        if pickup_day > today and status in (S.HANDED_OUT, S.RETURNED, S.NO_SHOW):
            status = S.CONFIRMED  # nothing after today has happened yet
        teacher = pick.choice([*range(len(spec["teachers"])), None])
        school = spec["teachers"][teacher] if teacher is not None else pick.integer(0, len(spec["schools"]) - 1)
        handovers = []
        if status in LOANS:
            for item, quantity in lines.items():
                units = pick.shuffled(range(len(spec["item_types"][item]["units"])))
                for unit in units[:pick.integer(1, min(quantity, len(units)))]:
                    # Most units go out on the pickup day, some are scanned in a day or two later.
                    out_day = min(pickup_day + datetime.timedelta(days=pick.choice([0, 0, 0, 1, 2])), return_day, today)
                    out = at(out_day, pick.choice(HOURS))
                    still_out = status == S.HANDED_OUT and pick.boolean() and (item, unit) not in open_units
                    back = None
                    if still_out:
                        open_units.add((item, unit))
                    else:
                        back_day = min(max(return_day + datetime.timedelta(days=pick.integer(-3, 4)), pickup_day),
                                       today)
                        back = max(at(back_day, pick.choice(HOURS)), out + datetime.timedelta(minutes=10))
                    handovers.append({"item": item, "unit": unit, "out": out, "back": back})
        cancelled_at = None
        if status == S.CANCELLED:
            day = min(pickup_day - datetime.timedelta(days=pick.integer(-2, 40)), today)
            cancelled_at = at(day, pick.choice(HOURS))
        spec["reservations"].append({
            "location": location, "lines": lines, "pickup": pickup_day, "return": return_day, "status": status,
            "teacher": teacher, "school": school, "school_type": type_at_booking(spec["schools"][school], pickup_day),
            "handovers": handovers,
            # A confirmed booking can be extended too (reservation_extend), and then be cancelled or
            # not picked up.
            "extensions": pick.choice([0, 0, 1, 2]), "cancelled_at": cancelled_at,
        })

    def demand(count):
        rows = []
        for _ in range(count):
            item = pick.integer(0, len(spec["item_types"]) - 1)
            pickup_day = DATA_START + datetime.timedelta(days=pick.integer(-20, DATA_DAYS + 20))
            rows.append({"item": item, "quantity": pick.integer(1, 4), "pickup": pickup_day,
                         "return": pickup_day + datetime.timedelta(days=pick.integer(0, 7)),
                         "school_type": pick.choice(SCHOOL_TYPES),
                         "teacher": pick.integer(0, len(spec["teachers"]) - 1),
                         "status": pick.choice(list(WaitlistEntry.Status))})
        return rows

    spec["refused"] = demand(pick.integer(*refused))
    spec["waiting"] = demand(pick.integer(*waiting))
    spec["grants"] = [
        (teacher, qualification, datetime.date(2025, 1, 1) + datetime.timedelta(days=pick.integer(0, 729)))
        for teacher in range(len(spec["teachers"])) for qualification in range(len(QUALIFICATION_NAMES))
        if pick.integer(0, 2) == 0
    ]
    return spec


def write_dataset(spec):
    """The rows of `spec`, written through the ORM. Returns {kind: [model instances]}."""
    locations = [factories.make_location(name=name) for name in LOCATION_NAMES]
    categories = [factories.make_category(name=name, position=position)
                  for name, position in zip(CATEGORY_NAMES, spec["category_positions"])]
    qualifications = [factories.make_qualification(name=name) for name in QUALIFICATION_NAMES]
    item_types, units = [], []
    for item in spec["item_types"]:
        item_type = factories.make_item_type(
            location=locations[item["location"]], category=categories[item["category"]], name=item["name"], units=0,
            required_qualification=None if item["qualification"] is None else qualifications[item["qualification"]],
        )
        item_types.append(item_type)
        its_units = []
        for retired_at in item["units"]:
            unit = factories.make_unit(item_type=item_type)
            if retired_at is not None:
                UnitEvent.objects.create(unit=unit, at=retired_at, action=UnitEvent.Action.STATUS_CHANGED,
                                         data={"from": UnitStatus.AVAILABLE.value, "to": UnitStatus.RETIRED.value})
                Unit.objects.filter(pk=unit.pk).update(status=UnitStatus.RETIRED)
            its_units.append(unit)
        units.append(its_units)
    schools = [factories.make_school(name=school["name"], school_type=school["type_booked"], active=school["active"])
               for school in spec["schools"]]
    teachers = [factories.make_user(schools=[schools[school]]) for school in spec["teachers"]]
    reservations = []
    for booking in spec["reservations"]:
        reservation = Reservation(
            location=locations[booking["location"]], school=schools[booking["school"]],
            borrower=None if booking["teacher"] is None else teachers[booking["teacher"]],
            pickup_day=booking["pickup"], pickup_slot=SLOT, return_day=booking["return"], status=booking["status"],
            # The type the school had when it was booked (save() records the school's type only
            # when none is given; the schools change their type below).
            school_type=booking["school_type"],
        )
        reservation.save()
        reservations.append(reservation)
        ReservationLine.objects.bulk_create(
            ReservationLine(reservation=reservation, item_type=item_types[item], quantity=quantity)
            for item, quantity in booking["lines"].items())
        for handover in booking["handovers"]:
            back = handover["back"]
            Handover.objects.create(
                reservation=reservation, unit=units[handover["item"]][handover["unit"]], handed_out_at=handover["out"],
                returned_at=back, return_condition=Handover.Condition.COMPLETE if back else "",
                # As the take-back does for a pickup: late when back after the return day.
                returned_late=back is not None and back.astimezone(BERLIN).date() > booking["return"],
            )
        events = [ReservationEvent(reservation=reservation, action=ReservationEvent.Action.EXTENDED)
                  for _ in range(booking["extensions"])]
        if booking["cancelled_at"] is not None:
            events.append(ReservationEvent(reservation=reservation, action=ReservationEvent.Action.CANCELLED))
        for event in ReservationEvent.objects.bulk_create(events):
            # `at` is set on creation; the log says when it happened.
            when = booking["cancelled_at"] if event.action == ReservationEvent.Action.CANCELLED \
                else at(booking["pickup"] - ONE_DAY)
            ReservationEvent.objects.filter(pk=event.pk).update(at=when)
    for school, described in zip(schools, spec["schools"]):
        if described["type_today"] != described["type_booked"]:
            school.school_type = described["type_today"]
            school.save()
    RefusedRequest.objects.bulk_create(
        RefusedRequest(location=item_types[row["item"]].location, item_type=item_types[row["item"]],
                       quantity=row["quantity"], pickup_day=row["pickup"], return_day=row["return"],
                       school_type=row["school_type"])
        for row in spec["refused"])
    WaitlistEntry.objects.bulk_create(
        WaitlistEntry(borrower=teachers[row["teacher"]], school=schools[spec["teachers"][row["teacher"]]],
                      location=item_types[row["item"]].location, item_type=item_types[row["item"]],
                      quantity=row["quantity"], pickup_day=row["pickup"], pickup_slot=SLOT, return_day=row["return"],
                      status=row["status"], rank=rank, offer_expires_at=at(row["pickup"]))
        for rank, row in enumerate(spec["waiting"]))
    for teacher, qualification, day in spec["grants"]:
        # save() records the training the statistics count.
        QualificationGrant(user=teachers[teacher], qualification=qualifications[qualification], granted_on=day).save()
    return {"locations": locations, "item_types": item_types, "schools": schools, "reservations": reservations}


# The brute force ---------------------------------------------------------------------------------


def expected_report(spec, rows, period, locations):
    """Every table of the report for `period` at `locations` (counter indices, None: all),
    counted booking by booking, hand-over by hand-over, day by day over `spec`."""
    today = spec["today"]
    items, schools = spec["item_types"], spec["schools"]
    at_counters = (lambda location: True) if locations is None else (lambda location: location in locations)

    def in_period(booking, first_day, last_day):
        return first_day <= booking["pickup"] <= last_day and at_counters(booking["location"])

    def lending(bookings):
        """Bookings, loans, units lent, loan days of some bookings."""
        handovers = [(booking, handover) for booking in bookings for handover in booking["handovers"]]
        return {
            "bookings": sum(booking["status"] != S.CANCELLED for booking in bookings),
            "loans": sum(booking["status"] in LOANS for booking in bookings),
            "units_lent": len(handovers),
            "loan_days": sum((booking["return"] - booking["pickup"]).days + 1 for booking, _handover in handovers),
        }

    def teachers(first_day, last_day, school_type=None):
        # Once per teacher and calendar year of the pickup day, over the whole years the days
        # touch; bookings without a person not at all.
        return len({(booking["teacher"], booking["pickup"].year) for booking in spec["reservations"]
                    if first_day.year <= booking["pickup"].year <= last_day.year and at_counters(booking["location"])
                    and booking["status"] in LOANS and booking["teacher"] is not None
                    and school_type in (None, booking["school_type"])})

    def headline(first_day, last_day):
        bookings = [booking for booking in spec["reservations"] if in_period(booking, first_day, last_day)]
        loans = [booking for booking in bookings if booking["status"] in LOANS]
        return {
            **lending(bookings),
            "schools": len({booking["school"] for booking in loans}),
            "teachers": teachers(first_day, last_day),
            "no_shows": sum(booking["status"] == S.NO_SHOW for booking in bookings),
            "cancellations": sum(booking["status"] == S.CANCELLED for booking in bookings),
            "extensions": sum(booking["extensions"] for booking in bookings),
            "refused": sum(first_day <= row["pickup"] <= last_day and at_counters(items[row["item"]]["location"])
                           for row in spec["refused"]),
            # Granted by the day granted, at every counter.
            "qualifications_granted": sum(first_day <= day <= last_day for _t, _q, day in spec["grants"]),
        }

    first, last = period.first_day, period.last_day
    before_first, before_last = a_year_earlier(first), a_year_earlier(last)
    bookings = [booking for booking in spec["reservations"] if in_period(booking, first, last)]
    bookings_before = [booking for booking in spec["reservations"] if in_period(booking, before_first, before_last)]
    loans = [booking for booking in bookings if booking["status"] in LOANS]
    now, previous = headline(first, last), headline(before_first, before_last)
    tables = {}

    overview_keys = ("bookings", "loans", "units_lent", "loan_days", "schools", "teachers", "no_shows",
                     "cancellations", "extensions", "refused", "qualifications_granted")
    tables["overview"] = ([(now[key], previous[key], percent_change(now[key], previous[key])) for key in overview_keys],
                          None)

    def lending_tuple(row):
        return (row["bookings"], row["loans"], row["units_lent"], row["loan_days"])

    month_rows = []
    for month in month_starts(first, last):
        month_rows.append((month, *lending_tuple(lending(
            [booking for booking in bookings if booking["pickup"].replace(day=1) == month]))))
    tables["by_month"] = (month_rows, tuple(sum(row[index] for row in month_rows) for index in range(1, 5)))

    # By school type: the type at booking for the lending, the type today for the active schools.
    type_rows = []
    for school_type in SchoolType.values:
        of_type = [booking for booking in bookings if booking["school_type"] == school_type]
        loans_of_type = [booking for booking in of_type if booking["status"] in LOANS]
        row = lending(of_type)
        reached = len({booking["school"] for booking in loans_of_type})
        active = sum(school["active"] and school["type_today"] == school_type for school in schools)
        before = sum(booking["school_type"] == school_type and booking["status"] in LOANS
                     for booking in bookings_before)
        type_rows.append((*lending_tuple(row), percent(row["loans"], len(loans)), reached, active,
                          percent(reached, active), teachers(first, last, school_type), before,
                          percent_change(row["loans"], before)))
    total = lending(bookings)
    # Each school and teacher once, however many types it had.
    total_schools = len({booking["school"] for booking in loans})
    total_active = sum(school["active"] for school in schools)
    total_before = sum(booking["status"] in LOANS for booking in bookings_before)
    tables["by_school_type"] = (type_rows, (
        *lending_tuple(total), percent(total["loans"], len(loans)), total_schools, total_active,
        percent(total_schools, total_active), teachers(first, last), total_before,
        percent_change(total["loans"], total_before)))

    def item_order(index):
        item = items[index]
        return (LOCATION_NAMES[item["location"]].casefold(), item["name"].casefold(), rows["item_types"][index].pk)

    def item_names(index):
        item = items[index]
        return (item["name"], CATEGORY_NAMES[item["category"]], LOCATION_NAMES[item["location"]])

    item_rows = []
    for index in sorted(range(len(items)), key=item_order):
        with_line = [booking for booking in bookings if index in booking["lines"]]
        handovers = [(booking, handover) for booking in bookings for handover in booking["handovers"]
                     if handover["item"] == index]
        if not with_line and not handovers:
            continue
        item_rows.append((
            *item_names(index),
            sum(booking["status"] != S.CANCELLED for booking in with_line),
            sum(booking["lines"][index] for booking in with_line if booking["status"] != S.CANCELLED),
            sum(booking["status"] in LOANS for booking in with_line),
            len(handovers),
            sum((booking["return"] - booking["pickup"]).days + 1 for booking, _handover in handovers),
        ))
    tables["by_item_type"] = (item_rows, tuple(sum(row[index] for row in item_rows) for index in range(3, 8)))

    category_rows = []
    for category in sorted(range(len(CATEGORY_NAMES)),
                           key=lambda c: (spec["category_positions"][c], CATEGORY_NAMES[c].casefold())):
        with_line = [booking for booking in bookings
                     if any(items[index]["category"] == category for index in booking["lines"])]
        handovers = [(booking, handover) for booking in bookings for handover in booking["handovers"]
                     if items[handover["item"]]["category"] == category]
        if not with_line and not handovers:
            continue
        category_rows.append((
            CATEGORY_NAMES[category],
            sum(booking["status"] != S.CANCELLED for booking in with_line),
            sum(booking["status"] in LOANS for booking in with_line),
            len(handovers),
            sum((booking["return"] - booking["pickup"]).days + 1 for booking, _handover in handovers),
        ))
    tables["by_category"] = (category_rows, None)

    school_rows = []
    for index, school in enumerate(schools):
        of_school = [booking for booking in bookings if booking["school"] == index]
        if of_school:
            school_rows.append((school["name"], rows["schools"][index].number,
                                str(SchoolType(school["type_today"]).label), *lending_tuple(lending(of_school))))
    school_rows.sort(key=lambda row: (-row[4], -row[3], row[0].casefold(), row[1]))
    tables["by_school"] = (school_rows, tuple(sum(row[index] for row in school_rows) for index in range(3, 7)))

    # Utilisation: from the period's first day up to today.
    counted_last = min(last, today)
    counted = counted_last >= first
    start = datetime.datetime.combine(first, datetime.time(), tzinfo=BERLIN)
    usage_rows = []
    for index in sorted(range(len(items)), key=item_order):
        item = items[index]
        if not at_counters(item["location"]):
            continue
        units = sum(retired_at is None or retired_at >= start for retired_at in item["units"])
        on_loan = 0
        had_loan = False
        if counted:
            for booking in spec["reservations"]:  # every booking: the unit's counter decides
                for handover in booking["handovers"]:
                    if handover["item"] != index:
                        continue
                    out = handover["out"].astimezone(BERLIN).date()
                    back = handover["back"].astimezone(BERLIN).date() if handover["back"] else counted_last
                    low, high = max(out, first), min(back, counted_last)
                    if high >= low:
                        on_loan += (high - low).days + 1
                        had_loan = True
        booked_out = 0
        if counted and units:
            for day in each_day(first, counted_last):
                booked = sum(booking["lines"].get(index, 0) for booking in spec["reservations"]
                             if booking["status"] in BOOKED and at_counters(booking["location"])
                             and booking["pickup"] <= day <= booking["return"])
                booked_out += booked >= units
        refused = [row for row in spec["refused"] if row["item"] == index and first <= row["pickup"] <= last]
        waiting = [row for row in spec["waiting"] if row["item"] == index and first <= row["pickup"] <= last]
        if not (units or had_loan or refused or waiting):
            continue
        unit_days = units * ((counted_last - first).days + 1) if counted else 0
        usage_rows.append((
            *item_names(index), units, unit_days, on_loan, percent(on_loan, unit_days), booked_out,
            len(refused), sum(row["quantity"] for row in refused),
            len(waiting), sum(row["quantity"] for row in waiting),
        ))
    units, unit_days, on_loan, _share, _booked_out, *demand = (
        [row[index] for row in usage_rows] for index in range(3, 12))
    tables["utilisation"] = (usage_rows, (sum(units), sum(unit_days), sum(on_loan),
                                          percent(sum(on_loan), sum(unit_days)), None, *map(sum, demand)))

    # Damage: no reports in this data, so each item type with units in use has a row of zeros.
    damage_rows = [(row[0], row[3], 0, 0, 0, 0, Decimal("0.00")) for row in usage_rows if row[3]]
    tables["damage"] = (damage_rows, (sum(row[1] for row in damage_rows), 0, 0, 0, 0, Decimal("0.00")))

    # Reliability.
    due = [booking for booking in bookings if booking["status"] in (S.NO_SHOW, *LOANS)]
    no_shows = sum(booking["status"] == S.NO_SHOW for booking in bookings)
    returned = [(booking, handover) for booking in bookings for handover in booking["handovers"]
                if handover["back"] is not None]
    days_late = [(handover["back"].astimezone(BERLIN).date() - booking["return"]).days
                 for booking, handover in returned]
    days_late = [days for days in days_late if days > 0]
    median = Decimal(str(pystatistics.median(days_late))).quantize(Decimal("0.1")) if days_late else None
    extended = sum(booking["extensions"] > 0 for booking in loans)
    cancellations = sum(booking["status"] == S.CANCELLED for booking in bookings)
    tables["reliability"] = ([
        (len(bookings), None),
        (no_shows, percent(no_shows, len(due))),
        (len(days_late), percent(len(days_late), len(returned))),
        (median, None),
        (sum(booking["extensions"] for booking in bookings), None),
        (extended, percent(extended, len(loans))),
        (cancellations, percent(cancellations, len(bookings))),
    ], None)

    # Cancellations by how many days before the pickup day (the day in Berlin) they came.
    buckets = [0] * 6
    for booking in bookings:
        if booking["cancelled_at"] is None:
            continue
        lead = (booking["pickup"] - booking["cancelled_at"].astimezone(BERLIN).date()).days
        bucket = 0 if lead <= 0 else 1 if lead == 1 else 2 if lead < 7 else 3 if lead < 14 else 4 if lead < 28 else 5
        buckets[bucket] += 1
    cancelled = sum(buckets)
    tables["cancellations"] = ([(count, percent(count, cancelled)) for count in buckets],
                               (cancelled, percent(cancelled, cancelled)))

    # Qualifications: granted by the day granted (every counter), bookings of items that need them.
    order = sorted(range(len(QUALIFICATION_NAMES)), key=lambda q: QUALIFICATION_NAMES[q].casefold())
    qualification_rows = []
    for qualification in order:
        granted = sum(q == qualification and first <= day <= last for _t, q, day in spec["grants"])
        unlocked = sum(booking["status"] != S.CANCELLED
                       and any(items[index]["qualification"] == qualification for index in booking["lines"])
                       for booking in bookings)
        qualification_rows.append((QUALIFICATION_NAMES[qualification], granted, unlocked))
    tables["qualifications"] = (qualification_rows, (sum(row[1] for row in qualification_rows),
                                                     sum(row[2] for row in qualification_rows)))
    granted_rows = []
    for month in month_starts(first, last):
        for qualification in order:
            granted = sum(q == qualification and first <= day <= last and day.replace(day=1) == month
                          for _t, q, day in spec["grants"])
            if granted:
                granted_rows.append((month, QUALIFICATION_NAMES[qualification], granted))
    tables["qualifications_by_month"] = (granted_rows, (sum(row[2] for row in granted_rows),))
    return now, previous, tables


# What the report says, in the same shape --------------------------------------------------------

COLUMNS = {
    "overview": (("value", "previous", "change"), None),
    "by_month": (("month", "bookings", "loans", "units_lent", "loan_days"),
                 ("bookings", "loans", "units_lent", "loan_days")),
    "by_school_type": (("bookings", "loans", "units_lent", "loan_days", "loan_share", "schools", "active_schools",
                        "reach", "teachers", "loans_before", "change"),) * 2,
    "by_item_type": (("item_type", "category", "location", "bookings", "units_booked", "loans", "units_lent",
                      "loan_days"), ("bookings", "units_booked", "loans", "units_lent", "loan_days")),
    "by_category": (("category", "bookings", "loans", "units_lent", "loan_days"), None),
    "by_school": (("school", "number", "school_type", "bookings", "loans", "units_lent", "loan_days"),
                  ("bookings", "loans", "units_lent", "loan_days")),
    "utilisation": (("item_type", "category", "location", "units", "unit_days", "days_on_loan", "utilisation",
                     "days_booked_out", "refused", "refused_units", "waiting", "waiting_units"),
                    ("units", "unit_days", "days_on_loan", "utilisation", "days_booked_out", "refused",
                     "refused_units", "waiting", "waiting_units")),
    "damage": (("item_type", "units", "damage_cases", "thefts", "losses", "compensation_cases", "compensation_sum"),
               ("units", "damage_cases", "thefts", "losses", "compensation_cases", "compensation_sum")),
    "reliability": (("value", "share"), None),
    "cancellations": (("cancellations", "share"), ("cancellations", "share")),
    "qualifications": (("qualification", "granted", "bookings_unlocked"), ("granted", "bookings_unlocked")),
    "qualifications_by_month": (("month", "qualification", "granted"), ("granted",)),
}


def report_tables(report):
    tables = {}
    for key, (columns, total_columns) in COLUMNS.items():
        table = report.tables[key]
        rows = [tuple(row[column] for column in columns) for row in table.rows]
        total = None if total_columns is None else tuple(table.total[column] for column in total_columns)
        tables[key] = (rows, total)
    return tables


def snapshot(report):
    """Everything a report says, labels included, for comparing two reports."""
    return ({key: (table.rows, table.total) for key, table in report.tables.items()}, report.headline,
            report.previous)


def assert_same_table(key, actual, expected, context):
    """Equal rows and total, or a message naming the first row that differs, column by column."""
    (rows, total), (expected_rows, expected_total) = actual, expected
    columns, total_columns = COLUMNS[key]
    for index, (row, expected_row) in enumerate(zip(rows, expected_rows)):
        differing = {column: (got, wanted) for column, got, wanted in zip(columns, row, expected_row) if got != wanted}
        assert not differing, f"{key} row {index} {row}: {{column: (report, brute force)}} {differing} at {context}"
    assert len(rows) == len(expected_rows), f"{key}: rows {rows} != {expected_rows} at {context}"
    if total is not None or expected_total is not None:
        differing = {column: (got, wanted) for column, got, wanted in zip(total_columns, total, expected_total)
                     if got != wanted}
        assert not differing, f"{key} total: {{column: (report, brute force)}} {differing} at {context}"


# 1. The property test -----------------------------------------------------------------------------


periods = st.one_of(
    st.sampled_from([Period.year(2025), Period.year(2026)]),
    st.builds(
        lambda start, length: Period(start, start + datetime.timedelta(days=length)),
        st.dates(min_value=datetime.date(2025, 10, 1), max_value=datetime.date(2026, 3, 31)),
        st.integers(min_value=0, max_value=450),
    ),
)


@pytest.mark.django_db
def test_every_figure_agrees_with_a_brute_force_count():
    @PROPERTY_SETTINGS
    @given(data=st.data(), period=periods, one_counter=st.integers(min_value=0, max_value=1))
    def check(data, period, one_counter):
        with transaction.atomic():
            spec = describe_dataset(HypothesisPick(data))
            rows = write_dataset(spec)
            for counters in (None, {one_counter}):
                locations = None if counters is None else [rows["locations"][index] for index in counters]
                report = statistics_report(period=period, locations=locations, today=spec["today"])
                headline, previous, expected = expected_report(spec, rows, period, counters)

                assert list(report.tables) == list(TABLE_KEYS)
                assert report.headline == headline, (period, counters)
                assert report.previous == previous, (period, counters)
                actual = report_tables(report)
                for key in COLUMNS:
                    assert_same_table(key, actual[key], expected[key], (period, counters))
            transaction.set_rollback(True)

    check()


# 2. Edge cases ------------------------------------------------------------------------------------


def loan(*, location, school, borrower, lines, pickup_day, return_day, status=S.RETURNED, back=None):
    """A loan written through the ORM: every booked unit handed out on the pickup day at 10:00 and,
    unless still out, back on `back` (the return day) at 11:00."""
    reservation = factories.make_reservation(location=location, school=school, borrower=borrower, lines=lines,
                                             pickup_day=pickup_day, return_day=return_day, status=status)
    for item_type, quantity in lines.items():
        for unit in item_type.units.order_by("pk")[:quantity]:
            returned = status == S.RETURNED
            Handover.objects.create(
                reservation=reservation, unit=unit, handed_out_at=at(pickup_day),
                returned_at=at(back or return_day, datetime.time(11)) if returned else None,
                return_condition=Handover.Condition.COMPLETE if returned else "",
                returned_late=returned and (back or return_day) > return_day,
            )
    return reservation


def overview(report):
    return dict(zip(("bookings", "loans", "units_lent", "loan_days", "schools", "teachers"),
                    [row["value"] for row in report.tables["overview"].rows]))


def month_row(report, month):
    return next(row for row in report.tables["by_month"].rows if row["month"] == month)


def type_row(report, school_type):
    return report.tables["by_school_type"].rows[SchoolType.values.index(school_type)]


@pytest.mark.django_db
def test_a_loan_over_the_new_year_counts_once_in_the_year_it_began(location, school_a, teacher_a):
    camera = factories.make_item_type(location=location, units=1)
    loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
         pickup_day=datetime.date(2025, 12, 29), return_day=datetime.date(2026, 1, 5))
    today = datetime.date(2026, 6, 30)

    in_2025 = statistics_report(period=Period.year(2025), today=today)
    in_2026 = statistics_report(period=Period.year(2026), today=today)
    both = statistics_report(period=Period(datetime.date(2025, 12, 1), datetime.date(2026, 1, 31)), today=today)

    # Counted once, in December 2025, with all its eight loan days (29 December to 5 January).
    assert overview(in_2025) == {"bookings": 1, "loans": 1, "units_lent": 1, "loan_days": 8, "schools": 1,
                                 "teachers": 1}
    assert month_row(in_2025, datetime.date(2025, 12, 1))["loans"] == 1
    assert overview(in_2026) == {"bookings": 0, "loans": 0, "units_lent": 0, "loan_days": 0, "schools": 0,
                                 "teachers": 0}
    assert sum(row["loans"] for row in in_2026.tables["by_month"].rows) == 0
    assert [row["loans"] for row in both.tables["by_month"].rows] == [1, 0]
    assert in_2026.previous["loans"] == 1  # 2025 seen from 2026

    # Its days out split across the years: three in 2025, five in 2026 (of 181 unit-days up to today).
    [usage_2025] = in_2025.tables["utilisation"].rows
    [usage_2026] = in_2026.tables["utilisation"].rows
    [usage_both] = both.tables["utilisation"].rows
    assert (usage_2025["unit_days"], usage_2025["days_on_loan"], usage_2025["days_booked_out"]) == (365, 3, 3)
    assert (usage_2026["unit_days"], usage_2026["days_on_loan"], usage_2026["days_booked_out"]) == (181, 5, 5)
    assert (usage_both["unit_days"], usage_both["days_on_loan"], usage_both["days_booked_out"]) == (62, 8, 8)
    assert usage_2026["utilisation"] == Decimal("2.8")


@pytest.mark.django_db
def test_the_figures_follow_a_booking_moved_after_it_was_counted(location, school_a, teacher_a):
    camera = factories.make_item_type(location=location, units=2)
    lent = loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 2},
                pickup_day=datetime.date(2026, 3, 10), return_day=datetime.date(2026, 3, 12))
    today = datetime.date(2027, 6, 30)
    march, may = datetime.date(2026, 3, 1), datetime.date(2026, 5, 1)

    report = statistics_report(period=Period.year(2026), today=today)
    assert (month_row(report, march)["loans"], month_row(report, march)["units_lent"]) == (1, 2)
    assert month_row(report, march)["loan_days"] == 6

    lent.pickup_day, lent.return_day = datetime.date(2026, 5, 5), datetime.date(2026, 5, 8)  # into May, a day longer
    lent.save()
    report = statistics_report(period=Period.year(2026), today=today)
    assert month_row(report, march)["loans"] == 0
    assert (month_row(report, may)["loans"], month_row(report, may)["loan_days"]) == (1, 8)
    assert overview(report) == {"bookings": 1, "loans": 1, "units_lent": 2, "loan_days": 8, "schools": 1,
                                "teachers": 1}

    lent.pickup_day, lent.return_day = datetime.date(2027, 1, 12), datetime.date(2027, 1, 14)  # into the next year
    lent.save()
    assert counters_reached(teacher_a, 2026) == set()
    assert counters_reached(teacher_a, 2027) == {location.pk}
    report = statistics_report(period=Period.year(2026), today=today)
    assert overview(report) == {"bookings": 0, "loans": 0, "units_lent": 0, "loan_days": 0, "schools": 0,
                                "teachers": 0}
    report = statistics_report(period=Period.year(2027), today=today)
    assert overview(report) == {"bookings": 1, "loans": 1, "units_lent": 2, "loan_days": 6, "schools": 1,
                                "teachers": 1}
    assert month_row(report, datetime.date(2027, 1, 1))["loans"] == 1
    assert type_row(report, SchoolType.GYMNASIUM)["teachers"] == 1


@pytest.mark.django_db
def test_a_school_that_changed_type_keeps_its_loans_under_the_old_type(location, school_a, teacher_a):
    camera = factories.make_item_type(location=location, units=1)
    lent = loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
                pickup_day=datetime.date(2026, 2, 3), return_day=datetime.date(2026, 2, 5))
    school_a.school_type = SchoolType.GESAMTSCHULE  # merged into a comprehensive school
    school_a.save()
    lent.save()  # a later change to the booking keeps the type it was made with

    report = statistics_report(period=Period.year(2026), today=datetime.date(2026, 12, 31))

    gymnasium, gesamtschule = type_row(report, SchoolType.GYMNASIUM), type_row(report, SchoolType.GESAMTSCHULE)
    assert (gymnasium["loans"], gymnasium["schools"], gymnasium["teachers"], gymnasium["loan_days"]) == (1, 1, 1, 3)
    # Active schools by their type today: none is a Gymnasium any more.
    assert (gymnasium["active_schools"], gymnasium["reach"]) == (0, None)
    assert (gesamtschule["loans"], gesamtschule["schools"], gesamtschule["active_schools"]) == (0, 0, 1)
    assert gesamtschule["reach"] == Decimal("0.0")
    [school_row] = report.tables["by_school"].rows
    assert school_row["school_type"] == str(SchoolType.GESAMTSCHULE.label)


@pytest.mark.django_db
def test_a_school_that_changed_type_in_the_period_counts_once_in_the_total(location, school_a, teacher_a):
    """by_school_type's total counts each school and teacher once ("A school or teacher is counted
    once in the total, however many types it had"), as the overview does."""
    camera = factories.make_item_type(location=location, units=1)
    loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
         pickup_day=datetime.date(2026, 2, 3), return_day=datetime.date(2026, 2, 5))
    school_a.school_type = SchoolType.GESAMTSCHULE
    school_a.save()
    loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
         pickup_day=datetime.date(2026, 5, 5), return_day=datetime.date(2026, 5, 7))

    report = statistics_report(period=Period.year(2026), today=datetime.date(2026, 12, 31))

    assert (type_row(report, SchoolType.GYMNASIUM)["schools"], type_row(report, SchoolType.GESAMTSCHULE)["schools"]) \
        == (1, 1)
    assert report.headline["schools"] == 1
    total = report.tables["by_school_type"].total
    assert (total["schools"], total["teachers"]) == (1, 1)
    assert total["reach"] == Decimal("100.0")  # one school reached of the one active school


@pytest.mark.django_db
def test_purging_the_borrowers_of_old_loans_changes_no_figure(location, school_a, school_b, teacher_a, teacher_b):
    camera = factories.make_item_type(location=location, units=2)
    robot = factories.make_item_type(location=location, units=1)
    colleague = factories.make_user(schools=[school_a])
    for pickup_day, teacher, school, lines in [
        (datetime.date(2025, 2, 4), teacher_a, school_a, {camera: 2}),
        (datetime.date(2025, 5, 6), teacher_a, school_a, {camera: 1, robot: 1}),
        (datetime.date(2025, 9, 9), teacher_b, school_b, {robot: 1}),
        (datetime.date(2025, 11, 4), colleague, school_a, {camera: 1}),
    ]:
        loan(location=location, school=school, borrower=teacher, lines=lines, pickup_day=pickup_day,
             return_day=pickup_day + datetime.timedelta(days=3), back=pickup_day + datetime.timedelta(days=4))
    factories.make_reservation(location=location, school=school_b, borrower=teacher_b, lines={camera: 1},
                               pickup_day=datetime.date(2025, 6, 3), return_day=datetime.date(2025, 6, 4),
                               status=S.NO_SHOW)
    cancelled = factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={robot: 1},
                                           pickup_day=datetime.date(2025, 7, 1), return_day=datetime.date(2025, 7, 2),
                                           status=S.CANCELLED)
    event = ReservationEvent.objects.create(reservation=cancelled, action=ReservationEvent.Action.CANCELLED,
                                            actor=teacher_a)
    ReservationEvent.objects.filter(pk=event.pk).update(at=at(datetime.date(2025, 6, 20)))
    today = datetime.date(2027, 3, 1)

    def reports():
        return [snapshot(statistics_report(period=period, today=today))
                for period in (Period.year(2025), Period(datetime.date(2025, 4, 1), datetime.date(2026, 3, 31)))]

    before = reports()
    assert before[0][1]["teachers"] == 3 and before[0][1]["loans"] == 4
    result = personal_data_purge(older_than_days=365, today=today)
    assert result.reservations == 6
    assert not Reservation.objects.filter(borrower__isnull=False).exists()

    assert reports() == before


@pytest.mark.django_db
def test_a_request_refused_for_lack_of_units_is_kept_without_the_person(monday, location, teacher_a, school_a,
                                                                        item_type):
    pickup_day, return_day = datetime.date(2027, 3, 9), datetime.date(2027, 3, 10)
    with pytest.raises(BookingError) as excinfo:
        reservation_create(borrower=teacher_a, school=school_a, pickup_day=pickup_day, pickup_slot=SLOT,
                           return_day=return_day, lines={item_type: 4})  # three units exist
    assert excinfo.value.code == "not_enough_units"
    assert not Reservation.objects.exists()

    [refused] = RefusedRequest.objects.all()
    assert (refused.location, refused.item_type, refused.quantity, refused.pickup_day, refused.return_day,
            refused.school_type) == (location, item_type, 4, pickup_day, return_day, SchoolType.GYMNASIUM)
    # Nothing in it leads to the person who asked.
    relations = {field.related_model for field in RefusedRequest._meta.get_fields() if field.is_relation}
    assert relations == {Location, ItemType} and User not in relations

    report = statistics_report(period=Period.year(2027), today=datetime.date(2027, 3, 1))
    assert report.headline["refused"] == 1
    [usage] = report.tables["utilisation"].rows
    assert (usage["refused"], usage["refused_units"]) == (1, 4)


def counters_reached(teacher, year):
    """The counters `teacher` is counted at in `year` (None: nothing links her to the year)."""
    reference = TeacherYear.objects.filter(borrower=teacher, year=year).values_list("ref", flat=True).first()
    if reference is None:
        return None
    return set(TeacherReach.objects.filter(ref=reference, year=year).values_list("location_id", flat=True))


@pytest.mark.django_db
def test_teachers_are_counted_by_year_under_a_reference_no_booking_carries(location, school_a, teacher_a, teacher_b):
    camera = factories.make_item_type(location=location, units=2)

    def lent(teacher, pickup_day, status=S.RETURNED):
        return loan(location=location, school=school_a, borrower=teacher, lines={camera: 1},
                    pickup_day=pickup_day, return_day=pickup_day, status=status)

    march = lent(teacher_a, datetime.date(2026, 3, 3))
    november = lent(teacher_a, datetime.date(2026, 11, 10))
    lent(teacher_a, datetime.date(2027, 2, 2))
    lent(teacher_b, datetime.date(2026, 3, 3))
    lent(teacher_b, datetime.date(2026, 3, 24))
    # Booked but not (yet) handed out: no loan, no teacher reached.
    booked = factories.make_reservation(location=location, school=school_a, borrower=teacher_b,
                                        lines={camera: 1}, pickup_day=datetime.date(2026, 6, 2),
                                        return_day=datetime.date(2026, 6, 3))
    other_counter = factories.make_location(name="Zweigstelle")
    elsewhere = factories.make_reservation(location=other_counter, school=school_a, borrower=teacher_a,
                                           lines={factories.make_item_type(location=other_counter, units=1): 1},
                                           pickup_day=datetime.date(2026, 5, 5), return_day=datetime.date(2026, 5, 6))
    today = datetime.date(2027, 6, 30)

    assert counters_reached(teacher_a, 2026) == {location.pk}
    assert counters_reached(teacher_a, 2027) == {location.pk}
    assert counters_reached(teacher_b, 2026) == {location.pk}
    assert TeacherYear.objects.count() == 3 and len(set(TeacherYear.objects.values_list("ref", flat=True))) == 3
    assert TeacherReach.objects.count() == 3
    # Nothing on a booking says which teacher of the statistics it was.
    assert set(Reservation.objects.values_list("borrower_ref", flat=True)) == {""}
    assert {field.related_model for field in TeacherReach._meta.get_fields() if field.is_relation} == {Location}
    assert overview(statistics_report(period=Period.year(2026), today=today))["teachers"] == 2
    # By calendar year: a week in March without a loan counts the year's teachers.
    late_march = Period(datetime.date(2026, 3, 25), datetime.date(2026, 3, 31))
    assert overview(statistics_report(period=late_march, today=today))["teachers"] == 2
    assert overview(statistics_report(period=late_march, today=today))["loans"] == 0

    # Handed out, a booking counts its teacher at its counter (once, however many loans).
    booked.status = S.HANDED_OUT
    booked.save(update_fields=["status"])
    elsewhere.status = S.HANDED_OUT
    elsewhere.save(update_fields=["status", "updated_at"])
    assert TeacherReach.objects.count() == 4
    assert counters_reached(teacher_a, 2026) == {location.pk, other_counter.pk}
    # Moved into the next year, a loan leaves 2026 only with her last loan of 2026 there.
    november.pickup_day = november.return_day = datetime.date(2027, 1, 5)
    november.save()
    assert counters_reached(teacher_a, 2026) == {location.pk, other_counter.pk}
    march.pickup_day = march.return_day = datetime.date(2027, 1, 12)
    march.save()
    assert counters_reached(teacher_a, 2026) == {other_counter.pk}
    elsewhere.status = S.CANCELLED  # corrected: it was never handed out
    elsewhere.save()
    assert counters_reached(teacher_a, 2026) == set()
    assert overview(statistics_report(period=Period.year(2026), today=today))["teachers"] == 1


@pytest.mark.django_db
def test_a_purged_loan_cannot_be_linked_to_its_teacher_and_still_counts(location, school_a, teacher_a):
    """The review's case: teacher_a's March loan is purged while her November loan of the same
    year still names her. Her reference of that year goes with the first purge, since no open
    booking of hers is left in it, and she still counts once."""
    camera = factories.make_item_type(location=location, units=1)
    march = loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
                 pickup_day=datetime.date(2026, 3, 3), return_day=datetime.date(2026, 3, 4))
    loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
         pickup_day=datetime.date(2026, 11, 10), return_day=datetime.date(2026, 11, 11))
    year = Period.year(2026)
    before = snapshot(statistics_report(period=year, today=datetime.date(2027, 12, 31)))
    assert before[1]["teachers"] == 1 and counters_reached(teacher_a, 2026) == {location.pk}

    assert personal_data_purge(older_than_days=365, today=datetime.date(2027, 4, 1)).reservations == 1
    stored = Reservation.objects.filter(pk=march.pk).values().get()
    assert stored["borrower_id"] is None and stored["borrower_ref"] == ""
    assert Reservation.objects.filter(borrower=teacher_a).count() == 1
    assert counters_reached(teacher_a, 2026) is None  # nothing leads from her to 2026's rows
    assert TeacherReach.objects.filter(year=2026).count() == 1
    assert snapshot(statistics_report(period=year, today=datetime.date(2027, 12, 31))) == before

    assert personal_data_purge(older_than_days=365, today=datetime.date(2027, 12, 1)).reservations == 1
    assert snapshot(statistics_report(period=year, today=datetime.date(2027, 12, 31))) == before


@pytest.mark.django_db
def test_purging_last_years_loan_keeps_this_years_reference(location, school_a, teacher_a):
    """The purge forgets only past years' references: a teacher who borrows again this year after
    her loan of last year was purged still counts once this year."""
    camera = factories.make_item_type(location=location, units=1)
    for pickup_day in (datetime.date(2025, 3, 4), datetime.date(2026, 2, 3)):
        loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
             pickup_day=pickup_day, return_day=pickup_day + datetime.timedelta(days=1))

    assert personal_data_purge(older_than_days=365, today=datetime.date(2026, 4, 1)).reservations == 1
    assert counters_reached(teacher_a, 2025) is None
    assert counters_reached(teacher_a, 2026) == {location.pk}
    loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
         pickup_day=datetime.date(2026, 5, 5), return_day=datetime.date(2026, 5, 6))

    report = statistics_report(period=Period.year(2026), today=datetime.date(2026, 12, 31))
    assert report.headline["teachers"] == 1 and report.headline["loans"] == 2
    assert statistics_report(period=Period.year(2025), today=datetime.date(2026, 12, 31)).headline["teachers"] == 1


@pytest.mark.django_db
def test_a_booking_refreshed_from_the_database_counts_where_it_is_stored(location, school_a, teacher_a):
    camera = factories.make_item_type(location=location, units=1)
    booked = factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
                                        pickup_day=datetime.date(2026, 3, 3), return_day=datetime.date(2026, 3, 4))
    stale = Reservation.objects.get(pk=booked.pk)
    booked.status = S.HANDED_OUT
    booked.save()
    assert counters_reached(teacher_a, 2026) == {location.pk}

    stale.refresh_from_db()
    stale.status = S.CANCELLED
    stale.save()

    assert counters_reached(teacher_a, 2026) == set()


@pytest.mark.django_db
def test_a_booking_the_old_release_saved_loses_its_reference_and_its_loan_counts(location, school_a, teacher_a):
    """Between migration 0015 and the switch, the release before 0014 still writes borrower_ref
    and no TeacherReach; the next save of the booking empties the one and writes the other."""
    camera = factories.make_item_type(location=location, units=1)
    lent = loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
                pickup_day=datetime.date(2026, 3, 3), return_day=datetime.date(2026, 3, 4), status=S.HANDED_OUT)
    TeacherReach.objects.all().delete()
    Reservation.objects.filter(pk=lent.pk).update(borrower_ref="2026-0123456789abcdef")
    lent = Reservation.objects.get(pk=lent.pk)

    lent.return_day = datetime.date(2026, 3, 5)
    lent.save(update_fields=["return_day"])

    assert Reservation.objects.get(pk=lent.pk).borrower_ref == ""
    assert counters_reached(teacher_a, 2026) == {location.pk}


@pytest.mark.django_db
def test_saving_a_loan_again_asks_nothing_more_of_the_database(location, school_a, teacher_a):
    camera = factories.make_item_type(location=location, units=1)
    lent = loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
                pickup_day=datetime.date(2026, 3, 3), return_day=datetime.date(2026, 3, 4), status=S.HANDED_OUT)
    lent = Reservation.objects.get(pk=lent.pk)
    with CaptureQueriesContext(connection) as queries:
        lent.status = S.RETURNED
        lent.save(update_fields=["status", "updated_at"])
    assert len(queries) == 1, [query["sql"] for query in queries]


@pytest.mark.django_db
def test_deleting_a_teachers_account_changes_no_figure(location, school_a, teacher_a):
    camera = factories.make_item_type(location=location, units=1)
    loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
         pickup_day=datetime.date(2026, 3, 3), return_day=datetime.date(2026, 3, 4))
    report = statistics_report(period=Period.year(2026), today=datetime.date(2026, 12, 31))
    before = snapshot(report)

    teacher_a.delete()

    assert not TeacherYear.objects.exists()
    after = snapshot(statistics_report(period=Period.year(2026), today=datetime.date(2026, 12, 31)))
    assert after == before and after[1]["teachers"] == 1


@pytest.mark.django_db
def test_loans_extended_counts_loans_only(location, school_a, teacher_a):
    """"Loans extended ... of loans": a booking extended while confirmed (reservation_extend allows
    it) and then not picked up, or cancelled, is no loan; the extensions themselves still count."""
    camera = factories.make_item_type(location=location, units=3)
    lent = loan(location=location, school=school_a, borrower=teacher_a, lines={camera: 1},
                pickup_day=datetime.date(2026, 2, 3), return_day=datetime.date(2026, 2, 10))
    not_picked_up = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                               lines={camera: 1}, pickup_day=datetime.date(2026, 2, 3),
                                               return_day=datetime.date(2026, 2, 10), status=S.NO_SHOW)
    cancelled = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                           lines={camera: 1}, pickup_day=datetime.date(2026, 2, 3),
                                           return_day=datetime.date(2026, 2, 10), status=S.CANCELLED)
    for reservation in (lent, not_picked_up, cancelled):
        ReservationEvent.objects.create(reservation=reservation, action=ReservationEvent.Action.EXTENDED)

    report = statistics_report(period=Period.year(2026), today=datetime.date(2026, 12, 31))

    rows = report.tables["reliability"].rows
    assert rows[4]["value"] == report.headline["extensions"] == 3  # extensions
    assert (rows[5]["value"], rows[5]["share"]) == (1, Decimal("100.0"))  # loans extended, of 1 loan


@pytest.mark.django_db
def test_a_delivery_is_late_by_the_day_the_tour_collected_it(tour, school, teacher, vr):
    """A delivery the tour collects "came back when it was collected, not when it is unloaded"
    (handover_take_back): late returns and their days late count to the collection day."""
    units = list(vr.units.order_by("pk"))
    return_day = datetime.date(2026, 2, 10)
    for unit, collected_on, unloaded_on in [
        (units[0], datetime.date(2026, 2, 12), datetime.date(2026, 2, 16)),  # collected 2 days late
        (units[1], return_day, datetime.date(2026, 2, 13)),  # collected on the day, unloaded 3 days later
    ]:
        delivery = factories.make_reservation(location=tour, school=school, borrower=teacher, lines={vr: 1},
                                              pickup_day=datetime.date(2026, 2, 3), return_day=return_day,
                                              status=S.RETURNED)
        Reservation.objects.filter(pk=delivery.pk).update(
            fulfilment="delivery", collection_by_tour=True, delivered_at=at(datetime.date(2026, 2, 3)),
            collected_at=at(collected_on, datetime.time(15)))
        Handover.objects.create(reservation=delivery, unit=unit, handed_out_at=at(datetime.date(2026, 2, 2)),
                                returned_at=at(unloaded_on), return_condition=Handover.Condition.COMPLETE,
                                returned_late=collected_on > return_day)

    report = statistics_report(period=Period.year(2026), today=datetime.date(2026, 12, 31))

    rows = report.tables["reliability"].rows
    assert (rows[2]["value"], rows[2]["share"]) == (1, Decimal("50.0"))  # units returned late, of 2
    assert rows[3]["value"] == Decimal("2.0")  # median days late


# 3. A fixed number of queries ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_report_asks_as_many_queries_for_a_small_dataset_as_for_a_large_one():
    def queries(**sizes):
        with transaction.atomic():
            spec = describe_dataset(RandomPick(14), **sizes)
            spec["today"] = datetime.date(2026, 3, 15)
            rows = write_dataset(spec)
            counts = []
            for locations in (None, rows["locations"][:1]):
                with CaptureQueriesContext(connection) as captured:
                    report = statistics_report(period=Period(datetime.date(2025, 10, 1), datetime.date(2026, 3, 31)),
                                               locations=locations, today=spec["today"])
                counts.append(len(captured))
                # Even the small dataset has loans at the counter asked about: no table is empty.
                assert report.headline["loans"] and report.headline["units_lent"]
            assert Reservation.objects.count() == sizes["reservations"][0]
            transaction.set_rollback(True)
        return counts

    small = queries(item_types=(2, 2), schools=(3, 3), teachers=(2, 2), reservations=(4, 4), refused=(1, 1),
                    waiting=(1, 1))
    large = queries(item_types=(6, 6), schools=(8, 8), teachers=(10, 10), reservations=(80, 80), refused=(15, 15),
                    waiting=(15, 15))
    assert small == large


@pytest.mark.django_db
def test_units_scanned_for_a_booking_not_yet_handed_out_are_not_lent(location, school_a, teacher_a, item_type):
    """Units scanned at the desk (or packed for the tour) before the hand-over is confirmed: the
    booking is still confirmed, so it is no loan and its units are not lent."""
    booking = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                         lines={item_type: 2}, pickup_day=datetime.date(2026, 2, 10),
                                         return_day=datetime.date(2026, 2, 17))
    for unit in list(item_type.units.order_by("pk"))[:2]:
        Handover.objects.create(reservation=booking, unit=unit)

    report = statistics_report(period=Period.year(2026), today=datetime.date(2026, 2, 10))

    assert (report.headline["loans"], report.headline["units_lent"], report.headline["loan_days"]) == (0, 0, 0)
    assert all(row["units_lent"] == 0 for row in report.tables["by_item_type"].rows)


@pytest.mark.django_db
def test_qualifications_granted_stay_when_grants_are_renewed_revoked_or_their_teacher_deleted(
        clerk, teacher_a, teacher_b):
    vr = factories.make_qualification(name="VR-Schulung")
    first = qualification_grant(actor=clerk, user=teacher_a, qualification=vr, granted_on=datetime.date(2025, 3, 4))
    qualification_grant(actor=clerk, user=teacher_b, qualification=vr, granted_on=datetime.date(2025, 3, 18))
    today = datetime.date(2026, 12, 31)

    def granted(year):
        report = statistics_report(period=Period.year(year), today=today)
        return report.headline["qualifications_granted"], [
            (row["month"], row["granted"]) for row in report.tables["qualifications_by_month"].rows]

    assert granted(2025) == (2, [(datetime.date(2025, 3, 1), 2)])
    # Changing the expiry only is no new training; renewing from a new day is one, in its own year.
    qualification_grant(actor=clerk, user=teacher_a, qualification=vr, granted_on=datetime.date(2025, 3, 4),
                        expires_on=datetime.date(2027, 3, 4))
    assert granted(2025) == (2, [(datetime.date(2025, 3, 1), 2)])
    qualification_grant(actor=clerk, user=teacher_a, qualification=vr, granted_on=datetime.date(2026, 2, 10))
    assert QualificationGrant.objects.get(pk=first.pk).granted_on == datetime.date(2026, 2, 10)
    assert granted(2025) == (2, [(datetime.date(2025, 3, 1), 2)])
    assert granted(2026) == (1, [(datetime.date(2026, 2, 1), 1)])

    qualification_revoke(actor=clerk, grant=QualificationGrant.objects.get(user=teacher_b))
    teacher_a.delete()

    assert not QualificationGrant.objects.exists()
    assert granted(2025) == (2, [(datetime.date(2025, 3, 1), 2)])
    assert granted(2026) == (1, [(datetime.date(2026, 2, 1), 1)])
    assert {field.related_model for field in QualificationTraining._meta.get_fields() if field.is_relation} \
        == {Qualification}


@pytest.mark.django_db
def test_a_grant_corrected_in_the_admin_moves_its_training(teacher_a):
    vr, maker = factories.make_qualification(name="VR-Schulung"), factories.make_qualification(name="Maker")
    grant = QualificationGrant.objects.create(user=teacher_a, qualification=vr, granted_on=datetime.date(2025, 3, 4))

    grant.granted_on = datetime.date(2025, 4, 3)  # mistyped
    grant.save()
    assert list(QualificationTraining.objects.values_list("qualification_id", "granted_on")) == [
        (vr.pk, datetime.date(2025, 4, 3))]
    grant.qualification = maker  # the wrong qualification chosen
    grant.save()
    assert list(QualificationTraining.objects.values_list("qualification_id", "granted_on")) == [
        (maker.pk, datetime.date(2025, 4, 3))]
    grant.expires_on = datetime.date(2027, 4, 3)
    grant.save()
    assert QualificationTraining.objects.count() == 1

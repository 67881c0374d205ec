"""The figures of a media centre's annual report (issue 14): lending, reach, utilisation,
reliability, damage and qualifications, for any period and one, several or all counters.

Every figure is counted by the database (GROUP BY and COUNT, never a loop over bookings in
Python); Python only adds up or sweeps what the database has already grouped. A report asks a
fixed number of queries however many bookings, item types or schools there are.

What counts where, in words an administrator can use (README "Statistics" says the same):

- A **booking** is a reservation whose pickup day (a delivery's delivery day) lies in the period
  and that was not cancelled; a **loan** is a booking that was handed out (delivered). Bookings
  and loans count in the month of their pickup day, so a loan over the new year counts once, in
  the year it began.
- **Units lent**: the units handed out for those loans. **Loan days**: for each unit lent, the
  days from the pickup day through the agreed return day, both counted (extensions included).
- **Schools and teachers reached**: those with at least one loan in the period. A booking keeps
  its school and the school's type from the day it was made (Reservation.school_type), so removing
  personal data after the retention period changes none of the school figures. Teachers are
  counted from TeacherReach: for each teacher, the counters and school types of her loans in a
  calendar year under a random reference of that year, which no booking carries. Teachers
  therefore count by whole calendar years: a period within a year counts that year's teachers,
  a period over two years adds the two years' teachers.
- **Active schools**: the schools marked active today, by their type today.
- **Utilisation** of an item type: of the unit-days from the period's first day up to today (units
  in use times days), the share a unit was out (from hand-over to return, both days counted).
  **Days booked out**: days up to today on which bookings (confirmed, handed out or returned, from
  pickup through return day) took every unit in use.
- **Refused requests**: bookings refused for lack of units (RefusedRequest), by the pickup day asked
  for; **waiting list**: entries for pickup days in the period.
- **Late returns**: of the units returned, the share that came back after the return day, and the
  median days late of those. **Cancellations** by how many days before the pickup day they came.
- **Qualifications** granted by the day granted (a renewal from a new day counts again; a later
  renewal, revocation or deleted account changes no past figure); **bookings unlocked**: bookings of items that
  need the qualification.
"""

import datetime
import os
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least, TruncDate, TruncMonth
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    Qualification,
    QualificationTraining,
    Role,
    School,
    SchoolType,
)
from catalog.models import Category, ItemType
from lending.models import (
    LOAN_STATUSES,
    Handover,
    RefusedRequest,
    Reservation,
    ReservationEvent,
    ReservationLine,
    ReservationStatus,
    TeacherReach,
    WaitlistEntry,
)
from lending.statistics import damage_statistics_between, units_in_use

ONE_DAY = datetime.timedelta(days=1)
# Bookings that took units on their days (for "days booked out"); not cancelled, not no-shows.
BOOKED_STATUSES = (ReservationStatus.CONFIRMED, ReservationStatus.HANDED_OUT, ReservationStatus.RETURNED)
# How far ahead cancellations came: (lowest days before pickup, label); the last has no top.
CANCELLATION_LEADS = (
    (None, _("on or after the pickup day")),
    (1, _("1 day before")),
    (2, _("2–6 days before")),
    (7, _("7–13 days before")),
    (14, _("14–27 days before")),
    (28, _("28 days or more before")),
)


# Periods ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `first_day` through `last_day`, both included."""

    first_day: datetime.date
    last_day: datetime.date

    @classmethod
    def year(cls, year):
        return cls(datetime.date(year, 1, 1), datetime.date(year, 12, 31))

    @property
    def days(self):
        return (self.last_day - self.first_day).days + 1

    @property
    def is_year(self):
        return (self.first_day.month, self.first_day.day, self.last_day.month, self.last_day.day) == (1, 1, 12, 31) \
            and self.first_day.year == self.last_day.year

    def bounds(self):
        """The first moment of the period and the first after it, in the project's time zone."""
        zone = timezone.get_default_timezone()
        return (datetime.datetime.combine(self.first_day, datetime.time(), tzinfo=zone),
                datetime.datetime.combine(self.last_day + ONE_DAY, datetime.time(), tzinfo=zone))

    def year_before(self):
        """The same days one year earlier (29 February becomes the 28th)."""
        return Period(_year_earlier(self.first_day), _year_earlier(self.last_day))

    def months(self):
        month = self.first_day.replace(day=1)
        while month <= self.last_day:
            yield month
            month = (month + datetime.timedelta(days=32)).replace(day=1)

    def label(self):
        if self.is_year:
            return str(self.first_day.year)
        return f"{date_format(self.first_day, 'SHORT_DATE_FORMAT')}–{date_format(self.last_day, 'SHORT_DATE_FORMAT')}"


def _year_earlier(day):
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


# Tables -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # text, int, percent (Decimal, 1 place), decimal (Decimal, 1 place), money, month (a date)
    kind: str = "int"


@dataclass
class Table:
    """One table of the report: what the dashboard shows, the files and the API carry."""

    key: str
    title: str
    columns: list
    rows: list
    total: dict | None = None
    note: str = ""

    @property
    def all_rows(self):
        return [*self.rows, self.total] if self.total is not None else list(self.rows)


def share(part, whole, places="0.1"):
    """`part` as a percentage of `whole`, rounded half up; None when `whole` is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def change(now, before):
    """The change from `before` to `now` in percent (1 place), None when there was nothing before."""
    if not before:
        return None
    return ((Decimal(now) - Decimal(before)) * 100 / Decimal(before)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# The queries' building blocks -------------------------------------------------------------------


class LocalDate(Func):
    """The day in the project's time zone (Europe/Berlin) of a moment, computed by the database:
    PostgreSQL with AT TIME ZONE; SQLite with its own 'localtime' (the C library's time zone,
    which Django sets to TIME_ZONE), instead of Django's TruncDate, which calls back into Python
    for every row there."""

    arity = 1
    output_field = DateField()

    def _trunc(self):
        return TruncDate(*self.get_source_expressions(), tzinfo=timezone.get_default_timezone())

    def as_sql(self, compiler, connection, **extra):
        return compiler.compile(self._trunc())

    def as_sqlite(self, compiler, connection, **extra):
        if os.environ.get("TZ") != settings.TIME_ZONE:
            return compiler.compile(self._trunc())
        return super().as_sql(compiler, connection, template="date(%(expressions)s, 'localtime')", **extra)


class DaysBetween(Func):
    """Whole days from the date `earlier` to the date `later`, in the database (no Python per row)."""

    arity = 2
    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="CAST(ROUND(julianday(%(expressions)s)) AS INTEGER)",
                              arg_joiner=") - julianday(", **extra)


class MonthOf(Func):
    """The first day of the month of a date, in the database."""

    arity = 1
    output_field = DateField()

    def as_sql(self, compiler, connection, **extra):
        return compiler.compile(TruncMonth(*self.get_source_expressions(), output_field=DateField()))

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="DATE_TRUNC('month', %(expressions)s)::date", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Dates are stored as YYYY-MM-DD text.
        return super().as_sql(compiler, connection, template="(substr(%(expressions)s, 1, 8) || '01')", **extra)


def _local_date(name):
    return LocalDate(name)


def _whole_days(days):
    return days or 0


def _bookings(period, locations, prefix=""):
    """Filter on reservations whose pickup day is in the period, at the given counters."""
    condition = Q(**{f"{prefix}pickup_day__gte": period.first_day, f"{prefix}pickup_day__lte": period.last_day})
    if locations is not None:
        condition &= Q(**{f"{prefix}location__in": locations})
    return condition


ALL = object()  # every school type
LOAN = Q(status__in=LOAN_STATUSES)
# Hand-overs of loans only: units scanned at the desk or packed for a tour are not lent yet.
LENT = Q(reservation__status__in=LOAN_STATUSES)
NOT_CANCELLED = ~Q(status=ReservationStatus.CANCELLED)


def _unit_counts(prefix="reservation__"):
    """Units lent and loan days over hand-overs (each unit: pickup through return day)."""
    return {
        "units_lent": Count("pk"),
        "loan_span": Sum(DaysBetween(F(f"{prefix}return_day"), F(f"{prefix}pickup_day"))),
    }


@dataclass
class _Facts:
    """A period's bookings and units lent, each read once grouped by month, school and school
    type (a few thousand groups at most), and the teachers with a loan by school type; the
    tables by month, school type and school, the headline and the reliability figures are sums
    over these groups."""

    bookings: list
    units: list
    teachers: list  # (school_type, TeacherReach.ref) of every teacher-year with a loan

    def sums(self, rows, key, fields):
        result = {}
        for row in rows:
            group = result.setdefault(row[key] if key else None, dict.fromkeys(fields, 0))
            for name in fields:
                group[name] += row[name] or 0
        return result

    def lending(self, key):
        """{group: bookings, loans, units_lent, loan_days} with `key` month, school_id or school_type."""
        counts = self.sums(self.bookings, key, ("bookings", "loans"))
        units = self.sums(self.units, key, ("units_lent", "loan_days"))
        return {group: {"bookings": 0, "loans": 0, "units_lent": 0, "loan_days": 0,
                        **counts.get(group, {}), **units.get(group, {})} for group in set(counts) | set(units)}

    def schools_reached(self, school_type=ALL):
        return len({row["school_id"] for row in self.bookings
                    if row["loans"] and (school_type is ALL or row["school_type"] == school_type)})

    def teachers_reached(self, school_type=ALL):
        return len({ref for kind, ref in self.teachers if school_type is ALL or kind == school_type})


def _facts(period, locations):
    """Three grouped queries, whatever the number of bookings."""
    group = {"month": MonthOf("pickup_day")}
    bookings = list(
        Reservation.objects.filter(_bookings(period, locations)).annotate(**group)
        .values("month", "school_id", "school_type").annotate(
            made=Count("pk"), bookings=Count("pk", filter=NOT_CANCELLED), loans=Count("pk", filter=LOAN),
            no_shows=Count("pk", filter=Q(status=ReservationStatus.NO_SHOW)),
            cancellations=Count("pk", filter=Q(status=ReservationStatus.CANCELLED)),
            due=Count("pk", filter=Q(status__in=(ReservationStatus.NO_SHOW, *LOAN_STATUSES))),
            extended=Count("pk", filter=LOAN & Q(Exists(ReservationEvent.objects.filter(
                reservation=OuterRef("pk"), action=ReservationEvent.Action.EXTENDED)))),
        ).order_by()
    )
    units = [
        {**row, "loan_days": _whole_days(row["loan_span"]) + row["units_lent"]}
        for row in Handover.objects.filter(_bookings(period, locations, "reservation__"), LENT)
        .annotate(month=MonthOf("reservation__pickup_day"), school_id=F("reservation__school_id"),
                  school_type=F("reservation__school_type"))
        .values("month", "school_id", "school_type")
        .annotate(**_unit_counts(), returned=Count("pk", filter=Q(returned_at__isnull=False))).order_by()
    ]
    # Teachers by the calendar years of the period (TeacherReach: no booking carries who borrowed it).
    teachers = TeacherReach.objects.filter(year__gte=period.first_day.year, year__lte=period.last_day.year)
    if locations is not None:
        teachers = teachers.filter(location__in=locations)
    teachers = list(teachers.values_list("school_type", "ref").distinct().order_by())
    return _Facts(bookings=bookings, units=units, teachers=teachers)


def _lending_row(counts, units):
    """Bookings, loans, units lent and loan days of one group from the two queries' rows."""
    return {
        "bookings": counts.get("bookings", 0), "loans": counts.get("loans", 0),
        "units_lent": units.get("units_lent", 0),
        "loan_days": _whole_days(units.get("loan_span")) + units.get("units_lent", 0),
    }


LENDING_COLUMNS = [
    Column("bookings", _("Bookings")), Column("loans", _("Loans")), Column("units_lent", _("Units lent")),
    Column("loan_days", _("Loan days")),
]


def _total(rows, keys, label_key, label):
    total = {label_key: label}
    for key in keys:
        total[key] = sum(row[key] or 0 for row in rows)
    return total


# The report ------------------------------------------------------------------------------------


@dataclass
class Report:
    period: Period
    locations: object  # a list of counters, or None for all
    today: datetime.date
    tables: dict = field(default_factory=dict)
    headline: dict = field(default_factory=dict)
    previous: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.tables[key]


TABLE_KEYS = (
    "overview", "by_month", "by_school_type", "by_item_type", "by_category", "by_school", "utilisation",
    "reliability", "cancellations", "damage", "qualifications", "qualifications_by_month",
)


def statistics_report(*, period, locations=None, today=None):
    """Every table of the report for `period` at `locations` (a list of counters; None: all).

    Tables (Report.tables, in TABLE_KEYS order): overview (headline figures against the same days
    a year earlier), by_month, by_school_type, by_item_type, by_category, by_school, utilisation,
    reliability, cancellations, damage, qualifications, qualifications_by_month. A fixed number of
    queries (33), whatever the size of the data.
    """
    today = today or timezone.localdate()
    if locations is not None:
        locations = list(locations)
    report = Report(period=period, locations=locations, today=today)
    facts, facts_before = _facts(period, locations), _facts(period.year_before(), locations)
    report.headline = _headline(period, locations, facts)
    report.previous = _headline(period.year_before(), locations, facts_before)
    lending, utilisation, item_units = _by_item_type_and_utilisation(period, locations, today)
    tables = [
        _overview(report), _by_month(period, facts), _by_school_type(facts, facts_before), lending, utilisation,
        _by_category(period, locations, item_units), _by_school(facts), *_reliability(period, locations, facts, report.headline["extensions"]),
        _damage(period, locations), *_qualifications(period, locations),
    ]
    report.tables = {table.key: table for table in sorted(tables, key=lambda table: TABLE_KEYS.index(table.key))}
    return report


def _headline(period, locations, facts):
    """The figures the overview compares with the year before: the facts and three queries."""
    totals = facts.sums(facts.bookings, None, ("bookings", "loans", "no_shows", "cancellations")).get(None, {})
    lending = facts.lending(None).get(None, {})
    extensions = ReservationEvent.objects.filter(
        _bookings(period, locations, "reservation__"), action=ReservationEvent.Action.EXTENDED).count()
    refused = RefusedRequest.objects.filter(_bookings(period, locations)).count()
    grants = QualificationTraining.objects.filter(granted_on__range=(period.first_day, period.last_day)).count()
    return {
        "bookings": 0, "loans": 0, "units_lent": 0, "loan_days": 0, **lending,
        "schools": facts.schools_reached(), "teachers": facts.teachers_reached(),
        "no_shows": totals.get("no_shows", 0), "cancellations": totals.get("cancellations", 0),
        "extensions": extensions, "refused": refused, "qualifications_granted": grants,
    }


OVERVIEW_FIGURES = (
    ("bookings", _("Bookings")), ("loans", _("Loans")), ("units_lent", _("Units lent")),
    ("loan_days", _("Loan days")), ("schools", _("Schools reached")), ("teachers", _("Teachers reached")),
    ("no_shows", _("Not picked up")), ("cancellations", _("Cancellations")), ("extensions", _("Extensions")),
    ("refused", _("Requests refused for lack of units")),
    ("qualifications_granted", _("Qualifications granted")),
)


def _overview(report):
    rows = [
        {"figure": str(label), "value": report.headline[key], "previous": report.previous[key],
         "change": change(report.headline[key], report.previous[key])}
        for key, label in OVERVIEW_FIGURES
    ]
    return Table(
        "overview", _("Overview"),
        [Column("figure", _("Figure"), "text"), Column("value", _("Period")),
         Column("previous", _("A year earlier")), Column("change", _("Change (%)"), "percent")],
        rows, note=_("The same days one year earlier are compared."),
    )


EMPTY_LENDING = {"bookings": 0, "loans": 0, "units_lent": 0, "loan_days": 0}


def _by_month(period, facts):
    by_month = facts.lending("month")
    rows = [{"month": month, **by_month.get(month, EMPTY_LENDING)} for month in period.months()]
    return Table("by_month", _("Lending by month"), [Column("month", _("Month"), "month"), *LENDING_COLUMNS],
                 rows, _total(rows, ("bookings", "loans", "units_lent", "loan_days"), "month", _("Total")))


def _by_school_type(facts, facts_before):
    lending, before = facts.lending("school_type"), facts_before.lending("school_type")
    active = dict(School.objects.filter(active=True).values("school_type").annotate(n=Count("pk"))
                  .order_by().values_list("school_type", "n"))
    all_loans = sum(row["loans"] for row in lending.values())
    rows = []
    for value, label in [*SchoolType.choices, ("", _("School type not known"))]:
        if value == "" and value not in lending:
            continue
        row = {
            "school_type": str(label), **lending.get(value, EMPTY_LENDING),
            "schools": facts.schools_reached(value), "active_schools": active.get(value, 0),
            "teachers": facts.teachers_reached(value), "loans_before": before.get(value, EMPTY_LENDING)["loans"],
        }
        row["reach"] = share(row["schools"], row["active_schools"])
        row["loan_share"] = share(row["loans"], all_loans)
        row["change"] = change(row["loans"], row["loans_before"])
        rows.append(row)
    keys = ("bookings", "loans", "units_lent", "loan_days", "active_schools", "loans_before")
    total = _total(rows, keys, "school_type", _("Total"))
    # A school or teacher is counted once in the total, however many types it had.
    total["schools"], total["teachers"] = facts.schools_reached(), facts.teachers_reached()
    total["reach"] = share(total["schools"], total["active_schools"])
    total["loan_share"] = share(total["loans"], all_loans)
    total["change"] = change(total["loans"], total["loans_before"])
    return Table(
        "by_school_type", _("Lending and reach by school type"),
        [Column("school_type", _("School type"), "text"), *LENDING_COLUMNS,
         Column("loan_share", _("Share of loans (%)"), "percent"),
         Column("schools", _("Schools reached")), Column("active_schools", _("Active schools")),
         Column("reach", _("Schools reached (%)"), "percent"), Column("teachers", _("Teachers reached")),
         Column("loans_before", _("Loans a year earlier")), Column("change", _("Change (%)"), "percent")],
        rows, total,
        note=_("A booking keeps the school type its school had when it was booked. Active schools: "
               "the schools marked active today."),
    )


def _item_type_names(item_type_ids):
    return {
        item_type.pk: item_type
        for item_type in ItemType.objects.filter(pk__in=item_type_ids).select_related("category", "location")
    }


def _sorted_item_types(item_types):
    # Sorted here, not by the database: SQLite and PostgreSQL collate upper and lower case apart.
    return sorted(item_types, key=lambda item_type: (item_type.location.name.casefold(),
                                                     item_type.name.casefold(), item_type.pk))


def _by_item_type_and_utilisation(period, locations, today):
    lines = {
        row["item_type_id"]: row for row in ReservationLine.objects.filter(_bookings(period, locations, "reservation__"))
        .values("item_type_id").annotate(
            bookings=Count("pk", filter=~Q(reservation__status=ReservationStatus.CANCELLED)),
            units_booked=Sum("quantity", filter=~Q(reservation__status=ReservationStatus.CANCELLED)),
            loans=Count("pk", filter=Q(reservation__status__in=LOAN_STATUSES)),
        ).order_by()
    }
    units = {
        row["unit__item_type_id"]: row
        for row in Handover.objects.filter(_bookings(period, locations, "reservation__"), LENT)
        .values("unit__item_type_id").annotate(**_unit_counts()).order_by()
    }
    usage = _utilisation(period, locations, today)
    ids = set(lines) | set(units) | set(usage)
    item_types_by_pk = _item_type_names(ids)
    item_types = _sorted_item_types(item_types_by_pk.values())

    def names(item_type):
        return {"item_type": item_type.name, "category": item_type.category.name, "location": item_type.location.name}

    lending_rows, usage_rows = [], []
    for item_type in item_types:
        if item_type.pk in lines or item_type.pk in units:
            row_lines = lines.get(item_type.pk, {})
            lending_rows.append({
                **names(item_type), **_lending_row(row_lines, units.get(item_type.pk, {})),
                "units_booked": row_lines.get("units_booked") or 0,
            })
        if item_type.pk in usage:
            usage_rows.append({**names(item_type), **usage[item_type.pk]})
    keys = ("bookings", "units_booked", "loans", "units_lent", "loan_days")
    naming = [Column("item_type", _("Item"), "text"), Column("category", _("Category"), "text"),
              Column("location", _("Location"), "text")]
    lending = Table(
        "by_item_type", _("Lending by item"),
        [*naming, Column("bookings", _("Bookings")), Column("units_booked", _("Units booked")),
         Column("loans", _("Loans")), Column("units_lent", _("Units lent")), Column("loan_days", _("Loan days"))],
        lending_rows, _total(lending_rows, keys, "item_type", _("Total")),
    )
    usage_keys = ("units", "unit_days", "days_on_loan", "refused", "refused_units", "waiting", "waiting_units")
    usage_total = _total(usage_rows, usage_keys, "item_type", _("Total"))
    usage_total["utilisation"] = share(usage_total["days_on_loan"], usage_total["unit_days"])
    usage_total["days_booked_out"] = None
    utilisation = Table(
        "utilisation", _("Utilisation by item"),
        [*naming, Column("units", _("Units in use")), Column("unit_days", _("Unit-days")),
         Column("days_on_loan", _("Unit-days on loan")), Column("utilisation", _("Utilisation (%)"), "percent"),
         Column("days_booked_out", _("Days booked out")), Column("refused", _("Requests refused")),
         Column("refused_units", _("Units refused")), Column("waiting", _("Waiting-list entries")),
         Column("waiting_units", _("Units waited for"))],
        usage_rows, usage_total,
        note=_("Unit-days: units in use times the days of the period up to today. On loan: from the "
               "hand-over to the return, both days counted. Booked out: days on which bookings took "
               "every unit in use."),
    )
    return lending, utilisation, {pk: (item_types_by_pk[pk], units[pk]) for pk in units if pk in item_types_by_pk}


def _utilisation(period, locations, today):
    """{item_type_id: utilisation figures}: five queries."""
    last = min(period.last_day, today)
    counted = Period(period.first_day, last) if last >= period.first_day else None
    start, end = period.bounds()
    in_use = units_in_use(start=start, end=end)
    if locations is not None:
        in_use = in_use.filter(item_type__location__in=locations)
    unit_counts = dict(in_use.values("item_type_id").annotate(n=Count("pk")).order_by()
                       .values_list("item_type_id", "n"))
    on_loan, booked_out = {}, {}
    if counted is not None:
        first = Value(counted.first_day, output_field=DateField())
        stop = Value(counted.last_day, output_field=DateField())
        counted_start, counted_end = counted.bounds()
        handovers = Handover.objects.filter(handed_out_at__lt=counted_end).filter(
            Q(returned_at__isnull=True) | Q(returned_at__gte=counted_start))
        if locations is not None:
            handovers = handovers.filter(unit__item_type__location__in=locations)
        on_loan = {
            row["unit__item_type_id"]: _whole_days(row["span"]) + row["n"]
            for row in handovers.annotate(
                out=Greatest(_local_date("handed_out_at"), first, output_field=DateField()),
                back=Least(Coalesce(_local_date("returned_at"), stop), stop, output_field=DateField()),
            ).values("unit__item_type_id").annotate(span=Sum(DaysBetween(F("back"), F("out"))), n=Count("pk")).order_by()
        }
        booked_out = _days_booked_out(counted, locations, unit_counts)
    refused = {
        row["item_type_id"]: row for row in RefusedRequest.objects.filter(_bookings(period, locations))
        .values("item_type_id").annotate(n=Count("pk"), units=Sum("quantity")).order_by()
    }
    waiting = {
        row["item_type_id"]: row for row in WaitlistEntry.objects.filter(_bookings(period, locations))
        .values("item_type_id").annotate(n=Count("pk"), units=Sum("quantity")).order_by()
    }
    result = {}
    for item_type_id in set(unit_counts) | set(on_loan) | set(refused) | set(waiting):
        units = unit_counts.get(item_type_id, 0)
        unit_days = units * counted.days if counted is not None else 0
        result[item_type_id] = {
            "units": units, "unit_days": unit_days, "days_on_loan": on_loan.get(item_type_id, 0),
            "utilisation": share(on_loan.get(item_type_id, 0), unit_days),
            "days_booked_out": booked_out.get(item_type_id, 0),
            "refused": refused.get(item_type_id, {}).get("n", 0),
            "refused_units": refused.get(item_type_id, {}).get("units") or 0,
            "waiting": waiting.get(item_type_id, {}).get("n", 0),
            "waiting_units": waiting.get(item_type_id, {}).get("units") or 0,
        }
    return result


def _days_booked_out(period, locations, unit_counts):
    """{item_type_id: days of `period` on which bookings took every unit in use}: two grouped
    queries (units booked from each pickup day, units freed after each return day) and a sweep
    over their rows."""
    lines = ReservationLine.objects.filter(
        reservation__status__in=BOOKED_STATUSES, reservation__pickup_day__lte=period.last_day,
        reservation__return_day__gte=period.first_day,
    )
    if locations is not None:
        lines = lines.filter(reservation__location__in=locations)
    # Days as offsets from the period's first day: integers, no date conversion per row.
    first = Value(period.first_day, output_field=DateField())
    changes = {}
    for field_name, sign, shift in (("reservation__pickup_day", 1, 0), ("reservation__return_day", -1, 1)):
        for row in (lines.annotate(offset=DaysBetween(F(field_name), first)).values("item_type_id", "offset")
                    .annotate(q=Sum("quantity")).order_by()):
            day = max(row["offset"] + shift, 0)
            if day < period.days:
                deltas = changes.setdefault(row["item_type_id"], {})
                deltas[day] = deltas.get(day, 0) + sign * row["q"]
    result = {}
    for item_type_id, deltas in changes.items():
        units = unit_counts.get(item_type_id, 0)
        if not units:
            continue
        booked, full_days = 0, 0
        days = sorted(deltas)
        for day, following in zip(days, [*days[1:], period.days]):
            booked += deltas[day]
            if booked >= units:
                full_days += following - day
        result[item_type_id] = full_days
    return result


def _by_category(period, locations, item_units):
    """Bookings and loans by category (one query: a booking with two items of one category counts
    once), units lent and loan days as the sums of the category's items."""
    lines = {
        row["item_type__category_id"]: row
        for row in ReservationLine.objects.filter(_bookings(period, locations, "reservation__"))
        .values("item_type__category_id").annotate(
            bookings=Count("reservation", distinct=True, filter=~Q(reservation__status=ReservationStatus.CANCELLED)),
            loans=Count("reservation", distinct=True, filter=Q(reservation__status__in=LOAN_STATUSES)),
        ).order_by()
    }
    units = {}
    for item_type, row in item_units.values():
        group = units.setdefault(item_type.category_id, {"units_lent": 0, "loan_span": 0})
        group["units_lent"] += row["units_lent"]
        group["loan_span"] += row["loan_span"] or 0
    categories = Category.objects.filter(pk__in=set(lines) | set(units))
    rows = [{"category": category.name, **_lending_row(lines.get(category.pk, {}), units.get(category.pk, {}))}
            for category in sorted(categories, key=lambda category: (category.position, category.name.casefold()))]
    return Table(
        "by_category", _("Lending by category"), [Column("category", _("Category"), "text"), *LENDING_COLUMNS], rows,
        note=_("A booking with items of two categories counts in both."),
    )


def _by_school(facts):
    lending = facts.lending("school_id")
    schools = School.objects.filter(pk__in=set(lending))
    rows = [
        {"school": school.name, "number": school.number, "school_type": school.get_school_type_display(),
         **lending[school.pk]}
        for school in schools
    ]
    rows.sort(key=lambda row: (-row["loans"], -row["bookings"], row["school"].casefold(), row["number"]))
    return Table(
        "by_school", _("Lending by school"),
        [Column("school", _("School"), "text"), Column("number", _("School number"), "text"),
         Column("school_type", _("School type today"), "text"), *LENDING_COLUMNS],
        rows, _total(rows, ("bookings", "loans", "units_lent", "loan_days"), "school", _("Total")),
    )


def _median_of(histogram):
    """The median of {value: count} (the mean of the two middle values for an even count)."""
    count = sum(histogram.values())
    if not count:
        return None
    middle, seen, values = (count - 1) / 2, 0, []
    for value in sorted(histogram):
        first, seen = seen, seen + histogram[value]
        for position in (int(middle), int(middle + 0.5)):
            if first <= position < seen:
                values.append(value)
    return (Decimal(values[0] + values[-1]) / 2).quantize(Decimal("0.1"))


def _reliability(period, locations, facts, extensions):
    """Reliability (no-shows, late returns, extensions, cancellations) and cancellations by lead."""
    fields = ("made", "no_shows", "due", "cancellations", "extended", "loans")
    bookings = facts.sums(facts.bookings, None, fields).get(None, dict.fromkeys(fields, 0))
    # The units returned come with the facts; only the few late ones are read again (an index of
    # their own), grouped by how many days late.
    returned = facts.sums(facts.units, None, ("returned",)).get(None, {}).get("returned", 0)
    late_days = {}
    for row in (Handover.objects.filter(_bookings(period, locations, "reservation__"), returned_late=True,
                                        returned_at__isnull=False)
                # Collected by the tour, a unit is back when collected, not when unloaded.
                .annotate(late_by=DaysBetween(Coalesce(_local_date("reservation__collected_at"),
                                                       _local_date("returned_at")), F("reservation__return_day")))
                .values("late_by").annotate(n=Count("pk")).order_by()):
        days = max(_whole_days(row["late_by"]), 0)
        late_days[days] = late_days.get(days, 0) + row["n"]
    late_units = sum(late_days.values())
    rows = [
        {"figure": str(_("Bookings made")), "value": bookings["made"], "share": None, "note": ""},
        {"figure": str(_("Not picked up")), "value": bookings["no_shows"],
         "share": share(bookings["no_shows"], bookings["due"]), "note": str(_("of bookings due for pickup"))},
        {"figure": str(_("Units returned late")), "value": late_units, "share": share(late_units, returned),
         "note": str(_("of units returned"))},
        {"figure": str(_("Median days late")), "value": _median_of(late_days), "share": None,
         "note": str(_("of units returned late"))},
        {"figure": str(_("Extensions")), "value": extensions, "share": None, "note": ""},
        {"figure": str(_("Loans extended")), "value": bookings["extended"],
         "share": share(bookings["extended"], bookings["loans"]), "note": str(_("of loans"))},
        {"figure": str(_("Cancellations")), "value": bookings["cancellations"],
         "share": share(bookings["cancellations"], bookings["made"]), "note": str(_("of bookings made"))},
    ]
    reliability = Table(
        "reliability", _("Reliability"),
        [Column("figure", _("Figure"), "text"), Column("value", _("Count"), "decimal"),
         Column("share", _("Share (%)"), "percent"), Column("note", _("Share of"), "text")],
        rows, note=_("Late: returned after the agreed return day (with its extensions)."),
    )
    leads = {}
    for row in (ReservationEvent.objects.filter(_bookings(period, locations, "reservation__"),
                                                action=ReservationEvent.Action.CANCELLED)
                .annotate(lead=DaysBetween(F("reservation__pickup_day"), _local_date("at")))
                .values("lead").annotate(n=Count("reservation", distinct=True)).order_by()):
        days = _whole_days(row["lead"])
        bucket = 0
        for index, (lowest, _label) in enumerate(CANCELLATION_LEADS):
            if lowest is not None and days >= lowest:
                bucket = index
        leads[bucket] = leads.get(bucket, 0) + row["n"]
    cancelled = sum(leads.values())
    cancellation_rows = [
        {"lead": str(label), "cancellations": leads.get(index, 0), "share": share(leads.get(index, 0), cancelled)}
        for index, (_lowest, label) in enumerate(CANCELLATION_LEADS)
    ]
    cancellations = Table(
        "cancellations", _("Cancellations by how far ahead"),
        [Column("lead", _("Cancelled"), "text"), Column("cancellations", _("Cancellations")),
         Column("share", _("Share (%)"), "percent")],
        cancellation_rows, {"lead": str(_("Total")), "cancellations": cancelled, "share": share(cancelled, cancelled)},
    )
    return reliability, cancellations


def _damage(period, locations):
    start, end = period.bounds()
    statistics = damage_statistics_between(start=start, end=end, locations=locations)
    rows = [
        {"item_type": row.label, "units": row.units if row.item_type or row.is_total else None,
         "damage_cases": row.damage_cases, "damage_rate": row.damage_rate, "thefts": row.thefts,
         "losses": row.losses, "theft_loss_rate": row.theft_loss_rate,
         "compensation_cases": row.compensation_cases, "compensation_sum": row.compensation_sum}
        for row in statistics.all_rows
    ]
    return Table(
        "damage", _("Damage, theft and loss"),
        [Column("item_type", _("Item"), "text"), Column("units", _("Units")),
         Column("damage_cases", _("Damage cases")), Column("damage_rate", _("Damage share (%)"), "percent"),
         Column("thefts", _("Thefts")), Column("losses", _("Losses")),
         Column("theft_loss_rate", _("Theft/loss share (%)"), "percent"),
         Column("compensation_cases", _("Compensation cases")), Column("compensation_sum", _("Compensation (EUR)"), "money")],
        rows[:-1], rows[-1],
        note=_("Units: all units of the item in use during the period. Cases count on the day reported; "
               "the share is cases per 100 units."),
    )


def _qualifications(period, locations):
    grants = QualificationTraining.objects.filter(granted_on__range=(period.first_day, period.last_day))
    by_month = {
        (row["qualification_id"], row["month"]): row["n"]
        for row in grants.annotate(month=TruncMonth("granted_on")).values("qualification_id", "month")
        .annotate(n=Count("pk")).order_by()
    }
    unlocked = dict(
        Reservation.objects.filter(_bookings(period, locations), NOT_CANCELLED,
                                   lines__item_type__required_qualification__isnull=False)
        .values("lines__item_type__required_qualification").annotate(n=Count("pk", distinct=True)).order_by()
        .values_list("lines__item_type__required_qualification", "n")
    )
    qualifications = sorted(Qualification.objects.all(), key=lambda qualification: qualification.name.casefold())
    rows = [
        {"qualification": qualification.name,
         "granted": sum(n for (pk, _month), n in by_month.items() if pk == qualification.pk),
         "bookings_unlocked": unlocked.get(qualification.pk, 0)}
        for qualification in qualifications
    ]
    summary = Table(
        "qualifications", _("Qualifications"),
        [Column("qualification", _("Qualification"), "text"), Column("granted", _("Granted")),
         Column("bookings_unlocked", _("Bookings it unlocked"))],
        rows, _total(rows, ("granted", "bookings_unlocked"), "qualification", _("Total")),
        note=_("Granted: by the day granted, at every counter. Bookings unlocked: bookings of items "
               "that need the qualification."),
    )
    month_rows = []
    for month in period.months():
        for qualification in qualifications:
            granted = by_month.get((qualification.pk, month), 0)
            if granted:
                month_rows.append({"month": month, "qualification": qualification.name, "granted": granted})
    by_month_table = Table(
        "qualifications_by_month", _("Qualifications granted by month"),
        [Column("month", _("Month"), "month"), Column("qualification", _("Qualification"), "text"),
         Column("granted", _("Granted"))],
        month_rows, _total(month_rows, ("granted",), "month", _("Total")),
    )
    return summary, by_month_table


# Who sees which counters, and which periods -----------------------------------------------------

# The longest period one report covers (the month table has a row per month).
MAX_PERIOD_DAYS = 10 * 365 + 3  # ten years with their leap days
FIRST_DAY = datetime.date(2000, 1, 1)


def statistics_scope(*, user, slug=""):
    """(locations for statistics_report, the counters `user` may choose from) for `slug` ("" for
    all they may see): administrators see every counter (None: all, also those added later),
    counter staff the counters they work at. PermissionDenied for anyone else; LookupError for a
    counter they may not see or that does not exist (the same answer for both)."""
    from lending.selectors import staff_locations

    if not user.is_authenticated or not user.is_counter_staff:
        raise PermissionDenied
    choices = sorted(staff_locations(user), key=lambda location: (location.name.casefold(), location.pk))
    if not choices:
        raise PermissionDenied
    if slug:
        chosen = [location for location in choices if location.slug == slug]
        if not chosen:
            raise LookupError(slug)
        return chosen, choices
    return (None if user.role == Role.ADMIN else choices), choices


def period_problem(first_day, last_day, today):
    """Why a period cannot be reported (a translated sentence), or None."""
    if last_day < first_day:
        return _("The last day must not be before the first day.")
    if first_day < FIRST_DAY or last_day > today.replace(year=today.year + 2, day=min(today.day, 28)):
        return _("Choose days from %(first)s to two years ahead.") % {"first": FIRST_DAY.year}
    if (last_day - first_day).days >= MAX_PERIOD_DAYS:
        return _("Choose at most ten years at a time.")
    return None

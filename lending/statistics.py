"""Reads for the follow-up of damage reports and for the yearly damage and loss statistics.

The statistics reproduce the tables of a media centre's annual report ("Schadensfälle" and
"Diebstahl und Verlust", as a share of the units in use that year), per item type and in total.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import ItemType, Unit, UnitStatus
from lending.models import DamageReport, UnitEvent

FIRST_YEAR = 2000  # no centre kept these figures in this system before; keeps the form's range sane


def _reports_at_q(locations, prefix=""):
    # A report with a unit belongs to the unit's counter; one for a loan as a whole (no unit) to
    # the booking's counter. `locations`: a list or queryset of counters.
    return Q(**{f"{prefix}unit__item_type__location__in": locations}) | Q(
        **{f"{prefix}unit__isnull": True, f"{prefix}reservation__location__in": locations}
    )


def _open_first(reports):
    return reports.annotate(
        open_first=Case(
            When(status=DamageReport.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("open_first", "-reported_at", "-id")


def damage_reports_at(*, location):
    """The damage reports of one counter, open ones first, newest first within each status,
    with what the follow-up list shows (unit, item, booking, borrower, school)."""
    return _open_first(
        DamageReport.objects.filter(_reports_at_q([location])).select_related(
            "unit", "unit__item_type", "reservation", "reservation__school", "reservation__borrower", "reported_by",
            "settled_by",
        )
    )


def damage_reports_at_counters(*, locations):
    """The damage reports of several counters (a staff member's: `staff_locations`), ordered as
    `damage_reports_at` orders them, with their unit and booking but not who reported or borrowed."""
    return _open_first(DamageReport.objects.filter(_reports_at_q(locations)).select_related("unit", "reservation"))


def year_bounds(year):
    """The first moment of the year and of the next one in the project's time zone (Europe/Berlin):
    a report at 00:30 on 1 January in Berlin belongs to the new year although it is still the old
    one in UTC."""
    zone = timezone.get_default_timezone()
    return (
        datetime.datetime(year, 1, 1, tzinfo=zone),
        datetime.datetime(year + 1, 1, 1, tzinfo=zone),
    )


def _rate(cases, units):
    if not units:
        return None
    return (Decimal(cases) * 100 / Decimal(units)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class DamageStatisticsRow:
    """One line of the statistics: an item type, the reports without a unit, or the total."""

    label: str
    item_type: ItemType | None = None
    units: int = 0
    damage_cases: int = 0
    thefts: int = 0
    losses: int = 0
    compensation_cases: int = 0
    compensation_sum: Decimal = field(default_factory=lambda: Decimal("0.00"))
    is_total: bool = False

    @property
    def theft_and_loss(self):
        return self.thefts + self.losses

    @property
    def damage_rate(self):
        """Damage cases as a percentage of the units, 2 decimals; None without units."""
        return _rate(self.damage_cases, self.units)

    @property
    def theft_loss_rate(self):
        """Thefts and losses as a percentage of the units, 2 decimals; None without units."""
        return _rate(self.theft_and_loss, self.units)

    def add(self, other):
        self.units += other.units
        self.damage_cases += other.damage_cases
        self.thefts += other.thefts
        self.losses += other.losses
        self.compensation_cases += other.compensation_cases
        self.compensation_sum += other.compensation_sum


@dataclass
class DamageStatistics:
    year: int
    location: object
    rows: list
    total: DamageStatisticsRow

    @property
    def all_rows(self):
        return [*self.rows, self.total]


def units_in_use(*, start, end):
    """Units that existed from `start` to `end` (datetimes; a year, or any period): every unit
    except those retired all through it.

    Retired units are kept, never deleted; when a unit was retired is known from its history. A
    unit is left out when it was retired before the period began (a status change to "retired"
    before its start) and its status did not change again before it ended; a unit retired
    during the period, or put back into service during it, was in use and counts. (Units have no
    acquisition date, so a unit added after the period is counted too.)
    """
    year_start, year_end = start, end
    later_change = UnitEvent.objects.filter(
        unit_id=OuterRef("unit_id"), action=UnitEvent.Action.STATUS_CHANGED, at__lt=year_end,
    ).filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk")))
    retired_all_year = UnitEvent.objects.filter(
        unit_id=OuterRef("pk"), action=UnitEvent.Action.STATUS_CHANGED, data__to=UnitStatus.RETIRED.value,
        at__lt=year_start,
    ).filter(~Exists(later_change))
    return Unit.objects.filter(~Exists(retired_all_year))


def damage_statistics(*, year, location=None):
    """Damage, theft and loss figures of one year per item type, plus a total row.

    Arguments: `year` (int), `location` (a counter, or None for all). Per item type: units in use
    that year (see `units_in_use`), reports of that year by kind (counted by the day reported,
    in Europe/Berlin), damage rate and theft/loss rate as a share of the units (Decimal percent with
    2 decimals, None without units), compensation cases (amount above zero) and their sum.
    Reports for a loan as a whole (no unit) form a row of their own without units; they count in
    the total. Item types with neither units nor reports that year are left out.
    Three queries, however many item types.
    """
    year_start, year_end = year_bounds(year)
    statistics = damage_statistics_between(start=year_start, end=year_end,
                                           locations=None if location is None else [location])
    statistics.year, statistics.location = year, location
    return statistics


def damage_statistics_between(*, start, end, locations=None):
    """`damage_statistics` for any period, from `start` to `end` (datetimes), at `locations` (a
    list of counters; None for all). Its `year` and `location` are None."""
    item_types = ItemType.objects.select_related("location")
    units = units_in_use(start=start, end=end)
    reports = DamageReport.objects.filter(reported_at__gte=start, reported_at__lt=end)
    if locations is not None:
        item_types = item_types.filter(location__in=locations)
        units = units.filter(item_type__location__in=locations)
        reports = reports.filter(_reports_at_q(locations))

    unit_counts = dict(
        units.values("item_type_id").annotate(count=Count("pk")).order_by().values_list("item_type_id", "count")
    )
    report_counts = {
        row["unit__item_type_id"]: row
        for row in reports.values("unit__item_type_id").annotate(
            damage_cases=Count("pk", filter=Q(kind=DamageReport.Kind.DAMAGE)),
            thefts=Count("pk", filter=Q(kind=DamageReport.Kind.THEFT)),
            losses=Count("pk", filter=Q(kind=DamageReport.Kind.LOSS)),
            compensation_cases=Count("pk", filter=Q(compensation_amount__gt=0)),
            compensation_sum=Sum("compensation_amount", filter=Q(compensation_amount__gt=0)),
        ).order_by()
    }

    def row_for(label, item_type, units_count, counts):
        return DamageStatisticsRow(
            label=label, item_type=item_type, units=units_count,
            damage_cases=counts.get("damage_cases", 0), thefts=counts.get("thefts", 0),
            losses=counts.get("losses", 0), compensation_cases=counts.get("compensation_cases", 0),
            compensation_sum=Decimal(counts.get("compensation_sum") or 0).quantize(Decimal("0.01")),
        )

    # Sorted here, not by the database: SQLite and PostgreSQL collate upper and lower case apart.
    item_types = sorted(
        item_types, key=lambda item_type: (item_type.location.name.casefold(), item_type.name.casefold(), item_type.pk)
    )
    rows = []
    for item_type in item_types:
        units_count = unit_counts.get(item_type.pk, 0)
        counts = report_counts.get(item_type.pk, {})
        if units_count or counts:
            rows.append(row_for(item_type.name, item_type, units_count, counts))
    if None in report_counts:
        rows.append(row_for(gettext("Whole loan (no unit given)"), None, 0, report_counts[None]))

    total = DamageStatisticsRow(label=gettext("Total"), is_total=True)
    for row in rows:
        total.add(row)
    return DamageStatistics(year=None, location=None, rows=rows, total=total)

"""Reads of the catalogue: counter days, closures, item types."""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from catalog.models import LOANABLE_UNIT_STATUSES, Closure, ItemType, Unit

ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class CounterDay:
    day: datetime.date
    is_counter_weekday: bool
    closure_reason: str | None = None  # None: no closure on this day

    @property
    def is_closed(self):
        return self.closure_reason is not None

    @property
    def is_open(self):
        return self.is_counter_weekday and not self.is_closed


def counter_days(*, location, first_day, last_day):
    """Every day from first_day through last_day with whether the counter is open. One query."""
    closures = Closure.objects.filter(
        location=location, first_day__lte=last_day, last_day__gte=first_day
    ).values_list("first_day", "last_day", "reason")
    reasons = {}
    for closure_first, closure_last, reason in closures:
        day = max(closure_first, first_day)
        while day <= min(closure_last, last_day):
            reasons.setdefault(day, reason)
            day += ONE_DAY
    weekdays = set(location.counter_weekdays)
    days = []
    day = first_day
    while day <= last_day:
        days.append(CounterDay(day, day.isoweekday() in weekdays, reasons.get(day)))
        day += ONE_DAY
    return days


def closure_on(*, location, day):
    """The closure covering `day` at `location`, or None."""
    return Closure.objects.filter(location=location, first_day__lte=day, last_day__gte=day).first()


def item_types_visible(*, search="", category=None):
    """The catalogue as teachers see it, with `loanable_units` counted. One query."""
    # A correlated subquery, not Count() over a join: grouping by every selected column of the
    # related rows costs more than the page's whole render at a few hundred item types.
    loanable_units = (
        Unit.objects.filter(item_type=OuterRef("pk"), status__in=LOANABLE_UNIT_STATUSES)
        .order_by().values("item_type").annotate(count=Count("pk")).values("count")
    )
    item_types = ItemType.objects.select_related("category", "location", "required_qualification").annotate(
        loanable_units=Coalesce(Subquery(loanable_units), 0)
    )
    if category is not None:
        item_types = item_types.filter(category=category)
    if search:
        item_types = item_types.filter(
            Q(name__icontains=search) | Q(description__icontains=search) | Q(category__name__icontains=search)
        )
    return item_types.order_by("category__position", "category__name", "name", "pk")


@dataclass(frozen=True)
class ItemTypePageRow:
    """What the item page needs before it knows whether its cache holds the page."""

    pk: int
    name: str
    min_lead_days: int
    max_advance_days: int
    max_loan_days: int
    required_qualification_id: int | None
    location_version: int


def _item_type_page_sql():
    item, location = ItemType._meta, ItemType._meta.get_field("location").related_model._meta
    columns = ", ".join(f"i.{item.get_field(name).column}" for name in (
        "id", "name", "min_lead_days", "max_advance_days", "max_loan_days", "required_qualification",
    ))
    return (
        f"SELECT {columns}, l.{location.get_field('version').column} FROM {item.db_table} i "
        f"JOIN {location.db_table} l ON l.{location.pk.column} = i.{item.get_field('location').column} "
        f"WHERE i.{item.get_field('slug').column} = %s"
    )


def item_type_page_row(*, slug):
    """The item type with this slug as an ItemTypePageRow, or None. One query, written as SQL:
    it runs on every view of an item page, and the ORM took ten times as long to build it as
    the database took to answer (catalog/versions.py reads the version the same way)."""
    with connection.cursor() as cursor:
        cursor.execute(_item_type_page_sql(), [slug])
        row = cursor.fetchone()
    return ItemTypePageRow(*row) if row else None

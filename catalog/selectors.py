"""Reads of the catalogue: counter days, closures, item types."""

import datetime
from dataclasses import dataclass

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

"""What the counter's daily digest lists for one counter day (the evening before it)."""

import datetime

from lending.models import DamageReport
from lending.at_risk import reservations_at_risk
from lending.selectors import counter_agenda

NEW_REPORT_DAYS = 7


def counter_day_digest(*, location, day):
    """{pickups_by_slot, pickups, returns, overdue, damage_reports} of `location` on `day`: the
    agenda as the counter will see it that morning, and the open damage reports of the last week."""
    agenda = counter_agenda(location=location, day=day, today=day)
    reports = list(DamageReport.objects.filter(
        reservation__location=location, status=DamageReport.Status.OPEN,
        reported_at__date__gte=day - datetime.timedelta(days=NEW_REPORT_DAYS),
    ).select_related("unit", "reservation").order_by("reported_at"))
    return {
        "at_risk": reservations_at_risk(today=day, location=location, pickup_until=day),
        "pickups_by_slot": agenda.pickups_by_slot,
        "pickups": [reservation for _slot, reservations in agenda.pickups_by_slot for reservation in reservations],
        "returns": agenda.returns, "overdue": agenda.overdue, "damage_reports": reports,
    }

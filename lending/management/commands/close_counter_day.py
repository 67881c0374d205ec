"""Mark bookings not picked up by the end of their pickup day as no-shows (for a cron job).

Run it after the counter closes, e.g. `30 18 * * 2,3 manage.py close_counter_day`. Marking frees
the units for others; each booking gets an event and its calendar entry is updated.
"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from catalog.models import Location
from lending.services import reservations_mark_no_shows


class Command(BaseCommand):
    help = "Mark bookings not picked up by the end of their pickup day as not picked up."

    def add_arguments(self, parser):
        parser.add_argument("--day", help="the counter day to close, YYYY-MM-DD (default: today)")
        parser.add_argument("--location", help="the short name of one location (default: all)")

    def handle(self, *args, day=None, location=None, **options):
        try:
            day = datetime.date.fromisoformat(day) if day else timezone.localdate()
        except ValueError:
            raise CommandError(f"--day must be a date like 2027-03-02, not {day!r}") from None
        if location is not None:
            location = Location.objects.filter(slug=location).first()
            if location is None:
                raise CommandError(f"no location with the short name {options.get('location')!r}")
        marked = reservations_mark_no_shows(day=day, location=location)
        for reservation in marked:
            self.stdout.write(f"not picked up: {reservation.code} ({reservation.pickup_day:%d.%m.%Y})")
        self.stdout.write(f"{len(marked)} booking(s) marked as not picked up.")

"""Move the waiting lists along (lending/waitlist.py): offers not taken in time lapse and go to the
next in line, entries whose pickup day has passed expire, and units that came free by a way no
booking service saw (a unit added or back from repair in the admin) are offered.

For cron, every few minutes (e.g. `*/5 * * * *`): two runs at once take the same locks as the
booking services and offer nothing twice. Offers made when a booking is cancelled, changed or
not picked up happen at once; this only catches up on time passing."""

from django.core.management.base import BaseCommand

from lending.waitlist import waitlist_process


class Command(BaseCommand):
    help = "Lapse waiting-list offers that ran out, expire passed entries, and offer free units."

    def handle(self, *args, **options):
        offered = waitlist_process()
        self.stdout.write(f"{offered} waiting-list offer(s) made")

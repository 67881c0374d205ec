"""Queue the reminders and overdue notices due today (notifications/reminders.py).

For cron, as often as you like (e.g. hourly from 7 to 18): a second run, or two at once, queues
nothing twice. The mail worker (`deliver_mail`) sends them."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.reminders import reminders_queue


class Command(BaseCommand):
    help = "Queue the pickup and return reminders and the overdue notices due today."

    def add_arguments(self, parser):
        parser.add_argument("--day", help="the day to run for, YYYY-MM-DD (default: today)")

    def handle(self, *args, day=None, **options):
        try:
            today = datetime.date.fromisoformat(day) if day else timezone.localdate()
        except ValueError:
            raise CommandError(f"--day must be a date like 2027-03-01, not {day!r}") from None
        result = reminders_queue(today=today)
        self.stdout.write(f"{today}: {result.pickup} pickup reminder(s), {result.returns} return reminder(s), "
                          f"{result.overdue} overdue notice(s), {result.copies} copies to staff, "
                          f"{result.qualifications} qualification notice(s), {result.digests} digest(s) "
                          "(already queued ones are not queued again)")

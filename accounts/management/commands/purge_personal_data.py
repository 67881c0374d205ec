"""Remove the link between people and loans that ended longer ago than the retention period.

For a daily cron job, e.g. `15 3 * * * manage.py purge_personal_data`. The retention period is
PERSONAL_DATA_RETENTION_DAYS (default 365) unless --days is given; --dry-run only counts.
Loans with an open damage report keep the link until the report is settled. Running it again
changes nothing more. It also forgets the API's stored answers to idempotency keys after
IDEMPOTENCY_KEY_DAYS (7), deletes expired API tokens, and removes sent and failed e-mails
after MAIL_RETENTION_DAYS (90).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.api_tokens import api_tokens_purge_expired
from accounts.services import personal_data_purge
from lending.services import IDEMPOTENCY_KEY_DAYS, idempotency_keys_purge
from lending.waitlist import waitlist_purge
from notifications.services import mails_purge


class Command(BaseCommand):
    help = "Remove the link between people and loans that ended more than N days ago."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help="retention period in days (default: PERSONAL_DATA_RETENTION_DAYS)")
        parser.add_argument("--dry-run", action="store_true", help="count only, change nothing")

    def handle(self, *args, days=None, dry_run=False, **options):
        days = settings.PERSONAL_DATA_RETENTION_DAYS if days is None else days
        if days < 0:
            raise CommandError(f"--days must not be negative, not {days}")
        result = personal_data_purge(older_than_days=days, today=timezone.localdate(), dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(f"Loans that ended before {result.cutoff:%Y-%m-%d} ({days} days):")
        self.stdout.write(f"  {result.reservations} booking(s): {verb} the borrower")
        self.stdout.write(f"  {result.reservation_events} booking event(s): {verb} the person")
        self.stdout.write(f"  {result.unit_events} unit event(s): {verb} the person")
        self.stdout.write(f"  {result.handovers} hand-over(s): {verb} the person")
        self.stdout.write(f"  {result.damage_reports} settled damage report(s): {verb} the reporter")
        self.stdout.write(f"  {result.kept_for_open_damage_cases} booking(s) kept: open damage report")
        entries = waitlist_purge(cutoff=result.cutoff, dry_run=dry_run)
        self.stdout.write(f"  {entries} ended waiting-list entry(ies): {verb} the teacher")
        keys = idempotency_keys_purge(now=timezone.now(), dry_run=dry_run)
        self.stdout.write(f"  {keys} API idempotency key(s) older than {IDEMPOTENCY_KEY_DAYS} days: {verb}")
        tokens = api_tokens_purge_expired(now=timezone.now(), dry_run=dry_run)
        self.stdout.write(f"  {tokens} expired API token(s): {verb}")
        mails = mails_purge(now=timezone.now(), older_than_days=settings.MAIL_RETENTION_DAYS, dry_run=dry_run)
        self.stdout.write(f"  {mails} sent or failed e-mail(s) older than {settings.MAIL_RETENTION_DAYS} days: {verb}")
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")

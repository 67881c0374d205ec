"""Deliver the mail queue: once (for cron), or as a worker that keeps running (for systemd).

Several workers, on one machine or several, may deliver one queue: each mail goes out at most
once (notifications/delivery.py). SIGTERM lets the worker finish the mail it is sending."""

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from notifications.delivery import deliver_due


class Command(BaseCommand):
    help = "Send the queued e-mails that are due; with --loop, keep doing so."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep running; look for due mails every --interval seconds")
        parser.add_argument("--interval", type=float, default=10.0, help="seconds between looks at the queue (default 10)")
        parser.add_argument("--limit", type=int, default=None, help="send at most this many mails per round")

    def handle(self, *args, loop=False, interval=10.0, limit=None, **options):
        if not settings.SITE_URL:
            raise CommandError("SITE_URL is not set: the mails link to the portal and need its public address.")
        if interval <= 0 or (limit is not None and limit < 1):
            raise CommandError("--interval must be positive and --limit at least 1.")
        stopping = []
        if loop:
            signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while True:
            result = deliver_due(limit=limit)
            if result.sent or result.deferred or result.failed or result.interrupted or not loop:
                where = f" (written to {settings.EMAIL_FILE_PATH})" if "filebased" in settings.EMAIL_BACKEND else ""
                self.stdout.write(f"sent {result.sent}, deferred {result.deferred}, failed {result.failed}, "
                                  f"interrupted {result.interrupted}{where}")
            if not loop:
                return
            waited = 0.0
            while not stopping and waited < interval:
                time.sleep(min(0.2, interval))
                waited += 0.2
            if stopping:
                return

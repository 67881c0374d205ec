"""manage.py demo_totp [username]: the current one-time code of a demo account (theke or admin).

The demo's staff accounts need a second factor like real ones; this prints the code an
authenticator app with DEMO_TOTP_SECRET would show. It refuses unless DEBUG is on and the
account's stored secret is the demo secret, so it can never reveal the code of a real account.
"""

import hmac
import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from lending.management.commands.load_demo import CLERK, DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Prints the current one-time code of a demo account (only with DEBUG on)."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", default=CLERK[0],
                            help="a demo account with the demo secret: theke (default) or admin")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError(_("demo_totp only runs with DEBUG on: it is meant for the demo, never for a real portal."))
        authenticator = Authenticator.objects.filter(user__username=username, type=Authenticator.Type.TOTP).first()
        if authenticator is None or not hmac.compare_digest(decrypt(authenticator.data["secret"]), DEMO_TOTP_SECRET):
            raise CommandError(
                _("%(username)s has no one-time codes from the demo secret; demo_totp shows only those of the "
                  "demo accounts (theke, admin).") % {"username": username}
            )
        now = int(time.time())
        code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, now // mfa_settings.TOTP_PERIOD))
        seconds_left = mfa_settings.TOTP_PERIOD - now % mfa_settings.TOTP_PERIOD
        self.stdout.write(
            _("One-time code for %(username)s: %(code)s (valid for %(seconds)d more seconds)")
            % {"username": username, "code": code, "seconds": seconds_left}
        )

"""manage.py import_holidays --year 2027 [--state NW] [--location SLUG]"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from catalog.exceptions import CatalogError
from catalog.models import Location
from catalog.services import closures_import_holidays, holiday_states


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Fill the closures of one or all locations with the public and school holidays of a German "
            "state for one year. Running it twice creates nothing twice."
        )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help=_("Calendar year, e.g. 2027."))
        parser.add_argument(
            "--state",
            help=_("Two-letter state code (%(states)s); default: each location's own state.")
            % {"states": ", ".join(holiday_states())},
        )
        parser.add_argument("--location", metavar="SLUG", help=_("Only this location (its short name)."))

    def handle(self, *args, year, state=None, location=None, **options):
        locations = Location.objects.order_by("slug")
        if location:
            locations = locations.filter(slug=location)
            if not locations.exists():
                raise CommandError(_("There is no location with the short name %(slug)s.") % {"slug": location})
        elif not locations.exists():
            raise CommandError(_("There are no locations yet. Create one in the admin first."))
        for each in locations:
            try:
                result = closures_import_holidays(location=each, year=year, state=state)
            except CatalogError as error:
                raise CommandError(error.message) from None
            self.stdout.write(
                _("%(location)s: holidays of %(state)s %(year)s: %(created)d closures created, "
                  "%(removed)d removed, %(unchanged)d already there.") % {
                    "location": each.name, "state": result.state, "year": year, "created": result.created,
                    "removed": result.removed, "unchanged": result.unchanged,
                }
            )
            if not result.school_holidays_known:
                self.stderr.write(self.style.WARNING(
                    _("No school holidays of %(state)s are known for %(year)s; only public holidays were "
                      "imported. Enter the school holidays in the admin or update the holidays package.")
                    % {"state": result.state, "year": year}
                ))

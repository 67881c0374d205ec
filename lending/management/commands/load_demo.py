"""manage.py load_demo: a media centre modelled on Dortmund's, with schools, a catalogue and bookings.

The catalogue follows the annual report 2025 of the Medienzentrum Dortmund: 68 VR headsets in
cases, three "Digital Making Places" packages, coding class sets and iPad class sets, lent on
Tuesdays and Wednesdays. School names and numbers are invented.

Run it as often as you like: once the demo location exists, it only prints the logins again.
"""

import datetime
import random
import shlex
import sys
from pathlib import Path

from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Qualification, QualificationGrant, Role, School, SchoolType, User
from catalog.models import Category, Closure, ItemType, Location, Unit, UnitStatus
from catalog.selectors import counter_days
from catalog.services import closures_import_holidays
from lending.exceptions import BookingError
from lending.models import Fulfilment, Handover, Reservation, ReservationEvent, ReservationLine, ReservationStatus, UnitEvent
from lending.availability import availability
from lending.services import reservation_cancel, reservation_create
from lending.waitlist import waitlist_join

DEMO_LOCATION_SLUG = "mz-dortmund"
ONE_DAY = datetime.timedelta(days=1)

# username, password, first name, last name, role, is_staff/is_superuser
TEACHER = ("lehrerin", "demo-lehrerin", "Lea", "Schneider", Role.TEACHER, False)
CLERK = ("theke", "demo-theke", "Tim", "Becker", Role.STAFF, False)
ADMIN = ("admin", "demo-admin", "Anna", "Wagner", Role.ADMIN, True)
DEMO_USERS = (TEACHER, CLERK, ADMIN)
# The demo clerk's and admin's TOTP secret (base32): add it to an authenticator app, or let
# `manage.py demo_totp theke` (or `admin`) print the current code; that command runs only with
# DEBUG on and only for accounts holding this very secret. Never use it for a real account.
DEMO_TOTP_SECRET = "KRSXG5CUMVRWQ3TJNNZGK2LMMVUWQ2LM"

# number, name, school type: every school type of the city, several of each.
SCHOOLS = [
    ("127301", "Grundschule am Westpark", SchoolType.GRUNDSCHULE),
    ("127312", "Brüder-Grimm-Grundschule Mengede", SchoolType.GRUNDSCHULE),
    ("127324", "Eichendorff-Grundschule Hombruch", SchoolType.GRUNDSCHULE),
    ("127336", "Libellen-Grundschule Scharnhorst", SchoolType.GRUNDSCHULE),
    ("127348", "Grundschule Kirchlinde", SchoolType.GRUNDSCHULE),
    ("168401", "Hauptschule Huckarde", SchoolType.HAUPTSCHULE),
    ("168413", "Hauptschule Wickede", SchoolType.HAUPTSCHULE),
    ("168425", "Ludwig-Uhland-Hauptschule Hörde", SchoolType.HAUPTSCHULE),
    ("178502", "Realschule Aplerbeck", SchoolType.REALSCHULE),
    ("178514", "Realschule Brackel", SchoolType.REALSCHULE),
    ("178526", "Realschule am Hohenzollernpark", SchoolType.REALSCHULE),
    ("168607", "Gymnasium am Stadtgarten", SchoolType.GYMNASIUM),
    ("168619", "Humboldt-Gymnasium Lütgendortmund", SchoolType.GYMNASIUM),
    ("168621", "Kepler-Gymnasium Eving", SchoolType.GYMNASIUM),
    ("168633", "Gymnasium Brünninghausen", SchoolType.GYMNASIUM),
    ("191704", "Gesamtschule Scharnhorst", SchoolType.GESAMTSCHULE),
    ("191716", "Willy-Brandt-Gesamtschule Hörde", SchoolType.GESAMTSCHULE),
    ("191728", "Gesamtschule Kirchlinde", SchoolType.GESAMTSCHULE),
    ("191730", "Gesamtschule Nordstadt", SchoolType.GESAMTSCHULE),
    ("148805", "Förderschule Sprache Nordstadt", SchoolType.FOERDERSCHULE),
    ("148817", "Förderschule Lernen am Hafen", SchoolType.FOERDERSCHULE),
    ("148829", "Förderschule Emotionale und soziale Entwicklung Hombruch", SchoolType.FOERDERSCHULE),
    ("100901", "Berufskolleg für Wirtschaft und Verwaltung", SchoolType.BERUFSKOLLEG),
    ("100913", "Technisches Berufskolleg Dortmund-Mitte", SchoolType.BERUFSKOLLEG),
    ("100925", "Berufskolleg für Gesundheit und Soziales", SchoolType.BERUFSKOLLEG),
    ("187001", "Abendgymnasium Dortmund (Weiterbildungskolleg)", SchoolType.WEITERBILDUNGSKOLLEG),
    ("187013", "Abendrealschule Dortmund (Weiterbildungskolleg)", SchoolType.WEITERBILDUNGSKOLLEG),
]
TEACHER_SCHOOLS = ("168607", "191704")
# Invented streets for the schools' delivery addresses; the postcodes are Dortmund's.
DEMO_STREETS = ("Lindenallee", "Am Schulhof", "Parkstraße", "Hansaweg", "Kastanienweg", "Zechenstraße",
                "Am Hafenbecken", "Rosenstraße")
DEMO_POSTCODES = ("44135", "44137", "44139", "44141", "44143", "44145", "44147", "44149", "44225", "44227",
                  "44263", "44265", "44287", "44309", "44319", "44328", "44339", "44357", "44369", "44388")

QUALIFICATIONS = {
    "vr": (
        "VR-Schulung",
        "Technischer Umgang mit den VR-Brillen und didaktische Einsatzmöglichkeiten im Unterricht. "
        "Die Teilnehmenden geben ihr Wissen als Multiplikator*innen in ihren Kollegien weiter.",
        "Im Medienzentrum, etwa einmal im Monat; Anmeldung über das Fortbildungsprogramm des Medienzentrums.",
    ),
    "laser": (
        "Lasercutter-Einweisung",
        "Sicherer Betrieb des Lasercutters: Materialien, Abluft, Brandschutz, Aufsicht.",
        "Im Medienzentrum bei den Hands-on-Workshops der Digital Making Places.",
    ),
}

# slug, name, position
CATEGORIES = [
    ("virtual-reality", "Virtual Reality", 10),
    ("digital-making-places", "Digital Making Places", 20),
    ("coding-und-robotik", "Coding und Robotik", 30),
    ("ipad-klassensaetze", "iPad-Klassensätze", 40),
]

CATALOGUE = [
    {
        "category": "virtual-reality", "slug": "vr-koffer", "name": "VR-Koffer (Klassensatz VR-Brillen)",
        "description": (
            "Transportabler Koffer aus dem Landesprojekt „Virtual Reality“ mit VR-Brillen, Ladeeinheit und "
            "eigenem WLAN-Router: Der Einsatz ist unabhängig von der Infrastruktur der Schule möglich. "
            "Die Ausleihe setzt die VR-Schulung des Medienzentrums voraus. Auf Wunsch liefert das "
            "Dortmunder Systemhaus den Koffer an die Schule."
        ),
        "contents": (
            "12 VR-Brillen mit je zwei Controllern\nLadeeinheit im Koffer\nWLAN-Router mit Netzteil\n"
            "Mehrfachsteckdose\n12 Hygiene-Gesichtspolster\nReinigungstücher\nKurzanleitung mit Zugangsdaten"
        ),
        "max_loan_days": 14, "min_lead_days": 7, "max_advance_days": 180, "turnaround_days": 2,
        "qualification": "vr", "deliverable": True,
        "units": ("MZ-VR", 6, "VRC"),
        # 68 headsets: five cases of twelve and one of eight.
        "unit_contents": {
            6: (
                "8 VR-Brillen mit je zwei Controllern\nLadeeinheit im Koffer\nWLAN-Router mit Netzteil\n"
                "Mehrfachsteckdose\n8 Hygiene-Gesichtspolster\nReinigungstücher\nKurzanleitung mit Zugangsdaten"
            ),
        },
    },
    {
        "category": "digital-making-places", "slug": "3d-drucker", "name": "3D-Drucker",
        "description": (
            "Kompakter 3D-Drucker (FDM) aus den Digital-Making-Places-Paketen. Modelle werden am Rechner "
            "entworfen oder aus Vorlagen geladen, mit einem Slicer vorbereitet und aus PLA gedruckt."
        ),
        "contents": (
            "3D-Drucker\nNetzkabel\n3 Rollen PLA-Filament (weiß, schwarz, blau)\nDruckbett-Spachtel\n"
            "Seitenschneider\nUSB-Stick mit Beispielmodellen\nKurzanleitung"
        ),
        "max_loan_days": 21, "min_lead_days": 3, "max_advance_days": 120, "turnaround_days": 1,
        "units": ("MZ-3D", 3, "P3D"),
    },
    {
        "category": "digital-making-places", "slug": "lasercutter", "name": "Lasercutter mit Abluftfilter",
        "description": (
            "Desktop-Lasercutter zum Schneiden und Gravieren von Holz, Pappe und Acryl. Nur nach der "
            "Lasercutter-Einweisung des Medienzentrums; Betrieb ausschließlich mit dem Abluftfilter und "
            "unter Aufsicht."
        ),
        "contents": (
            "Lasercutter\nAbluftfilter mit Schlauch\nNetzkabel und USB-Kabel\n2 Laserschutzbrillen\n"
            "Wabenauflage\nMaterialproben Sperrholz 3 mm\nLöschdecke\nKurzanleitung"
        ),
        "max_loan_days": 14, "min_lead_days": 7, "max_advance_days": 120, "turnaround_days": 1,
        "qualification": "laser", "deliverable": True,
        "units": ("MZ-LC", 3, "LCX"),
    },
    {
        "category": "digital-making-places", "slug": "stickmaschine", "name": "Stickmaschine",
        "description": (
            "Computergesteuerte Stickmaschine für eigene Motive auf Stoff: vom Entwurf am Tablet oder "
            "Rechner bis zum gestickten Ergebnis."
        ),
        "contents": (
            "Stickmaschine\nStickrahmen in zwei Größen\nNetzkabel\nUSB-Stick mit Mustern\n"
            "Stickgarn-Set (12 Farben)\nStickvlies\nErsatznadeln\nKurzanleitung"
        ),
        "max_loan_days": 21, "min_lead_days": 3, "max_advance_days": 120, "turnaround_days": 1,
        "units": ("MZ-ST", 3, "EMB"),
    },
    {
        "category": "digital-making-places", "slug": "mikrocontroller-set", "name": "Mikrocontroller-Set mit Sensoren",
        "description": (
            "Klassensatz mit Arduino-kompatiblen Mikrocontrollern, Steckplatinen, Sensoren und Aktoren für "
            "eigene Schaltungen und Messprojekte."
        ),
        "contents": (
            "10 Mikrocontroller-Boards\n10 USB-Kabel\n10 Steckplatinen\n"
            "Sensoren: Temperatur, Licht, Ultraschall, Bewegung\nLEDs, Widerstände, Taster, Servomotoren\n"
            "Steckkabel\nSortierkasten"
        ),
        "max_loan_days": 28, "min_lead_days": 2, "max_advance_days": 180, "turnaround_days": 0,
        "units": ("MZ-MC", 3, "MCS"),
    },
    {
        "category": "digital-making-places", "slug": "roboterarm", "name": "Roboterarm",
        "description": (
            "Programmierbarer Tisch-Roboterarm mit Greifer, Saugnapf und Stifthalter; grafisch oder in "
            "Python programmierbar."
        ),
        "contents": (
            "Roboterarm\nGreifer\nSaugnapf mit Pumpe\nStifthalter\nNetzteil\nUSB-Kabel\nNot-Aus-Schalter\n"
            "Kurzanleitung"
        ),
        "max_loan_days": 14, "min_lead_days": 5, "max_advance_days": 120, "turnaround_days": 1,
        "paused": True,
        "paused_reason": (
            "Der Roboterarm wird gerade gewartet, ein Ersatzteil ist bestellt. Im Medienzentrum kann er "
            "weiterhin ausprobiert werden."
        ),
        "units": ("MZ-RA", 3, "RAM"),
    },
    {
        "category": "digital-making-places", "slug": "audio-kit", "name": "Audio-Kit für Podcasts und Hörspiele",
        "description": "Mobiler Recorder, Mikrofone und Kopfhörer für Podcast- und Hörspielproduktionen mit Gruppen.",
        "contents": (
            "Mobiler Audiorecorder mit SD-Karte\n4 Mikrofone mit Tischstativen\n4 Kopfhörer\n"
            "Kopfhörerverstärker\n4 XLR-Kabel\nNetzteil und Akkus\nTransportkoffer"
        ),
        "max_loan_days": 21, "min_lead_days": 3, "max_advance_days": 180, "turnaround_days": 1,
        "units": ("MZ-AU", 3, "AUD"),
    },
    {
        "category": "digital-making-places", "slug": "video-kit", "name": "Video-Kit für Erklärvideos",
        "description": "Kamera, Stativ, Licht, Funkmikrofon und Green Screen für Erklärvideos und Trickfilme.",
        "contents": (
            "Videokamera mit Speicherkarte\nStativ\n2 LED-Leuchten mit Akkus\nFunkmikrofon-Set\n"
            "Faltbarer Green Screen\nLadegerät\nTransportkoffer"
        ),
        "max_loan_days": 21, "min_lead_days": 3, "max_advance_days": 180, "turnaround_days": 1,
        "units": ("MZ-VI", 3, "VID"),
    },
    {
        "category": "coding-und-robotik", "slug": "blue-bot-klassensatz", "name": "Blue-Bot-Klassensatz (6 Roboter)",
        "description": (
            "Bodenroboter für die Grundschule: programmierbar über die Tasten auf dem Rücken oder per "
            "Tablet-App über Bluetooth."
        ),
        "contents": "6 Blue-Bots\nLadestation\nUSB-Ladekabel\n3 Bodenmatten\nBefehlskarten\nKurzanleitung",
        "max_loan_days": 28, "min_lead_days": 2, "max_advance_days": 180, "turnaround_days": 0,
        "units": ("MZ-BB", 4, "BBT"),
    },
    {
        "category": "coding-und-robotik", "slug": "ozobot-klassensatz", "name": "Ozobot-Klassensatz (18 Roboter)",
        "description": (
            "Kleine Roboter, die Linien und Farbcodes auf Papier oder dem Tablet folgen: Programmieren "
            "mit Filzstiften oder blockbasiert."
        ),
        "contents": "18 Ozobots\nLadestation\nFilzstifte in 4 Farben\nSpielflächen und Arbeitsblätter\nKalibrierkarten",
        "max_loan_days": 28, "min_lead_days": 2, "max_advance_days": 180, "turnaround_days": 0,
        "units": ("MZ-OZ", 4, "OZO"),
    },
    {
        "category": "coding-und-robotik", "slug": "lego-spike-klassensatz",
        "name": "LEGO Education SPIKE Prime (8 Sets)",
        "description": (
            "Robotik-Baukästen mit programmierbarem Hub, Motoren und Sensoren; Programmierung "
            "blockbasiert oder in Python."
        ),
        "contents": "8 SPIKE-Prime-Sets\n8 Hubs mit Akku\n8 USB-Kabel\nErsatzteilbox\nAufgabenkarten",
        "max_loan_days": 28, "min_lead_days": 3, "max_advance_days": 180, "turnaround_days": 1,
        "units": ("MZ-LS", 3, "SPK"),
    },
    {
        "category": "coding-und-robotik", "slug": "makey-makey-klassensatz", "name": "Makey Makey (15 Sets)",
        "description": (
            "Erfindungs-Kits, die leitfähige Alltagsgegenstände wie Bananen, Knete oder Alufolie zu "
            "Tasten für den Computer machen."
        ),
        "contents": "15 Makey-Makey-Platinen\n15 USB-Kabel\nKrokodilklemmen\nVerbindungskabel\nKnete und Alufolie",
        "max_loan_days": 28, "min_lead_days": 2, "max_advance_days": 180, "turnaround_days": 0,
        "units": ("MZ-MM", 3, "MMK"),
    },
    {
        "category": "coding-und-robotik", "slug": "calliope-mini-klassensatz", "name": "Calliope mini (15 Stück)",
        "description": (
            "Einplatinencomputer für den Unterricht ab der Grundschule, programmierbar mit MakeCode, "
            "Open Roberta oder Scratch."
        ),
        "contents": (
            "15 Calliope mini\n15 USB-Kabel\n15 Batteriehalter mit Batterien\nKrokodilklemmen\nAufbewahrungsbox"
        ),
        "max_loan_days": 28, "min_lead_days": 2, "max_advance_days": 180, "turnaround_days": 0,
        "units": ("MZ-CM", 4, "CAL"),
    },
    {
        "category": "coding-und-robotik", "slug": "raspberry-pi-klassensatz", "name": "Raspberry Pi (8 Sets)",
        "description": "Einplatinencomputer mit Linux für Programmier- und Elektronikprojekte in der Sekundarstufe.",
        "contents": (
            "8 Raspberry Pi mit Gehäuse\n8 microSD-Karten mit Raspberry Pi OS\n8 Netzteile\n"
            "8 Micro-HDMI-auf-HDMI-Kabel\n8 Tastaturen und Mäuse\nSensor- und Kabelset"
        ),
        "max_loan_days": 28, "min_lead_days": 3, "max_advance_days": 180, "turnaround_days": 1,
        "units": ("MZ-RP", 2, "RPI"),
    },
    {
        "category": "ipad-klassensaetze", "slug": "ipad-klassensatz",
        "name": "iPad-Klassensatz (16 iPads im Ladekoffer)",
        "description": (
            "16 verwaltete iPads mit Apps für den Unterricht im Lade- und Transportkoffer. Nach jeder "
            "Rückgabe werden die Geräte zurückgesetzt und geladen."
        ),
        "contents": (
            "16 iPads mit Schutzhülle\nLade- und Transportkoffer\nNetzkabel für den Koffer\n"
            "2 USB-C-auf-HDMI-Adapter\nKurzanleitung"
        ),
        "max_loan_days": 21, "min_lead_days": 3, "max_advance_days": 180, "turnaround_days": 2,
        "units": ("MZ-IP", 5, "DMP"),
        "unit_status": {5: (UnitStatus.MAINTENANCE, "Zwei iPads mit schwachem Akku sind beim Dortmunder Systemhaus.")},
    },
]

SERIAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Command(BaseCommand):
    @property
    def help(self):
        return _("Load demo data (a media centre modelled on Dortmund's) once; later runs only print the logins.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            # The demo's staff accounts have published passwords and a published TOTP secret.
            raise CommandError(_("load_demo only runs with DEBUG on: its accounts have published passwords."))
        if Location.objects.filter(slug=DEMO_LOCATION_SLUG).exists():
            self.stdout.write(_("The demo data are loaded already; nothing was changed."))
        else:
            usernames = [user[0] for user in DEMO_USERS]
            taken = list(User.objects.filter(username__in=usernames).values_list("username", flat=True))
            if taken:
                raise CommandError(
                    _("The user names %(names)s exist already; load the demo data into an empty database.")
                    % {"names": ", ".join(sorted(taken))}
                )
            try:
                with transaction.atomic():
                    counts = DemoLoader(today=timezone.localdate()).load()
            except (IntegrityError, ValidationError) as error:
                raise CommandError(
                    _("The database holds data that clash with the demo data (%(error)s); use an empty database.")
                    % {"error": error}
                ) from None
            self.stdout.write(self.style.SUCCESS(
                _("Demo data loaded: %(schools)d schools, %(item_types)d item types, %(units)d units, "
                  "%(closures)d closure entries, %(reservations)d bookings.") % counts
            ))
        self._print_logins()

    def _print_logins(self):
        url = settings.SITE_URL or "http://127.0.0.1:8000"
        roles = {
            TEACHER: _("teacher (two schools, holds the VR training)"),
            CLERK: _("counter clerk"),
            ADMIN: _("administrator"),
        }
        self.stdout.write("")
        self.stdout.write(_("Open %(url)s/ and sign in as:") % {"url": url})
        for user in DEMO_USERS:
            self.stdout.write(
                "  " + _("%(role)s: user name %(username)s, password %(password)s")
                % {"role": roles[user], "username": user[0], "password": user[1]}
            )
        self.stdout.write(_("The admin is at %(url)s/admin/.") % {"url": url})
        self.stdout.write(
            _("The counter clerk and the administrator also need a one-time code. In %(folder)s, these commands print "
              "the current one:") % {"folder": settings.BASE_DIR}
        )
        for username in (CLERK[0], ADMIN[0]):
            self.stdout.write(f"  {demo_totp_command(username)}")
        self.stdout.write(_("Or add the secret %(secret)s to an authenticator app.") % {"secret": DEMO_TOTP_SECRET})


def demo_totp_command(username):
    """The shell command that prints a demo account's one-time code, run in the portal's folder:
    with DEBUG on (demo_totp refuses otherwise) and this very Python (the venv's, after `make run`)."""
    python = Path(sys.executable)
    if python.is_relative_to(settings.BASE_DIR):
        python = python.relative_to(settings.BASE_DIR)
    return f"DEBUG=true {shlex.quote(str(python))} manage.py demo_totp {shlex.quote(username)}"


class DemoLoader:
    """Builds the demo data; `load()` runs inside the command's transaction."""

    def __init__(self, *, today):
        self.today = today
        self.random = random.Random(2025)

    def load(self):
        self.location = Location.objects.create(
            name="Medienzentrum Dortmund – Technikverleih",
            slug=DEMO_LOCATION_SLUG,
            address="Medienzentrum der Stadt Dortmund\nam Park der Partnerstädte, Dortmunder Innenstadt\n"
                    "Kurzzeitparkplatz vor dem Gebäude",
            counter_weekdays=[2, 3],  # the annual report: pickups on Tuesdays and Wednesdays
            opens_at=datetime.time(9, 0),
            closes_at=datetime.time(16, 0),
            slot_minutes=30,
            slot_capacity=4,
            holiday_state=settings.HOLIDAYS_STATE,
            # The tour delivers the VR cases and the laser cutters to schools, as in Dortmund.
            deliveries_per_day=6, delivery_lead_days=7, tour_packing_days=1, collection_by_tour=True,
        )
        for year in (self.today.year, self.today.year + 1):
            closures_import_holidays(location=self.location, year=year)
        self._add_staff_closure()
        schools = self._create_schools()
        qualifications = self._create_qualifications()
        self.teacher, self.clerk, self.admin = self._create_users(schools)
        QualificationGrant.objects.create(
            user=self.teacher, qualification=qualifications["vr"],
            granted_on=self.today - datetime.timedelta(days=200), granted_by=self.admin,
        )
        self.item_types = self._create_catalogue(qualifications)
        self._create_past_bookings()
        self._create_future_bookings()
        return {
            "schools": len(schools),
            "item_types": len(self.item_types),
            "units": Unit.objects.filter(item_type__location=self.location).count(),
            "closures": Closure.objects.filter(location=self.location).count(),
            "reservations": Reservation.objects.filter(location=self.location).count(),
        }

    # Master data ---------------------------------------------------------------------------------

    def _add_staff_closure(self):
        """A stock-taking day entered by staff: the first open Wednesday at least five weeks ahead."""
        first = self.today + datetime.timedelta(days=35)
        for day in self._open_days(first, first + datetime.timedelta(days=120)):
            if day.isoweekday() == 3:
                Closure.objects.create(
                    location=self.location, first_day=day, last_day=day, reason="Inventur im Technikverleih"
                )
                return

    def _create_schools(self):
        """The schools with invented delivery addresses in Dortmund's postcodes."""
        schools = {}
        for index, (number, name, school_type) in enumerate(SCHOOLS):
            schools[number] = School.objects.create(
                number=number, name=name, school_type=school_type,
                street=f"{DEMO_STREETS[index % len(DEMO_STREETS)]} {3 + index * 7 % 40}",
                postcode=DEMO_POSTCODES[index % len(DEMO_POSTCODES)], city="Dortmund",
                office_phone=f"0231 555-{1000 + index * 37}",
                delivery_notes="Hausmeister, Eingang Hofseite" if index % 3 == 0 else "",
            )
        return schools

    def _create_qualifications(self):
        return {
            key: Qualification.objects.create(name=name, description=description, where_offered=where_offered)
            for key, (name, description, where_offered) in QUALIFICATIONS.items()
        }

    def _create_users(self, schools):
        users = []
        for username, password, first_name, last_name, role, is_admin in DEMO_USERS:
            user = User.objects.create_user(
                username=username, password=password, first_name=first_name, last_name=last_name,
                email=f"{username}@demo.technikverleih.invalid", role=role, is_staff=is_admin, is_superuser=is_admin,
            )
            users.append(user)
        users[0].schools.set([schools[number] for number in TEACHER_SCHOOLS])
        users[1].locations.set([self.location])
        for user in users[1:]:
            # Staff and admins must have a second factor; the demo's is known (DEMO_TOTP_SECRET).
            TOTP.activate(user, DEMO_TOTP_SECRET)
        return users

    def _create_catalogue(self, qualifications):
        categories = {}
        for slug, name, position in CATEGORIES:
            categories[slug], _created = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "position": position}
            )
        item_types = {}
        for entry in CATALOGUE:
            item_type = ItemType(
                location=self.location, category=categories[entry["category"]], slug=entry["slug"],
                name=entry["name"], description=entry["description"], contents=entry["contents"],
                max_loan_days=entry["max_loan_days"], min_lead_days=entry["min_lead_days"],
                max_advance_days=entry["max_advance_days"], turnaround_days=entry["turnaround_days"],
                required_qualification=qualifications.get(entry.get("qualification")),
                paused=entry.get("paused", False), paused_reason=entry.get("paused_reason", ""),
                deliverable=entry.get("deliverable", False),
            )
            item_type.full_clean()
            item_type.save()
            prefix, count, serial_prefix = entry["units"]
            for number in range(1, count + 1):
                status, notes = entry.get("unit_status", {}).get(number, (UnitStatus.AVAILABLE, ""))
                Unit.objects.create(
                    item_type=item_type, asset_tag=f"{prefix}-{number:03d}", serial_number=self._serial(serial_prefix),
                    contents=entry.get("unit_contents", {}).get(number, ""), status=status, notes=notes,
                )
            item_types[entry["slug"]] = item_type
        return item_types

    def _serial(self, prefix):
        return prefix + "".join(self.random.choice(SERIAL_ALPHABET) for _index in range(9))

    # Bookings ------------------------------------------------------------------------------------

    def _open_days(self, first, last):
        return [day.day for day in counter_days(location=self.location, first_day=first, last_day=last) if day.is_open]

    def _create_past_bookings(self):
        """Finished and running loans, written directly: the booking service refuses past days."""
        past = self._open_days(self.today - datetime.timedelta(days=150), self.today - ONE_DAY)

        def near(target, after=None, before=None):
            days = [day for day in past if (after is None or day > after) and (before is None or day < before)]
            return min(days, key=lambda day: abs((day - target).days)) if days else None

        def ago(days):
            return self.today - datetime.timedelta(days=days)

        pickup = near(ago(70))
        self._write_past(lines={"ipad-klassensatz": 2}, pickup_day=pickup,
                         return_day=near(pickup + datetime.timedelta(days=14), after=pickup),
                         slot=datetime.time(9, 0), status=ReservationStatus.RETURNED)
        pickup = near(ago(42))
        self._write_past(lines={"vr-koffer": 1, "audio-kit": 1}, pickup_day=pickup,
                         return_day=near(pickup + datetime.timedelta(days=7), after=pickup),
                         slot=datetime.time(10, 30), status=ReservationStatus.RETURNED,
                         school_number=TEACHER_SCHOOLS[1])
        pickup = near(ago(35))
        self._write_past(lines={"ozobot-klassensatz": 1}, pickup_day=pickup,
                         return_day=near(pickup + datetime.timedelta(days=7), after=pickup),
                         slot=datetime.time(11, 0), status=ReservationStatus.CANCELLED)
        pickup = near(ago(14))
        self._write_past(lines={"blue-bot-klassensatz": 1}, pickup_day=pickup,
                         return_day=near(pickup + datetime.timedelta(days=7), after=pickup) or pickup,
                         slot=datetime.time(13, 0), status=ReservationStatus.NO_SHOW)
        # Overdue: handed out four weeks ago, due back about a week ago, not back yet.
        pickup = near(ago(28), before=ago(8))
        self._write_past(lines={"makey-makey-klassensatz": 1}, pickup_day=pickup,
                         return_day=near(ago(8), after=pickup) or pickup,
                         slot=datetime.time(14, 30), status=ReservationStatus.HANDED_OUT)
        # On loan now: picked up on the last counter day, due back in about two weeks.
        pickup = past[-1]
        longest = datetime.timedelta(days=self.item_types["lego-spike-klassensatz"].max_loan_days)
        coming = self._open_days(self.today, pickup + longest)
        if coming:
            return_day = min(coming, key=lambda day: abs((day - pickup).days - 14))
            self._write_past(lines={"lego-spike-klassensatz": 1}, pickup_day=pickup, return_day=return_day,
                             slot=datetime.time(9, 30), status=ReservationStatus.HANDED_OUT,
                             school_number=TEACHER_SCHOOLS[1])

    def _write_past(self, *, lines, pickup_day, return_day, slot, status, school_number=TEACHER_SCHOOLS[0]):
        school = self.teacher.schools.get(number=school_number)
        reservation = Reservation.objects.create(
            borrower=self.teacher, school=school, location=self.location, pickup_day=pickup_day, pickup_slot=slot,
            return_day=return_day, status=status,
            sequence=1 if status == ReservationStatus.CANCELLED else 0,
        )
        quantities = {self.item_types[slug].pk: quantity for slug, quantity in lines.items()}
        ReservationLine.objects.bulk_create(
            ReservationLine(reservation=reservation, item_type_id=item_type_id, quantity=quantity)
            for item_type_id, quantity in sorted(quantities.items())
        )
        created_at = self._at(pickup_day - datetime.timedelta(days=9), datetime.time(14, 12))
        Reservation.objects.filter(pk=reservation.pk).update(created_at=created_at)
        action = ReservationEvent.Action
        events = [(created_at, self.teacher, action.CREATED, {
            "pickup_day": pickup_day.isoformat(), "pickup_slot": slot.strftime("%H:%M"),
            "return_day": return_day.isoformat(),
            "lines": {str(item_type_id): quantity for item_type_id, quantity in sorted(quantities.items())},
        })]
        if status in (ReservationStatus.HANDED_OUT, ReservationStatus.RETURNED):
            tags = self._hand_out(reservation, quantities, returned=status == ReservationStatus.RETURNED)
            events.append((self._at(pickup_day, slot), self.clerk, action.HANDED_OUT, {"units": tags, "complete": True}))
        if status == ReservationStatus.RETURNED:
            returned_at = self._at(return_day, datetime.time(10, 15))
            events.append((returned_at, self.clerk, action.RETURNED, {"late": False}))
        if status == ReservationStatus.CANCELLED:
            cancelled_at = self._at(pickup_day - datetime.timedelta(days=3), datetime.time(7, 45))
            events.append((cancelled_at, self.teacher, action.CANCELLED, {}))
        if status == ReservationStatus.NO_SHOW:
            events.append((self._at(pickup_day, datetime.time(16, 0)), self.clerk, action.NO_SHOW, {}))
        for at, actor, event_action, data in events:
            event = ReservationEvent.objects.create(
                reservation=reservation, actor=actor, action=event_action, data=data
            )
            # `at` is set on creation; move it to when it happened.
            ReservationEvent.objects.filter(pk=event.pk).update(at=at)
        return reservation

    def _hand_out(self, reservation, quantities, *, returned):
        """The units that went out on a past booking, as the counter would have recorded them:
        one hand-over per unit (closed as complete if the booking is returned) and the unit's
        events. Returns their asset tags."""
        handed_out_at = self._at(reservation.pickup_day, reservation.pickup_slot)
        returned_at = self._at(reservation.return_day, datetime.time(10, 15)) if returned else None
        tags = []
        for item_type_id, quantity in sorted(quantities.items()):
            # Units not with anyone now: a unit is never out twice.
            units = Unit.objects.filter(item_type_id=item_type_id, status=UnitStatus.AVAILABLE).exclude(
                pk__in=Handover.objects.filter(returned_at__isnull=True).values("unit_id")
            ).order_by("asset_tag")[:quantity]
            for unit in units:
                Handover.objects.create(
                    reservation=reservation, unit=unit, handed_out_at=handed_out_at, handed_out_by=self.clerk,
                    returned_at=returned_at, returned_by=self.clerk if returned else None,
                    return_condition=Handover.Condition.COMPLETE if returned else "",
                )
                UnitEvent.objects.create(unit=unit, actor=self.clerk, action=UnitEvent.Action.HANDED_OUT,
                                         at=handed_out_at, data={"reservation": reservation.code})
                if returned:
                    UnitEvent.objects.create(unit=unit, actor=self.clerk, action=UnitEvent.Action.RETURNED,
                                             at=returned_at, data={"reservation": reservation.code,
                                                                   "condition": "complete", "late": False})
                tags.append(unit.asset_tag)
        return tags

    def _at(self, day, time):
        return timezone.make_aware(datetime.datetime.combine(day, time))

    def _create_future_bookings(self):
        """Upcoming bookings through the real service, so they obey every booking rule."""
        vr = self._book_ahead(lines={"vr-koffer": 2}, weeks_ahead=1, loan_days=7, slot=datetime.time(9, 0))
        self._book_ahead(lines={"ipad-klassensatz": 2, "calliope-mini-klassensatz": 1}, weeks_ahead=2, loan_days=14,
                         slot=datetime.time(10, 0), school_number=TEACHER_SCHOOLS[1])
        ozobot = self._book_ahead(lines={"ozobot-klassensatz": 1}, weeks_ahead=3, loan_days=7,
                                  slot=datetime.time(11, 30))
        # The waiting list: for one more VR case in the VR week (waiting), and for one more Ozobot
        # set, which units freed by a cancellation are offered to at once.
        self._wait_for_more(vr, "vr-koffer")
        extra = self._wait_for_more(ozobot, "ozobot-klassensatz")
        if extra is not None:
            reservation_cancel(reservation=extra, actor=self.teacher)
        self._book_ahead(lines={"3d-drucker": 1, "stickmaschine": 1}, weeks_ahead=5, loan_days=14,
                         slot=datetime.time(14, 0))
        # A delivery to the school by the tour, collected a week later.
        self._book_ahead(lines={"vr-koffer": 1}, weeks_ahead=3, loan_days=7, slot=None,
                         fulfilment=Fulfilment.DELIVERY)
        cancelled = self._book_ahead(lines={"blue-bot-klassensatz": 2}, weeks_ahead=2, loan_days=7,
                                     slot=datetime.time(9, 30))
        if cancelled is not None:
            reservation_cancel(reservation=cancelled, actor=self.teacher)

    def _wait_for_more(self, reservation, slug):
        """Book out the units of `slug` that `reservation` left free (for the teacher's other
        school), then put the teacher on the waiting list for one more; returns that booking."""
        if reservation is None:
            return None
        item_type = self.item_types[slug]
        hold_until = reservation.return_day + datetime.timedelta(days=item_type.turnaround_days)
        free = availability(item_type_ids=[item_type.pk], first_day=reservation.pickup_day, last_day=hold_until,
                            today=self.today)[item_type.pk].min_free(reservation.pickup_day, hold_until)
        extra = None
        if free:
            extra = reservation_create(
                borrower=self.teacher, school=self.teacher.schools.get(number=TEACHER_SCHOOLS[1]),
                pickup_day=reservation.pickup_day, pickup_slot=reservation.pickup_slot,
                return_day=reservation.return_day, lines={item_type: free})
        waitlist_join(borrower=self.teacher, school=reservation.school, item_type=item_type, quantity=1,
                      pickup_day=reservation.pickup_day, pickup_slot=reservation.pickup_slot,
                      return_day=reservation.return_day)
        return extra

    def _book_ahead(self, *, lines, weeks_ahead, loan_days, slot, school_number=TEACHER_SCHOOLS[0],
                    fulfilment=Fulfilment.PICKUP):
        """Book the first pickup day from `weeks_ahead` on that the rules allow; None if there is none."""
        item_types = [self.item_types[slug] for slug in lines]
        lead_days = max(item_type.min_lead_days for item_type in item_types)
        longest = min(item_type.max_loan_days for item_type in item_types)
        furthest = min(item_type.max_advance_days for item_type in item_types)
        first = self.today + datetime.timedelta(days=max(lead_days, 7 * weeks_ahead))
        last = self.today + datetime.timedelta(days=furthest)
        open_days = self._open_days(first, last + datetime.timedelta(days=longest))
        school = self.teacher.schools.get(number=school_number)
        for pickup_day in (day for day in open_days if day <= last):
            returns = [day for day in open_days if pickup_day < day <= pickup_day + datetime.timedelta(days=longest)]
            if not returns:
                continue
            return_day = min(returns, key=lambda day: abs((day - pickup_day).days - loan_days))
            try:
                return reservation_create(
                    borrower=self.teacher, school=school, pickup_day=pickup_day, pickup_slot=slot,
                    return_day=return_day, lines={self.item_types[slug]: quantity for slug, quantity in lines.items()},
                    fulfilment=fulfilment,
                )
            except BookingError:
                # Full slot or not enough units on that day: try the next counter day.
                continue
        return None

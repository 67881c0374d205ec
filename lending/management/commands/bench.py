"""manage.py bench: time the busiest pages on a large generated dataset.

    make bench                                   # SQLite in var/bench.sqlite3, the large dataset
    make bench BENCH_ARGS="--small"              # the demo-sized dataset (use another database)
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/technikverleih_bench make bench

It migrates the database named by DATABASE_URL, builds the dataset unless one of the requested
size is already there (`--rebuild` forces it), then requests each page `--repeat` times with the
Django test client and reports the median and 95th percentile wall time and the queries per
request. The counter rows scan booking QR codes and unit labels as a clerk of the bench location
(`bench-counter`, created when missing). Bookings the benchmark makes and the scan events it
writes are deleted again, so every run measures the same data.

The command wipes the database it builds in, so it refuses any database whose name does not
contain "bench". It is a developer tool: its output is English only and not translated.
"""

import contextlib
import datetime
import itertools
import json
import logging
import math
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
import warnings
from bisect import bisect_left, bisect_right
from contextlib import contextmanager
from unittest import mock

from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.api_tokens import api_token_create
from accounts.models import ApiToken, Qualification, QualificationGrant, QualificationTraining, Role, School, SchoolType, Session, User
from catalog.exceptions import CatalogError
from catalog.labels import label_sheet_pdf, unit_label_url
from catalog.models import Category, Closure, ItemType, Location, Unit, UnitStatus
from catalog.selectors import counter_days
from catalog.services import closures_import_holidays
from catalog.versions import catalogue_changed
from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import (
    DELIVERY_SLOT,
    HOLDING_STATUSES,
    Fulfilment,
    Handover,
    Reservation,
    ReservationEvent,
    ReservationLine,
    ReservationStatus,
    TeacherReach,
    TeacherYear,
    UnitEvent,
    WaitlistEntry,
)
from lending.secrets import ALPHABET, CODE_LENGTH
from lending.calendar_tokens import calendar_token_rotate
from lending.services import reservation_cancel, reservation_create
from lending.waitlist import waitlist_join
from notifications.delivery import deliver_due
from notifications.models import Mail
from notifications.reminders import reminders_queue
from notifications.services import booking_confirmation_resend

BENCH_LOCATION_SLUG = "bench"
BENCH_CLERK_USERNAME = "bench-counter"  # the counter staff member who scans; created at measure time
BENCH_ADMIN_USERNAME = "bench-verwaltung"  # the administrator who reads the statistics; created at measure time
MARKER_PREFIX = "Benchmark dataset: "
ONE_DAY = datetime.timedelta(days=1)
BATCH = 5000
LABELS = 1000  # the label sheet measured: issue target under 3 s
MAIL_BENCH_MESSAGES = 200  # mails delivered by the worker row: issue target at least 50 a second
WAITLIST_PEOPLE = 200  # people waiting for one item type in the waiting-list row (issue 13)
TOUR_STOPS = 50  # stops on the tour day of the tour rows (issue 13)
REMINDER_BOOKINGS = 1000  # one counter day's bookings for the reminder rows: issue target under 5 s
# Calendar feeds at the sizes of issue 5: a teacher with 500 bookings, a counter with 5,000
# events (2,500 bookings), in a location of their own next to the large dataset.
CALENDAR_LOCATION_SLUG = "bench-kalender"
CALENDAR_TEACHER_BOOKINGS = 500
CALENDAR_COUNTER_BOOKINGS = 2500
PAST_DAYS = 730  # reservations start about two years back …
FUTURE_DAYS = 180  # … and reach as far ahead as an item type lets anyone book (max_advance_days)
FUTURE_SHARE = 0.08  # of all reservations lie ahead; they thin out the further ahead they are
FUTURE_DECAY_DAYS = 90
REBUILD_AFTER_DAYS = 7
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")  # the statuses depend on today, so an older dataset is built again

LARGE = {"item_types": 500, "units": 5000, "reservations": 200_000, "schools": 200, "teachers": 2000, "categories": 20}
SMALL = {"item_types": 20, "units": 100, "reservations": 500, "schools": 20, "teachers": 50, "categories": 5}

CATEGORY_NAMES = [
    "VR und AR", "Tablets und Klassensätze", "Programmieren und Robotik", "Digital Making", "Audio",
    "Video", "Fotografie", "Präsentation", "Messen und Experimentieren", "Netzwerk und WLAN",
    "Mikrocontroller", "3D-Druck", "Green Screen", "Podcast", "Trickfilm", "Mikroskopie",
    "Stromversorgung", "Kabel und Adapter", "Spielen und Lernen", "Barrierefreiheit",
]
PRODUCTS = [
    "VR-Koffer", "iPad-Klassensatz", "Ozobot-Klassensatz", "Calliope-Klassensatz", "Lego-Spike-Set",
    "Podcast-Koffer", "Green-Screen-Set", "Dokumentenkamera", "Beamer", "Stativ", "Mikrofonset",
    "Action-Cam", "Trickfilmbox", "3D-Drucker", "Lasercutter-Paket", "Mikroskop-Set", "Laptopwagen",
    "WLAN-Koffer", "Bee-Bot-Set", "Makey-Makey-Set",
]
SCHOOL_TYPES = list(SchoolType)


@contextmanager
def _quiet_loggers(*names):
    loggers = [logging.getLogger(name) for name in names]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels):
            each.setLevel(level)


def data_queries(captured):
    """The statements that read or write data in a CaptureQueriesContext: transaction control
    (BEGIN, COMMIT, SAVEPOINT, …) is left out, as SQLite logs a BEGIN that PostgreSQL does not."""
    return sum(1 for query in captured.captured_queries
               if not query["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL))


def write_json(stdout, report, path):
    """The report as JSON at `path`, if one was given (--json)."""
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
        stdout.write(f"Results written to {path}.")


def _booking_code(index):
    """A unique code in the alphabet and length of real booking codes, for reservation `index`.

    Multiplying by a number coprime to 23**10 is a bijection, so the codes never collide and do not
    look sequential; random codes that `new_booking_code` makes later collide with them as rarely
    as with each other.
    """
    space = len(ALPHABET) ** CODE_LENGTH
    value = (index * 7_919_111_117 + 1_234_567_891) % space
    chars = []
    for _ in range(CODE_LENGTH):
        value, digit = divmod(value, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars)


def _sample(rng, values, count):
    """`count` different values in random order; they repeat only when there are fewer than `count`."""
    chosen = []
    while len(chosen) < count:
        chosen += rng.sample(values, min(len(values), count - len(chosen)))
    return chosen


def _percentile(values, fraction):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


class Command(BaseCommand):
    help = (
        "Build a large generated dataset in a database whose name contains 'bench' and time the "
        "catalogue, the item calendar, a booking and the counter's scans (median, 95th percentile, "
        "queries per request)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--small", action="store_true",
                            help="Use the demo-sized dataset (20 item types, 100 units, 500 reservations).")
        parser.add_argument("--item-types", type=int, help="Item types (default 500; 20 with --small).")
        parser.add_argument("--units", type=int, help="Units (default 5000; 100 with --small).")
        parser.add_argument("--reservations", type=int, help="Reservations (default 200000; 500 with --small).")
        parser.add_argument("--repeat", type=int, default=30, help="Requests per measurement (default 30).")
        parser.add_argument("--rebuild", action="store_true", help="Build the dataset again even if it is there.")
        parser.add_argument("--seed", type=int, default=20261121, help="Random seed of the dataset.")
        parser.add_argument("--json", metavar="PATH", help="Also write the results to this JSON file.")
        parser.add_argument("--build-only", action="store_true",
                            help="Only migrate and build the dataset (if needed); measure nothing.")
        parser.add_argument("--only", choices=["statistics"],
                            help="Measure only these rows (e.g. the statistics at 10x the reservations).")

    # Entry point ---------------------------------------------------------------------------------

    def handle(self, *args, **options):
        if options["repeat"] < 1:
            raise CommandError("--repeat must be at least 1.")
        wanted, build_seconds, reused = self.prepare_dataset(options)
        if options["build_only"]:
            return
        today = timezone.localdate()

        counts = self._counts()
        with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]), \
                _quiet_loggers("lending.services", "accounts.api_tokens", "django.request"), warnings.catch_warnings():
            # WhiteNoise warns that var/static does not exist; the benchmark requests no static file.
            warnings.filterwarnings("ignore", message="No directory at")
            if options["only"] == "statistics":
                results = self._measure_statistics(repeat=options["repeat"], today=today)
            else:
                results = self._measure(repeat=options["repeat"], seed=options["seed"], today=today)
        report = {
            "date": today.isoformat(),
            "database": {"vendor": connection.vendor, "version": self._database_version(),
                         "name": os.path.basename(str(settings.DATABASES["default"]["NAME"]))},
            "dataset": {"size": wanted, "counts": counts, "build_seconds": build_seconds, "reused": reused},
            "repeat": options["repeat"],
            "results": results,
        }
        self._print(report)
        write_json(self.stdout, report, options["json"])

    def prepare_dataset(self, options):
        """Migrate, then build the dataset unless one of the requested size and seed is there;
        (size, build seconds, reused). Also used by `manage.py bench_http`."""
        self._refuse_unless_bench_database()
        size = dict(SMALL if options["small"] else LARGE)
        for key in ("item_types", "units", "reservations"):
            if options.get(key) is not None:
                size[key] = options[key]
        if size["item_types"] < 1 or size["units"] < size["item_types"] or size["reservations"] < 1:
            raise CommandError("Give at least one item type, one unit per item type and one reservation.")
        size["seed"] = options["seed"]

        call_command("migrate", verbosity=0, interactive=False)
        today = timezone.localdate()
        marker = self._marker()
        wanted = {key: size[key] for key in sorted(size)}
        if (options.get("rebuild") or marker is None or marker.get("size") != wanted
                or (today - datetime.date.fromisoformat(marker["built_on"])).days > REBUILD_AFTER_DAYS):
            self.stdout.write(f"Building the dataset {wanted} …")
            started = time.perf_counter()
            with _quiet_loggers("catalog.services"):
                self._build(size=size, today=today)
            build_seconds = round(time.perf_counter() - started, 1)
            location = Location.objects.get(slug=BENCH_LOCATION_SLUG)
            location.address = MARKER_PREFIX + json.dumps(
                {"size": wanted, "built_on": today.isoformat(), "build_seconds": build_seconds}
            )
            location.save(update_fields=["address"])
            catalogue_changed()
            self.stdout.write(f"Built in {build_seconds:.1f} s.")
            return wanted, build_seconds, False
        self.stdout.write(f"Reusing the dataset built on {marker['built_on']} (built in {marker['build_seconds']} s).")
        return wanted, marker["build_seconds"], True

    def _refuse_unless_bench_database(self):
        name = str(settings.DATABASES["default"].get("NAME") or "")
        if connection.vendor == "sqlite":
            name = os.path.basename(name)
        if "bench" not in name.lower():
            raise CommandError(
                f"Refusing to run on the database {name!r}: the benchmark wipes its database, so its name "
                "must contain 'bench'. Use `make bench` or set DATABASE_URL to a bench database."
            )

    def _database_version(self):
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("select sqlite_version()")
                return f"SQLite {cursor.fetchone()[0]}"
            if connection.vendor == "postgresql":
                cursor.execute("show server_version")
                return f"PostgreSQL {cursor.fetchone()[0]}"
        return connection.vendor

    def _marker(self):
        location = Location.objects.filter(slug=BENCH_LOCATION_SLUG).first()
        if location is None or not location.address.startswith(MARKER_PREFIX):
            return None
        try:
            return json.loads(location.address[len(MARKER_PREFIX):])
        except ValueError:
            return None

    def _counts(self):
        return {
            "item_types": ItemType.objects.count(), "units": Unit.objects.count(),
            "categories": Category.objects.count(), "schools": School.objects.count(),
            "teachers": User.objects.filter(role=Role.TEACHER).count(), "closures": Closure.objects.count(),
            "reservations": Reservation.objects.count(), "reservation_lines": ReservationLine.objects.count(),
            "holding_reservations": Reservation.objects.filter(status__in=HOLDING_STATUSES).count(),
            "handovers": Handover.objects.count(),
        }

    # Building the dataset ------------------------------------------------------------------------

    def _build(self, *, size, today):
        rng = random.Random(size["seed"])
        call_command("flush", interactive=False, verbosity=0)
        location = Location.objects.create(
            name="Medienzentrum Benchmark", slug=BENCH_LOCATION_SLUG, counter_weekdays=[2, 3],
            opens_at=datetime.time(8, 0), closes_at=datetime.time(16, 0), slot_minutes=15, slot_capacity=40,
            holiday_state="NW",
        )
        first_day = today - datetime.timedelta(days=PAST_DAYS)
        last_day = today + datetime.timedelta(days=FUTURE_DAYS)
        for year in range(first_day.year, last_day.year + 2):
            try:
                closures_import_holidays(location=location, year=year)
            except CatalogError:
                pass  # a year the holidays package does not cover
        with transaction.atomic():
            item_types, loanable = self._build_catalogue(rng=rng, size=size, location=location)
            teachers = self._build_people(rng=rng, size=size)
        self._build_reservations(rng=rng, size=size, location=location, item_types=item_types, loanable=loanable,
                                 teachers=teachers, first_day=first_day, last_day=last_day, today=today)
        if connection.vendor == "postgresql":
            # Autovacuum would gather the planner statistics a while after the bulk load; a server that
            # has been running has them, so gather them now. (Django never runs ANALYZE on SQLite, so a
            # SQLite deployment plans without statistics, and so does the benchmark.)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    def _build_catalogue(self, *, rng, size, location):
        categories = Category.objects.bulk_create(
            Category(name=CATEGORY_NAMES[index % len(CATEGORY_NAMES)] + (f" {index // len(CATEGORY_NAMES) + 1}"
                     if index >= len(CATEGORY_NAMES) else ""), slug=f"kategorie-{index + 1}", position=index)
            for index in range(size["categories"])
        )
        qualifications = Qualification.objects.bulk_create([
            Qualification(name="VR-Schulung", where_offered="Im Medienzentrum."),
            Qualification(name="Lasercutter-Einweisung", where_offered="Im Medienzentrum."),
        ])
        item_types = []
        for index in range(size["item_types"]):
            product = PRODUCTS[index % len(PRODUCTS)]
            paused = rng.random() < 0.01
            item_types.append(ItemType(
                location=location, category=categories[index % len(categories)],
                name=f"{product} {index + 1:04d}", slug=f"artikel-{index + 1:04d}",
                description=f"{product} für den Unterricht, mit Tasche, Ladegeräten und Kurzanleitung. "
                            "Bitte vollständig und geladen zurückgeben.",
                contents="Gerät\nLadegerät\nTasche\nKurzanleitung",
                max_loan_days=14, min_lead_days=rng.choice([1, 1, 1, 2, 7]), max_advance_days=FUTURE_DAYS,
                turnaround_days=rng.choice([0, 0, 0, 1, 2]),
                required_qualification=qualifications[index % 2] if rng.random() < 0.03 else None,
                paused=paused, paused_reason="Wird gewartet." if paused else "",
                deliverable=rng.random() < 0.2,
            ))
        item_types = ItemType.objects.bulk_create(item_types, batch_size=BATCH)

        # At least one unit each; the rest skewed, as class sets have many units and kits one.
        per_type = [1] * len(item_types)
        weights = [rng.paretovariate(1.5) for _ in item_types]
        for index in rng.choices(range(len(item_types)), weights=weights, k=size["units"] - len(item_types)):
            per_type[index] += 1
        units = []
        loanable = {}
        for item_type, count in zip(item_types, per_type):
            loanable[item_type.pk] = 0
            for _ in range(count):
                roll = rng.random()
                status = (UnitStatus.MAINTENANCE if roll < 0.02 else UnitStatus.LOST if roll < 0.03
                          else UnitStatus.RETIRED if roll < 0.04 else UnitStatus.AVAILABLE)
                loanable[item_type.pk] += status == UnitStatus.AVAILABLE
                units.append(Unit(item_type=item_type, asset_tag=f"B-{len(units) + 1:07d}", status=status,
                                  serial_number=f"SN{rng.randrange(10**9):09d}"))
        Unit.objects.bulk_create(units, batch_size=BATCH)
        return item_types, loanable

    def _build_people(self, *, rng, size):
        schools = School.objects.bulk_create(
            School(number=f"{200000 + index}", name=f"Schule {index + 1:03d}",
                   school_type=SCHOOL_TYPES[index % len(SCHOOL_TYPES)])
            for index in range(size["schools"])
        )
        password = make_password("bench-password")  # hashed once, shared by every teacher
        teachers = User.objects.bulk_create(
            (User(username=f"bench-teacher-{index + 1:05d}", email=f"lehrkraft{index + 1}@bench.invalid",
                  first_name="Lehrkraft", last_name=f"{index + 1:05d}", password=password, role=Role.TEACHER)
             for index in range(size["teachers"])),
            batch_size=BATCH,
        )
        memberships = []
        teacher_schools = {}
        for index, teacher in enumerate(teachers):
            own = [schools[index % len(schools)]]
            if rng.random() < 0.1:
                other = rng.choice(schools)
                if other != own[0]:
                    own.append(other)
            teacher_schools[teacher.pk] = own[0].pk
            memberships.extend(User.schools.through(user_id=teacher.pk, school_id=school.pk) for school in own)
        User.schools.through.objects.bulk_create(memberships, batch_size=BATCH)
        qualifications = list(Qualification.objects.order_by("pk"))
        grants = QualificationGrant.objects.bulk_create(
            QualificationGrant(user=teacher, qualification=rng.choice(qualifications),
                               granted_on=datetime.date(2024, 1, 15))
            for teacher in teachers if rng.random() < 0.05
        )
        # bulk_create skips QualificationGrant.save(), which records the training for the statistics.
        QualificationTraining.objects.bulk_create(
            QualificationTraining(qualification=grant.qualification, granted_on=grant.granted_on) for grant in grants)
        return [(teacher.pk, teacher_schools[teacher.pk]) for teacher in teachers]

    def _build_reservations(self, *, rng, size, location, item_types, loanable, teachers, first_day, last_day, today):
        open_days = [day.day for day in counter_days(location=location, first_day=first_day, last_day=last_day)
                     if day.is_open]
        past_days = [day for day in open_days if day < today]
        future_days = [day for day in open_days if day >= today]
        future_weights = [math.exp(-(day - today).days / FUTURE_DECAY_DAYS) for day in future_days]
        slots = location.slot_times()
        total = size["reservations"]
        future_count = round(total * FUTURE_SHARE) if future_days else 0
        pickups = sorted(rng.choices(past_days, k=total - future_count)) if past_days else []
        if future_count or not past_days:
            pickups += sorted(rng.choices(future_days or open_days, weights=future_weights or None,
                                          k=total - len(pickups)))

        # Popular item types are booked more often; units per type weigh in too.
        bookable = [item_type for item_type in item_types if loanable[item_type.pk] > 0] or item_types
        popularity = [loanable[item_type.pk] * rng.uniform(0.3, 1.7) + 0.5 for item_type in bookable]
        cumulative = list(itertools.accumulate(popularity))
        turnaround = {item_type.pk: item_type.turnaround_days for item_type in item_types}
        # What holding reservations already hold, per item type and day (index from first_day); the
        # generator never promises more units than are loanable, as the booking service would not.
        horizon = (last_day - first_day).days + 20
        held = {item_type.pk: [0] * horizon for item_type in item_types}
        # Returned loans get their hand-overs (which unit, out and back, some late) for the
        # statistics rows; a random stream of their own leaves the bookings as they were.
        self._handover_rng = random.Random(size["seed"] + 7)
        self._units_of_type = {}
        for item_type_id, unit_id in Unit.objects.filter(status=UnitStatus.AVAILABLE).values_list("item_type_id", "pk"):
            self._units_of_type.setdefault(item_type_id, []).append(unit_id)
        slot_taken = {}

        def fits(item_type_id, quantity, start, stop):
            row = held[item_type_id]
            return max(row[start:stop + 1]) + quantity <= loanable[item_type_id]

        reservations = []
        line_specs = []
        code_index = 0
        for pickup_day in pickups:
            # Return: the same day, the next counter day, a week or two later; always an open day.
            loan_days = rng.choices([0, 1, 7, 8, 14], weights=[5, 25, 40, 10, 20])[0]
            latest = bisect_right(open_days, pickup_day + datetime.timedelta(days=loan_days)) - 1
            return_day = open_days[max(latest, bisect_left(open_days, pickup_day))]
            slot = rng.choice(slots)
            roll = rng.random()
            if pickup_day >= today:
                status = ReservationStatus.CANCELLED if roll < 0.1 else ReservationStatus.CONFIRMED
            elif return_day >= today:
                status = (ReservationStatus.HANDED_OUT if roll < 0.9 else ReservationStatus.CANCELLED
                          if roll < 0.97 else ReservationStatus.NO_SHOW)
            elif (today - return_day).days <= 28 and roll < 0.04:
                status = ReservationStatus.HANDED_OUT  # overdue: not back by its return day
            else:
                status = (ReservationStatus.RETURNED if roll < 0.85 else ReservationStatus.CANCELLED
                          if roll < 0.95 else ReservationStatus.NO_SHOW)
            if status == ReservationStatus.CONFIRMED:
                key = (pickup_day, slot)
                if slot_taken.get(key, 0) >= location.slot_capacity:
                    free_slots = [each for each in slots
                                  if slot_taken.get((pickup_day, each), 0) < location.slot_capacity]
                    if free_slots:
                        slot = rng.choice(free_slots)
                    else:
                        status = ReservationStatus.CANCELLED
            holding = status in HOLDING_STATUSES
            start = (pickup_day - first_day).days
            line_count = rng.choices([1, 2, 3], weights=[60, 30, 10])[0]
            chosen = {}
            for _ in range(line_count * 4):
                if len(chosen) == line_count:
                    break
                item_type = rng.choices(bookable, cum_weights=cumulative)[0]
                if item_type.pk in chosen:
                    continue
                quantity = 1 if loanable[item_type.pk] < 6 or rng.random() < 0.7 else rng.randint(2, 3)
                if holding:
                    end_day = max(return_day, today) if status == ReservationStatus.HANDED_OUT else return_day
                    stop = (end_day - first_day).days + turnaround[item_type.pk]
                    if not fits(item_type.pk, quantity, start, stop):
                        continue
                    row = held[item_type.pk]
                    for offset in range(start, stop + 1):
                        row[offset] += quantity
                chosen[item_type.pk] = quantity
            if not chosen:
                # Nothing was free: the booking was refused in real life; keep it as cancelled.
                status = ReservationStatus.CANCELLED
                chosen[rng.choice(bookable).pk] = 1
            if status == ReservationStatus.CONFIRMED:
                slot_taken[(pickup_day, slot)] = slot_taken.get((pickup_day, slot), 0) + 1
            borrower_id, school_id = rng.choice(teachers)
            teacher_id = borrower_id
            if status in (ReservationStatus.RETURNED, ReservationStatus.CANCELLED, ReservationStatus.NO_SHOW) \
                    and (today - return_day).days > 365:
                borrower_id = None  # the retention period removed the link to the person
            code_index += 1
            reservation = Reservation(
                code=_booking_code(code_index), borrower_id=borrower_id, school_id=school_id,
                location=location, pickup_day=pickup_day, pickup_slot=slot, return_day=return_day, status=status,
            )
            reservation.teacher_id = teacher_id  # counted in TeacherReach also after the purge
            reservations.append(reservation)
            line_specs.append(chosen)
            if len(reservations) >= BATCH:
                self._write_reservations(reservations, line_specs)
                reservations, line_specs = [], []
        if reservations:
            self._write_reservations(reservations, line_specs)

    def _write_reservations(self, reservations, line_specs):
        with transaction.atomic():
            # bulk_create skips Reservation.save(), which records the school's type.
            school_types = dict(School.objects.values_list("pk", "school_type"))
            refs = self.__dict__.setdefault("_teacher_refs", {})
            reached = set()
            for reservation in reservations:
                reservation.school_type = school_types[reservation.school_id]
                # … and counts the loan's teacher in TeacherReach (under a reference of the year,
                # kept after the purge removed the person from the booking).
                if reservation.status in (ReservationStatus.HANDED_OUT, ReservationStatus.RETURNED):
                    key = (reservation.teacher_id, reservation.pickup_day.year)
                    ref = refs.setdefault(key, secrets.token_hex(8))
                    reached.add((ref, key[1], reservation.location.pk, reservation.school_type))
            TeacherReach.objects.bulk_create(
                (TeacherReach(ref=ref, year=year, location_id=location_id, school_type=school_type)
                 for ref, year, location_id, school_type in reached),
                batch_size=BATCH, ignore_conflicts=True)
            # The teachers' references of the years their bookings still name them.
            TeacherYear.objects.bulk_create(
                (TeacherYear(borrower_id=reservation.borrower_id, year=reservation.pickup_day.year,
                             ref=refs[(reservation.teacher_id, reservation.pickup_day.year)])
                 for reservation in reservations
                 if reservation.borrower_id is not None and (reservation.teacher_id, reservation.pickup_day.year) in refs),
                batch_size=BATCH, ignore_conflicts=True)
            Reservation.objects.bulk_create(reservations, batch_size=BATCH)
            ReservationLine.objects.bulk_create(
                (ReservationLine(reservation_id=reservation.pk, item_type_id=item_type_id, quantity=quantity)
                 for reservation, chosen in zip(reservations, line_specs)
                 for item_type_id, quantity in sorted(chosen.items())),
                batch_size=BATCH,
            )
            Handover.objects.bulk_create(self._returned_handovers(reservations, line_specs), batch_size=BATCH)

    def _returned_handovers(self, reservations, line_specs):
        rng, zone = self._handover_rng, timezone.get_default_timezone()
        for reservation, chosen in zip(reservations, line_specs):
            if reservation.status != ReservationStatus.RETURNED:
                continue
            out = datetime.datetime.combine(reservation.pickup_day, datetime.time(10, 0), tzinfo=zone)
            for item_type_id, quantity in chosen.items():
                units = self._units_of_type.get(item_type_id, ())
                for unit_id in rng.sample(units, min(quantity, len(units))):
                    late = rng.random() < 0.06
                    back_day = reservation.return_day + datetime.timedelta(days=rng.randint(1, 12) if late else 0)
                    yield Handover(
                        reservation_id=reservation.pk, unit_id=unit_id, handed_out_at=out,
                        returned_at=datetime.datetime.combine(back_day, datetime.time(11, 0), tzinfo=zone),
                        return_condition=Handover.Condition.COMPLETE, returned_late=late,
                    )

    # Measuring -----------------------------------------------------------------------------------

    def _timed(self, client, method, url, data=None, **extra):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = getattr(client, method)(url, data or {}, **extra)
            elapsed = (time.perf_counter() - started) * 1000
        return response, elapsed, data_queries(queries)

    @staticmethod
    def _summary(name, times, query_counts, failures=0):
        return {
            "page": name, "n": len(times),
            "median_ms": round(statistics.median(times), 1) if times else None,
            "p95_ms": round(_percentile(times, 0.95), 1) if times else None,
            "queries_min": min(query_counts) if query_counts else None,
            "queries_max": max(query_counts) if query_counts else None,
            "failures": failures,
        }

    def _measure(self, *, repeat, seed, today):
        rng = random.Random(seed + 1)
        location = Location.objects.get(slug=BENCH_LOCATION_SLUG)
        teacher = (User.objects.filter(role=Role.TEACHER, is_active=True, schools__isnull=False)
                   .order_by("pk").first())
        school = teacher.schools.order_by("pk").first()
        open_days = [day.day for day in counter_days(location=location, first_day=today,
                                                     last_day=today + datetime.timedelta(days=FUTURE_DAYS))
                     if day.is_open]
        three_weeks = today + datetime.timedelta(days=21)
        free_from = open_days[bisect_left(open_days, three_weeks)]
        free_to = free_from + datetime.timedelta(days=7)
        next_month = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        item_types = list(ItemType.objects.order_by("pk"))
        client = Client()
        client.force_login(teacher)
        results = []

        # The catalogue, filtered to what is free in a week about three weeks ahead: right after a
        # change elsewhere (the version raised before each request, outside the timing), when the
        # page is built afresh, and as most requests find it, rendered already (cached).
        url = reverse("frontend:catalogue")
        query = {"free_from": free_from.isoformat(), "free_to": free_to.isoformat()}
        client.get(url, query)  # warm-up: templates, translations, connection
        for cached in (False, True):
            times, counts, failures = [], [], 0
            for _ in range(repeat):
                if not cached:
                    catalogue_changed()
                response, elapsed, count = self._timed(client, "get", url, query)
                failures += response.status_code != 200
                times.append(elapsed)
                counts.append(count)
            results.append(self._summary(
                f"catalogue ?free_from={free_from}&free_to={free_to}" + (" (cached)" if cached else ""),
                times, counts, failures))

        # An item type's month calendar, a different item type each time: its first look, then the
        # same item types again (cached).
        sample = rng.sample(item_types, min(repeat, len(item_types)))
        client.get(reverse("frontend:item_detail", args=[sample[0].slug]), {"month": f"{next_month:%Y-%m}"})
        catalogue_changed()
        for cached in (False, True):
            times, counts, failures = [], [], 0
            for index in range(repeat):
                item_type = sample[index % len(sample)]
                response, elapsed, count = self._timed(
                    client, "get", reverse("frontend:item_detail", args=[item_type.slug]),
                    {"month": f"{next_month:%Y-%m}"},
                )
                failures += response.status_code != 200
                times.append(elapsed)
                counts.append(count)
            results.append(self._summary(f"item calendar ?month={next_month:%Y-%m}" + (" (cached)" if cached else ""),
                                         times, counts, failures))

        # Bookings: each for its own item type, pickup day and slot, so none competes with another.
        plans = self._booking_plans(count=3 * repeat, location=location, item_types=item_types,
                                    open_days=[day for day in open_days if day >= free_from], today=today)
        made = []
        try:
            # Interleaved: every other booking without its confirmation mail queued (the service as
            # it was before the mail queue), so the two rows compare under the same machine load.
            measured = {True: ([], [], [0]), False: ([], [], [0])}
            for index, (item_type, pickup_day, slot, return_day) in enumerate(plans[:2 * repeat]):
                with_mail = index % 2 == 0
                times, counts, failures = measured[with_mail]
                with (contextlib.nullcontext() if with_mail else
                      mock.patch("lending.services.booking_event_notify", lambda event: None)), \
                        CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    try:
                        reservation = reservation_create(
                            borrower=teacher, school=school, pickup_day=pickup_day, pickup_slot=slot,
                            return_day=return_day, lines={item_type.pk: 1}, note="Benchmark",
                        )
                    except BookingError:
                        reservation = None
                    elapsed = (time.perf_counter() - started) * 1000
                if reservation is None:
                    failures[0] += 1
                else:
                    made.append(reservation.pk)
                times.append(elapsed)
                counts.append(data_queries(queries))
            for with_mail, label in ((True, "reservation_create() service, confirmation queued"),
                                     (False, "reservation_create() service, no mail (interleaved)")):
                times, counts, failures = measured[with_mail]
                results.append(self._summary(label, times, counts, failures[0]))
            results.append(self._measure_mail_delivery(reservation_id=made[0], teacher=teacher))

            add_times, add_counts, add_failures = [], [], 0
            times, counts, failures = [], [], 0
            for item_type, pickup_day, slot, return_day in plans[2 * repeat:]:
                response, elapsed, count = self._timed(
                    client, "post", reverse("frontend:basket_add", args=[item_type.slug]),
                    {"quantity": "1", "pickup_day": pickup_day.isoformat(), "return_day": return_day.isoformat()},
                )
                add_failures += response.status_code != 302
                add_times.append(elapsed)
                add_counts.append(count)
                response, elapsed, count = self._timed(client, "post", reverse("frontend:booking_create"), {
                    "school": str(school.pk), "pickup_day": pickup_day.isoformat(),
                    "pickup_slot": slot.strftime("%H:%M"), "return_day": return_day.isoformat(), "note": "Benchmark",
                })
                location_header = response.get("Location", "")
                booking_prefix = reverse("frontend:booking_detail", args=["X"])[:-2]
                if response.status_code == 302 and location_header.startswith(booking_prefix):
                    made.append(Reservation.objects.get(code=location_header[len(booking_prefix):].strip("/")).pk)
                else:
                    failures += 1
                    session = client.session  # a refused booking leaves its line in the basket
                    session.pop("basket", None)
                    session.save()
                times.append(elapsed)
                counts.append(count)
            results.append(self._summary("basket add (POST)", add_times, add_counts, add_failures))
            results.append(self._summary("booking create (POST)", times, counts, failures))
        finally:
            # Leave the data as it was, so the next run measures the same thing.
            Reservation.objects.filter(pk__in=made).delete()
            catalogue_changed()
            Session.objects.all().delete()
        results.extend(self._measure_counter(repeat=repeat, rng=rng, location=location))
        results.extend(self._measure_api(repeat=repeat, rng=rng, location=location, today=today))
        results.append(self._measure_labels(repeat=min(repeat, 5)))
        results.extend(self._measure_reminders(repeat=min(repeat, 5), today=today))
        for people in (20, WAITLIST_PEOPLE):  # the same queries for a short line and a long one
            results.extend(self._measure_waitlist_offers(repeat=min(repeat, 10), today=today, people=people))
        results.extend(self._measure_calendar(repeat=repeat, today=today))
        results.extend(self._measure_statistics(repeat=repeat, today=today))
        return results

    def _measure_statistics(self, *, repeat, today):
        """The statistics of issue 14 as an administrator sees them (every counter): the dashboard
        for the last whole year and for this year so far, every table as XLSX and as PDF (the full
        export), and the API's tables."""
        admin, _ = User.objects.get_or_create(username=BENCH_ADMIN_USERNAME, defaults={
            "role": Role.ADMIN, "first_name": "Verwaltung", "last_name": "Benchmark",
            "email": "verwaltung@bench.invalid", "password": make_password(None),
        })
        if not admin.authenticator_set.exists():
            TOTP.activate(admin, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")  # administrators must have a second factor
        client = Client()
        client.force_login(admin)
        last_year = today.year - 1
        rows = [
            (f"statistics dashboard ?jahr={last_year} (GET)", reverse("frontend:statistics"), {"jahr": last_year}, repeat),
            (f"statistics dashboard ?jahr={today.year} (GET)", reverse("frontend:statistics"), {"jahr": today.year}, repeat),
            (f"statistics: all tables as XLSX, {last_year}", reverse("frontend:statistics_download", args=["xlsx"]),
             {"jahr": last_year}, min(repeat, 10)),
            (f"statistics: all tables as PDF, {last_year}", reverse("frontend:statistics_download", args=["pdf"]),
             {"jahr": last_year}, min(repeat, 5)),
            (f"API GET /statistics/?year={last_year}", reverse("lending_api:statistics"), {"year": last_year}, repeat),
        ]
        results = []
        try:
            for name, url, query, times_asked in rows:
                client.get(url, query)  # warm-up
                times, counts, failures = [], [], 0
                for _ in range(times_asked):
                    response, elapsed, count = self._timed(client, "get", url, query)
                    failures += response.status_code != 200
                    times.append(elapsed)
                    counts.append(count)
                results.append(self._summary(name, times, counts, failures))
        finally:
            Session.objects.all().delete()
        return results

    def _measure_counter(self, *, repeat, rng, location):
        """The counter as its clerk uses it: scan a booking's QR code and land on the booking, scan a
        unit's label, open the busiest day's agenda."""
        clerk, _ = User.objects.get_or_create(username=BENCH_CLERK_USERNAME, defaults={
            "role": Role.STAFF, "first_name": "Theke", "last_name": "Benchmark", "email": "theke@bench.invalid",
            "password": make_password(None),
        })
        if clerk.role != Role.STAFF:
            clerk.role = Role.STAFF
            clerk.save(update_fields=["role"])
        clerk.locations.add(location)
        if not clerk.authenticator_set.exists():
            TOTP.activate(clerk, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")  # staff must have a second factor
        # The bookings a clerk scans: holding ones (to hand out or take back) with several lines; on
        # the small dataset there are too few of them, so any booking with several lines.
        several_lines = (Reservation.objects.filter(location=location).annotate(line_count=Count("lines"))
                         .filter(line_count__gte=2).order_by("pk"))
        codes = list(several_lines.filter(status__in=HOLDING_STATUSES).values_list("code", flat=True))
        if len(codes) < repeat + 1:
            codes = list(several_lines.values_list("code", flat=True))
        asset_tags = list(Unit.objects.filter(item_type__location=location).order_by("pk")
                          .values_list("asset_tag", flat=True))
        if not codes or not asset_tags:
            raise CommandError("The counter rows need a booking with several lines and a unit.")
        codes = _sample(rng, codes, repeat + 1)  # the first of each is the warm-up
        asset_tags = _sample(rng, asset_tags, repeat + 1)
        base_url = settings.SITE_URL or "http://testserver"
        scan_url = reverse("frontend:counter_scan", args=[location.slug])
        client = Client()
        client.force_login(clerk)
        results = []
        try:
            scan_times, scan_counts, scan_failures = [], [], 0
            page_times, page_counts, page_failures = [], [], 0
            both_times, both_counts, both_failures = [], [], 0
            for index, code in enumerate(codes):
                page_url = reverse("frontend:counter_booking", args=[location.slug, code])
                scanned, scan_elapsed, scan_count = self._timed(
                    client, "post", scan_url, {"code": f"{base_url}{reverse('frontend:booking_scan', args=[code])}"}
                )
                page, page_elapsed, page_count = self._timed(client, "get", page_url)
                if index == 0:
                    continue  # warm-up: templates, translations, connection
                scan_failed = scanned.status_code != 302 or scanned.get("Location") != page_url
                page_failed = page.status_code != 200
                scan_failures += scan_failed
                page_failures += page_failed
                both_failures += scan_failed or page_failed
                scan_times.append(scan_elapsed)
                scan_counts.append(scan_count)
                page_times.append(page_elapsed)
                page_counts.append(page_count)
                # What the clerk waits for: the scan and the page it leads to, one after the other.
                both_times.append(scan_elapsed + page_elapsed)
                both_counts.append(scan_count + page_count)
            results.append(self._summary("scan: booking QR (POST)", scan_times, scan_counts, scan_failures))
            results.append(self._summary("scan answer: booking at the desk (GET)", page_times, page_counts,
                                         page_failures))
            results.append(self._summary("scan → answer (POST + GET)", both_times, both_counts, both_failures))

            times, counts, failures = [], [], 0
            for index, asset_tag in enumerate(asset_tags):
                response, elapsed, count = self._timed(
                    client, "post", scan_url, {"code": unit_label_url(base_url=base_url, asset_tag=asset_tag)}
                )
                if index == 0:
                    continue
                failures += response.status_code != 302 or response.get("Location") != reverse(
                    "frontend:counter_unit", args=[location.slug, asset_tag])
                times.append(elapsed)
                counts.append(count)
            results.append(self._summary("scan: unit label (POST)", times, counts, failures))

            day = self._busiest_counter_day(location)
            url = reverse("frontend:counter", args=[location.slug])
            client.get(url, {"tag": day.isoformat()})
            times, counts, failures = [], [], 0
            for _ in range(repeat):
                response, elapsed, count = self._timed(client, "get", url, {"tag": day.isoformat()})
                failures += response.status_code != 200
                times.append(elapsed)
                counts.append(count)
            results.append(self._summary(f"counter agenda (GET) ?tag={day}", times, counts, failures))
            for stops in (10, TOUR_STOPS):  # the same queries for a short tour and a long one
                results.extend(self._measure_tour(client=client, repeat=repeat, location=location, stops=stops))
        finally:
            # Only the benchmark's clerk scans in this database; its scan events go, as its bookings do.
            ReservationEvent.objects.filter(actor=clerk, action=ReservationEvent.Action.SCANNED).delete()
            UnitEvent.objects.filter(actor=clerk, action=UnitEvent.Action.SCANNED).delete()
            Session.objects.all().delete()
        return results

    def _measure_tour(self, *, client, repeat, location, stops):
        """A tour day with `stops` deliveries to as many schools, each with a unit packed: its
        tour list page and its PDF sheets (one page a stop). The bookings are written directly
        (their rules are not what is measured) on a day past the dataset's, and removed after."""
        today = timezone.localdate()
        day = today + datetime.timedelta(days=FUTURE_DAYS + 30)
        schools = list(School.objects.filter(active=True).order_by("pk")[:stops])
        addresses = {school.pk: (school.street, school.postcode, school.city) for school in schools}
        units = list(Unit.objects.filter(item_type__location=location, status=UnitStatus.AVAILABLE)
                     .exclude(pk__in=Handover.objects.filter(returned_at__isnull=True).values("unit_id"))
                     .select_related("item_type").order_by("pk")[:stops])
        # The small dataset has fewer schools: its tour is as long as they allow.
        stops = min(stops, len(schools), len(units))
        if stops < 1:
            raise CommandError("The tour rows need a school and a free unit.")
        schools, units = schools[:stops], units[:stops]
        made = []
        try:
            for index, school in enumerate(schools):
                School.objects.filter(pk=school.pk).update(
                    street=f"Schulweg {index + 1}", postcode=f"{44100 + index % 300}", city="Dortmund")
            for school, unit in zip(schools, units):
                reservation = Reservation.objects.create(
                    school=school, location=location, pickup_day=day, pickup_slot=DELIVERY_SLOT,
                    return_day=day + datetime.timedelta(days=7), fulfilment=Fulfilment.DELIVERY,
                    hold_days_before=1, hold_days_after=1, collection_by_tour=True, packed_at=timezone.now())
                made.append(reservation.pk)
                ReservationLine.objects.create(reservation=reservation, item_type=unit.item_type, quantity=1)
                Handover.objects.create(reservation=reservation, unit=unit)
            page_url = reverse("frontend:counter_tour", args=[location.slug])
            pdf_url = reverse("frontend:counter_tour_pdf", args=[location.slug])
            results = []
            for label, url, kind in ((f"tour list (GET), {stops} stops", page_url, "text/html"),
                                     (f"tour sheets PDF (GET), {stops} stops, one page each", pdf_url,
                                      "application/pdf")):
                client.get(url, {"tag": day.isoformat()})  # warm-up
                times, counts, failures = [], [], 0
                for _ in range(repeat if kind == "text/html" else max(repeat // 4, 3)):
                    response, elapsed, count = self._timed(client, "get", url, {"tag": day.isoformat()})
                    failures += response.status_code != 200 or not response["Content-Type"].startswith(kind)
                    times.append(elapsed)
                    counts.append(count)
                results.append(self._summary(label, times, counts, failures))
            return results
        finally:
            Reservation.objects.filter(pk__in=made).delete()
            for school_pk, (street, postcode, city) in addresses.items():
                School.objects.filter(pk=school_pk).update(street=street, postcode=postcode, city=city)
            catalogue_changed()

    def _measure_api(self, *, repeat, rng, location, today):
        """The API as a counter script uses it, with a read-write token of the benchmark's clerk:
        the busiest day's bookings (first page), a scan, the units; and the public availability
        of one item type for a month, anonymously. Rate limits are lifted for the run."""
        clerk = User.objects.get(username=BENCH_CLERK_USERNAME)
        token, raw = api_token_create(user=clerk, name="Benchmark", scope=ApiToken.Scope.WRITE)
        script = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        anonymous = Client()
        day = self._busiest_counter_day(location)
        codes = _sample(rng, list(Reservation.objects.filter(location=location, status__in=HOLDING_STATUSES)
                                  .order_by("pk").values_list("code", flat=True)), repeat + 1)
        slugs = _sample(rng, list(ItemType.objects.filter(location=location).order_by("pk")
                                  .values_list("slug", flat=True)), repeat + 1)
        unlimited = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "1000000/minute",
                                                                           "token": "1000000/minute"}}
        month = {"from": today.isoformat(), "to": (today + datetime.timedelta(days=30)).isoformat()}

        def measure(name, calls, ok):
            times, counts, failures = [], [], 0
            for index, call in enumerate(calls):
                response, elapsed, count = call()
                if index == 0:
                    continue  # warm-up
                failures += not ok(response)
                times.append(elapsed)
                counts.append(count)
            return self._summary(name, times, counts, failures)

        results = []
        try:
            with override_settings(REST_FRAMEWORK=unlimited):
                results.append(measure(
                    f"API: bookings of {day} (GET, token)",
                    [lambda: self._timed(script, "get", reverse("lending_api:reservation_create"),
                                         {"day": day.isoformat()})] * (repeat + 1),
                    lambda response: response.status_code == 200 and len(response.json()["results"]) == min(
                        50, response.json()["count"]) > 0,
                ))
                results.append(measure(
                    "API: counter scan of a booking (POST, token)",
                    [lambda code=code: self._timed(script, "post", reverse("lending_api:counter_scan"),
                                                   {"location": location.slug, "code": code},
                                                   content_type="application/json") for code in codes],
                    lambda response: response.status_code == 200 and response.json()["reservation"] is not None,
                ))
                results.append(measure(
                    "API: units, first page (GET, token)",
                    [lambda: self._timed(script, "get", reverse("lending_api:unit_list"))] * (repeat + 1),
                    lambda response: response.status_code == 200,
                ))
                results.append(measure(
                    "API: availability, 31 days (GET, anonymous)",
                    [lambda slug=slug: self._timed(anonymous, "get", reverse("lending_api:availability"),
                                                   {"item_type": slug, **month}) for slug in slugs],
                    lambda response: response.status_code == 200 and len(response.json()) == 31,
                ))
        finally:
            token.delete()
            ReservationEvent.objects.filter(actor=clerk, action=ReservationEvent.Action.SCANNED).delete()
        return results

    @staticmethod
    def _busiest_counter_day(location):
        """The day whose agenda lists the most bookings: pickups (not cancelled) plus returns due."""
        listed = {}
        for day, count in (Reservation.objects.filter(location=location).exclude(status=ReservationStatus.CANCELLED)
                           .values("pickup_day").annotate(count=Count("pk")).order_by()
                           .values_list("pickup_day", "count")):
            listed[day] = listed.get(day, 0) + count
        for day, count in (Reservation.objects.filter(
                location=location, status__in=(ReservationStatus.HANDED_OUT, ReservationStatus.RETURNED))
                .values("return_day").annotate(count=Count("pk")).order_by().values_list("return_day", "count")):
            listed[day] = listed.get(day, 0) + count
        return max(listed, key=lambda day: (listed[day], day))

    def _calendar_dataset(self, *, today):
        """The calendar location, its teacher with 500 bookings and its clerk; built once."""
        location, _ = Location.objects.get_or_create(slug=CALENDAR_LOCATION_SLUG, defaults={
            "name": "Medienzentrum Kalender", "address": "Kalenderweg 1\n44137 Dortmund", "counter_weekdays": [2, 3],
            "opens_at": datetime.time(8), "closes_at": datetime.time(16), "slot_minutes": 15, "slot_capacity": 1000,
        })
        teacher, _ = User.objects.get_or_create(username="bench-kalender-lehrkraft", defaults={
            "role": Role.TEACHER, "first_name": "Kalla", "last_name": "Lender", "password": make_password(None)})
        clerk, _ = User.objects.get_or_create(username="bench-kalender-theke", defaults={
            "role": Role.STAFF, "first_name": "Theo", "last_name": "Kalender", "password": make_password(None)})
        clerk.locations.add(location)
        if not Reservation.objects.filter(location=location).exists():
            category = Category.objects.order_by("pk").first()
            item_types = [
                ItemType.objects.create(location=location, category=category, name=f"{name} (Kalender {number})",
                                        slug=f"kalender-{number}", description="…", contents="")
                for number, name in enumerate(PRODUCTS[:5])
            ]
            school = School.objects.order_by("pk").first()
            others = list(User.objects.filter(role=Role.TEACHER).exclude(pk=teacher.pk).order_by("pk")[:200])
            days = [day.day for day in counter_days(location=location, first_day=today + ONE_DAY,
                                                    last_day=today + datetime.timedelta(days=180)) if day.is_open]
            reservations = Reservation.objects.bulk_create(
                Reservation(
                    code=_booking_code(10_000_000 + number), location=location, school=school,
                    borrower=teacher if number < CALENDAR_TEACHER_BOOKINGS else others[number % len(others)],
                    pickup_day=days[number % len(days)], pickup_slot=datetime.time(8, 15 * (number % 4)),
                    return_day=days[min(number % len(days) + 2, len(days) - 1)],
                )
                for number in range(CALENDAR_COUNTER_BOOKINGS)
            )
            ReservationLine.objects.bulk_create(
                ReservationLine(reservation=reservation, item_type=item_types[(number + shift) % 5], quantity=1 + shift)
                for number, reservation in enumerate(reservations) for shift in range(1 + number % 2)
            )
            catalogue_changed()
        return location, teacher, clerk

    def _measure_calendar(self, *, repeat, today):
        """The feeds as calendar clients poll them: built (200) and unchanged (304, If-None-Match)."""
        location, teacher, clerk = self._calendar_dataset(today=today)
        client = Client()
        feeds = [
            (f"calendar: personal feed, {CALENDAR_TEACHER_BOOKINGS} bookings",
             reverse("frontend:calendar_feed", kwargs={"token": calendar_token_rotate(user=teacher)}),
             2 * CALENDAR_TEACHER_BOOKINGS),
            (f"calendar: counter feed, {2 * CALENDAR_COUNTER_BOOKINGS} events",
             reverse("frontend:calendar_counter_feed",
                     kwargs={"token": calendar_token_rotate(user=clerk), "location": location.slug}),
             2 * CALENDAR_COUNTER_BOOKINGS),
        ]
        results = []
        for name, url, events in feeds:
            first, _, _ = self._timed(client, "get", url)  # warm-up, and the ETag for the 304s
            times, counts, failures = [], [], 0
            for _ in range(repeat):
                response, elapsed, queries = self._timed(client, "get", url)
                times.append(elapsed)
                counts.append(queries)
                failures += response.status_code != 200 or response.content.count(b"BEGIN:VEVENT") != events
            results.append(self._summary(f"{name} (GET)", times, counts, failures))
            times, counts, failures = [], [], 0
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
                    times.append((time.perf_counter() - started) * 1000)
                counts.append(data_queries(queries))
                failures += response.status_code != 304
            results.append(self._summary(f"{name} unchanged (304)", times, counts, failures))
        return results

    def _measure_mail_delivery(self, *, reservation_id, teacher):
        """The mail worker's throughput: MAIL_BENCH_MESSAGES confirmations rendered (text, HTML, QR
        PNG, .ics) and sent over SMTP to a local aiosmtpd server, in rounds of 50; the row's times
        and queries are per message. The server runs as a process of its own, as a mail server
        does: in this one its work would take turns with the worker's for the interpreter."""
        reservation = Reservation.objects.get(pk=reservation_id)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "--nosetuid", "--listen", f"127.0.0.1:{port}",
                                   "--class", "aiosmtpd.handlers.Sink"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    raise CommandError("the local SMTP server for the mail row did not start") from None
                time.sleep(0.05)
        times, counts, failures = [], [], 0
        try:
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                                   EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_USE_TLS=False,
                                   SITE_URL=settings.SITE_URL or "https://verleih.example.de"), \
                    _quiet_loggers("notifications.delivery", "mail.log"):
                Mail.objects.all().delete()
                for _round in range(MAIL_BENCH_MESSAGES // 50):
                    for _ in range(50):
                        booking_confirmation_resend(reservation=reservation, actor=teacher)
                    with CaptureQueriesContext(connection) as queries:
                        started = time.perf_counter()
                        result = deliver_due()
                        elapsed = (time.perf_counter() - started) * 1000
                    failures += 50 - result.sent
                    times.append(elapsed / 50)
                    counts.append(math.ceil(data_queries(queries) / 50))
        finally:
            server.terminate()
            server.wait(timeout=10)
            Mail.objects.all().delete()
        return self._summary(f"mail delivery to local SMTP, per message ({MAIL_BENCH_MESSAGES} mails)",
                             times, counts, failures)

    def _measure_reminders(self, *, repeat, today):
        """`send_reminders` for a counter day with REMINDER_BOOKINGS bookings: 600 pickups (their
        reminders, the working day before) and 400 loans due back (their overdue notices, the day
        after), on a Tuesday a year ahead, on top of the dataset's own loans out. First run (queues),
        then runs that find everything queued (cron again)."""
        location = Location.objects.get(slug=BENCH_LOCATION_SLUG)
        school = School.objects.order_by("pk").first()
        teachers = list(User.objects.filter(role=Role.TEACHER, is_active=True).order_by("pk")[:200])
        item_type = ItemType.objects.filter(location=location).order_by("pk").first()
        day = today + datetime.timedelta(days=365)
        day += datetime.timedelta(days=(2 - day.isoweekday()) % 7)  # a Tuesday
        week_before = day - datetime.timedelta(days=7)
        reservations = Reservation.objects.bulk_create(
            Reservation(
                code=_booking_code(20_000_000 + number), location=location, school=school,
                borrower=teachers[number % len(teachers)], pickup_slot=datetime.time(9),
                **({"pickup_day": day, "return_day": day + datetime.timedelta(days=7),
                    "status": ReservationStatus.CONFIRMED} if number < 600 else
                   {"pickup_day": week_before, "return_day": day, "status": ReservationStatus.HANDED_OUT}),
            )
            for number in range(REMINDER_BOOKINGS)
        )
        ReservationLine.objects.bulk_create(ReservationLine(reservation=reservation, item_type=item_type, quantity=1)
                                            for reservation in reservations)
        Reservation.objects.filter(pk__in=[reservation.pk for reservation in reservations]).update(
            created_at=timezone.now() - datetime.timedelta(days=30))
        results = []
        try:
            for name, run_day in ((f"reminder run, {REMINDER_BOOKINGS} bookings: day before (600 pickups)",
                                   day - datetime.timedelta(days=1)),
                                  (f"reminder run, {REMINDER_BOOKINGS} bookings: day after (400 overdue)",
                                   day + datetime.timedelta(days=1))):
                for label in ("", ", again (all queued)"):
                    times, counts = [], []
                    for _ in range(1 if not label else repeat):
                        with CaptureQueriesContext(connection) as queries:
                            started = time.perf_counter()
                            result = reminders_queue(today=run_day)
                            times.append((time.perf_counter() - started) * 1000)
                        counts.append(data_queries(queries))
                    due = result.pickup if run_day < day else result.overdue
                    results.append(self._summary(name + label, times, counts, 0 if due >= 400 else 1))
        finally:
            Mail.objects.all().delete()
            Reservation.objects.filter(pk__in=[reservation.pk for reservation in reservations]).delete()
            catalogue_changed()
        return results

    def _measure_waitlist_offers(self, *, repeat, today, people):
        """A cancellation that frees every unit of an item type while `people` teachers wait
        for it (one unit each, over the counter's slots): the offer step runs in the cancellation's
        transaction. Interleaved with the same cancellation while nobody waits (the entries set
        aside), for the ratio."""
        location = Location.objects.get(slug=BENCH_LOCATION_SLUG)
        days_ahead = 60
        day = today + datetime.timedelta(days=days_ahead)
        day += datetime.timedelta(days=(2 - day.isoweekday()) % 7)  # a Tuesday
        item_type = (ItemType.objects.filter(location=location, required_qualification__isnull=True, paused=False,
                                             max_advance_days__gte=days_ahead + 7, min_lead_days__lte=days_ahead,
                                             max_loan_days__gte=1)
                     .annotate(loanable=Count("units", filter=Q(units__status=UnitStatus.AVAILABLE)))
                     .filter(loanable__gte=2).order_by("pk").first())
        teachers = [teacher for teacher in User.objects.filter(role=Role.TEACHER, is_active=True)
                    .prefetch_related("schools").order_by("pk")[:people + 50] if teacher.schools.all()]
        holder, people = teachers[0], teachers[1:people + 1]
        slots = location.slot_times()
        # A Tuesday the counter is open on, and the Wednesday after it.
        while not any(open_day.is_open and open_day.day == day for open_day in
                      counter_days(location=location, first_day=day, last_day=day)) or not any(
                open_day.is_open for open_day in counter_days(location=location, first_day=day + ONE_DAY,
                                                              last_day=day + ONE_DAY)):
            day += datetime.timedelta(days=7)
        return_day = day + ONE_DAY

        def hold_everything():
            free = availability(item_type_ids=[item_type.pk], first_day=day, last_day=return_day + datetime.timedelta(
                days=item_type.turnaround_days), today=today)[item_type.pk]
            return reservation_create(
                borrower=holder, school=holder.schools.all()[0], pickup_day=day, pickup_slot=slots[0],
                return_day=return_day,
                lines={item_type.pk: free.min_free(day, return_day + datetime.timedelta(days=item_type.turnaround_days))})

        made = [hold_everything()]
        entries = [waitlist_join(borrower=teacher, school=teacher.schools.all()[0], item_type=item_type, quantity=1,
                                 pickup_day=day, pickup_slot=slots[index % len(slots)], return_day=return_day).pk
                   for index, teacher in enumerate(people)]
        waiting = WaitlistEntry.objects.filter(pk__in=entries)
        measured = {True: ([], [], [0]), False: ([], [], [0])}
        offers = 0
        try:
            with _quiet_loggers("lending.services", "lending.waitlist"):
                for _ in range(repeat):
                    for with_people in (True, False):
                        waiting.update(status=WaitlistEntry.Status.WAITING if with_people else WaitlistEntry.Status.LEFT,
                                       offered_at=None, offer_expires_at=None)
                        booking = made[-1] if made[-1].status == ReservationStatus.CONFIRMED else hold_everything()
                        made.append(booking)
                        times, counts, failures = measured[with_people]
                        with CaptureQueriesContext(connection) as queries:
                            started = time.perf_counter()
                            reservation_cancel(reservation=booking, actor=holder)
                            times.append((time.perf_counter() - started) * 1000)
                        counts.append(data_queries(queries))
                        booking.status = ReservationStatus.CANCELLED
                        offered = waiting.filter(status=WaitlistEntry.Status.OFFERED).count()
                        failures[0] += (offered == 0) if with_people else (offered != 0)
                        offers = offered if with_people else offers
        finally:
            Mail.objects.filter(kind=Mail.Kind.WAITLIST_OFFER).delete()
            WaitlistEntry.objects.filter(pk__in=entries).delete()
            Mail.objects.filter(reservation__in=made).delete()
            Reservation.objects.filter(pk__in=[booking.pk for booking in made]).delete()
            catalogue_changed()
        return [self._summary(f"cancellation, {len(people)} waiting: {offers} offers made", *measured[True][:2],
                              measured[True][2][0]),
                self._summary(f"the same cancellation, nobody waiting (interleaved with {len(people)})",
                              *measured[False][:2], measured[False][2][0])]

    def _measure_labels(self, *, repeat):
        """A sheet of 1,000 QR labels (3 x 8 on A4), the units read from the database each time."""
        times, counts = [], []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                units = list(Unit.objects.select_related("item_type").order_by("pk")[:LABELS])
                pdf = label_sheet_pdf(units=units, label_format="3x8", base_url="https://verleih.example.de")
                times.append((time.perf_counter() - started) * 1000)
            counts.append(len(queries.captured_queries))
        failures = 0 if pdf.startswith(b"%PDF") and len(units) == LABELS else 1
        return self._summary(f"label sheet PDF, {LABELS} labels", times, counts, failures)

    def _booking_plans(self, *, count, location, item_types, open_days, today):
        """(item type, pickup day, slot, return day) that should all succeed, none sharing a slot.

        Item types with a free unit over the whole window and no qualification or pause, pickup days
        from about three weeks ahead, the next open counter day as the return day.
        """
        candidates = [item_type for item_type in item_types
                      if not item_type.paused and item_type.required_qualification_id is None]
        slots = location.slot_times()
        plans = []
        used = set()
        if len(open_days) < 2:
            raise CommandError("There are too few open counter days ahead to book on.")
        window_last = open_days[-1] + datetime.timedelta(days=5)
        free = availability(item_type_ids=[item_type.pk for item_type in candidates], first_day=open_days[0],
                            last_day=window_last, today=today)
        taken = {}
        for pickup_day, slot in Reservation.objects.filter(
            location=location, pickup_day__in=open_days, status=ReservationStatus.CONFIRMED,
        ).values_list("pickup_day", "pickup_slot"):
            taken[(pickup_day, slot)] = taken.get((pickup_day, slot), 0) + 1
        consumed = {}  # (item type id, day) -> units the plans so far hold
        pickup_count = len(open_days) - 1
        for attempt in range(len(candidates) * pickup_count):
            if len(plans) == count:
                break
            item_type = candidates[attempt % len(candidates)]
            pickup_day = open_days[(attempt * 7) % pickup_count]
            return_day = open_days[open_days.index(pickup_day) + 1]
            if (pickup_day - today).days < item_type.min_lead_days or (return_day - pickup_day).days > 14:
                continue
            hold_until = return_day + datetime.timedelta(days=item_type.turnaround_days)
            held_days = [pickup_day + datetime.timedelta(days=offset)
                         for offset in range((hold_until - pickup_day).days + 1)]
            extra = max(consumed.get((item_type.pk, day), 0) for day in held_days)
            if free[item_type.pk].min_free(pickup_day, hold_until) - extra < 1:
                continue
            slot = next((each for each in slots if (pickup_day, each) not in used
                         and taken.get((pickup_day, each), 0) < location.slot_capacity), None)
            if slot is None:
                continue
            used.add((pickup_day, slot))
            for day in held_days:
                consumed[(item_type.pk, day)] = consumed.get((item_type.pk, day), 0) + 1
            plans.append((item_type, pickup_day, slot, return_day))
        if len(plans) < count:
            raise CommandError(f"Found only {len(plans)} bookable item types and days for {count} bookings.")
        return plans

    # Output --------------------------------------------------------------------------------------

    def _print(self, report):
        dataset = report["dataset"]
        counts = dataset["counts"]
        self.stdout.write("")
        self.stdout.write(f"{report['database']['version']}, database {report['database']['name']}, {report['date']}")
        self.stdout.write(
            "Dataset: {item_types} item types, {units} units, {categories} categories, {schools} schools, "
            "{teachers} teachers, {closures} closures, {reservations} reservations with {reservation_lines} lines "
            "({holding_reservations} holding), {handovers} hand-overs".format(**counts)
        )
        self.stdout.write(f"Build time: {dataset['build_seconds']} s" + (" (reused)" if dataset["reused"] else ""))
        self.stdout.write(f"Repetitions: {report['repeat']}")
        width = max(len(row["page"]) for row in report["results"])
        self.stdout.write(f"{'page':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'queries':>7}  failures")
        for row in report["results"]:
            queries = (str(row["queries_min"]) if row["queries_min"] == row["queries_max"]
                       else f"{row['queries_min']}-{row['queries_max']}")
            self.stdout.write(
                f"{row['page']:<{width}}  {row['median_ms']:>9}  {row['p95_ms']:>7}  {queries:>7}  {row['failures']}"
            )

import io
import os
import re
import subprocess

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.models import Qualification, Role, School, SchoolType, User
from catalog.models import Closure, ItemType, Location, Unit
from lending.models import Handover, Reservation, ReservationEvent, ReservationLine, ReservationStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug(settings):
    settings.DEBUG = True  # the demo runs only in development (`make run` sets DEBUG)


def test_it_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo", stdout=io.StringIO())
    assert not User.objects.exists()


def load_demo():
    stdout = io.StringIO()
    call_command("load_demo", stdout=stdout)
    return stdout.getvalue()


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (Location, Closure, School, User, Qualification, ItemType, Unit, Reservation, ReservationLine,
                      ReservationEvent)
    }


def test_it_loads_a_media_centre_with_schools_catalogue_and_users():
    load_demo()

    location = Location.objects.get(slug="mz-dortmund")
    assert location.counter_weekdays == [2, 3]
    assert set(School.objects.values_list("school_type", flat=True)) == set(SchoolType.values)
    for school_type in SchoolType.values:
        assert School.objects.filter(school_type=school_type).count() >= 2
    assert ItemType.objects.filter(location=location).count() >= 12
    assert not ItemType.objects.filter(units__isnull=True).exists()
    assert Unit.objects.filter(asset_tag="MZ-VR-001").exists()
    assert ItemType.objects.filter(paused=True).exclude(paused_reason="").exists()
    assert ItemType.objects.get(slug="vr-koffer").required_qualification.name == "VR-Schulung"
    assert ItemType.objects.get(slug="lasercutter").required_qualification.name == "Lasercutter-Einweisung"
    # The tour delivers: every school has an address, and one booking is a delivery.
    assert location.delivers and ItemType.objects.filter(location=location, deliverable=True).exists()
    assert all(school.has_delivery_address for school in School.objects.all())
    assert Reservation.objects.filter(fulfilment="delivery", status=ReservationStatus.CONFIRMED).count() == 1


def test_its_users_have_the_right_roles():
    load_demo()

    teacher = User.objects.get(username="lehrerin")
    assert teacher.role == Role.TEACHER and teacher.schools.count() == 2
    assert teacher.qualification_grants.filter(qualification__name="VR-Schulung").exists()
    assert teacher.check_password("demo-lehrerin")
    clerk = User.objects.get(username="theke")
    assert clerk.role == Role.STAFF and clerk.check_password("demo-theke")
    admin = User.objects.get(username="admin")
    assert admin.role == Role.ADMIN and admin.is_staff and admin.is_superuser and admin.check_password("demo-admin")


def test_it_imports_the_holidays_of_this_year_and_next():
    load_demo()

    year = timezone.localdate().year
    for each in (year, year + 1):
        assert Closure.objects.filter(first_day__year=each, reason="Neujahr", source="public_holiday").exists()


def test_it_has_bookings_of_every_status_with_lines_and_events():
    load_demo()

    today = timezone.localdate()
    for status in ReservationStatus.values:
        assert Reservation.objects.filter(status=status).exists(), status
    assert any(reservation.is_overdue(today) for reservation in Reservation.objects.filter(status="handed_out"))
    assert Reservation.objects.filter(status=ReservationStatus.CONFIRMED, pickup_day__gt=today).exists()
    assert not Reservation.objects.filter(lines__isnull=True).exists()
    assert not Reservation.objects.filter(events__isnull=True).exists()
    for status, action in (("returned", "returned"), ("cancelled", "cancelled"), ("no_show", "no_show")):
        assert Reservation.objects.filter(status=status).exclude(events__action=action).count() == 0, status


def test_its_loans_have_their_units_out_so_the_counter_can_take_them_back():
    load_demo()

    for reservation in Reservation.objects.filter(status__in=["handed_out", "returned"]):
        booked = sum(line.quantity for line in reservation.lines.all())
        handovers = list(reservation.handovers.all())
        assert len(handovers) == booked, reservation
        assert all((handover.returned_at is None) == (reservation.status == "handed_out") for handover in handovers)
    out = Handover.objects.filter(returned_at__isnull=True)
    assert out.exists() and out.values("unit").distinct().count() == out.count()


def test_running_it_twice_changes_nothing_and_prints_the_logins_again():
    first_output = load_demo()
    before = counts()

    second_output = load_demo()

    assert counts() == before
    for output in (first_output, second_output):
        for username, password in (("lehrerin", "demo-lehrerin"), ("theke", "demo-theke"), ("admin", "demo-admin")):
            assert username in output and password in output
        assert "/admin/" in output
    assert "already" in second_output or "bereits" in second_output


def test_it_refuses_to_mix_with_existing_users():
    User.objects.create_user(username="admin", password="something-else")

    with pytest.raises(CommandError, match="admin"):
        load_demo()

    assert not Location.objects.exists()
    assert User.objects.get(username="admin").check_password("something-else")


@pytest.mark.django_db(transaction=True)
def test_the_one_time_code_command_it_prints_works_as_printed():
    """`make run` shows load_demo's output: the demo_totp commands must run as printed, from the
    portal's folder (here against the test database, which the printed command reads through
    DATABASE_URL as `make run`'s reads var/db.sqlite3)."""
    output = load_demo()
    commands = [line.strip() for line in output.splitlines() if "demo_totp" in line and line.startswith("  ")]
    assert [command.rsplit(" ", 1)[1] for command in commands] == ["theke", "admin"]
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{database['NAME']}"
    else:
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    # As in a shell after `make run`: the portal's own settings, not the test settings.
    environment = {name: value for name, value in os.environ.items() if name not in ("DJANGO_SETTINGS_MODULE", "DEBUG")}
    for command in commands:
        result = subprocess.run(command, shell=True, cwd=settings.BASE_DIR, capture_output=True, text=True,
                                timeout=120, env={**environment, "DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
        assert re.search(r"\b\d{6}\b", result.stdout), result.stdout

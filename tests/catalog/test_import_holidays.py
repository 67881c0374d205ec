import datetime
import io

import holidays
import pytest
from django.core.management import CommandError, call_command

from catalog.exceptions import CatalogError
from catalog.models import Closure
from catalog.services import closures_import_holidays
from tests import factories

day = datetime.date
SCHOOL_HOLIDAYS_KNOWN = "school" in getattr(holidays.Germany, "supported_categories", ())


def run(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_holidays", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue() + stderr.getvalue()


def closures(location):
    return set(Closure.objects.filter(location=location).values_list("first_day", "last_day", "reason", "source"))


def test_it_imports_the_public_holidays_of_nrw(location):
    run("--year", "2027")

    imported = closures(location)
    assert (day(2027, 1, 1), day(2027, 1, 1), "Neujahr", "public_holiday") in imported
    assert (day(2027, 10, 3), day(2027, 10, 3), "Tag der Deutschen Einheit", "public_holiday") in imported
    assert (day(2027, 5, 27), day(2027, 5, 27), "Fronleichnam", "public_holiday") in imported
    assert (day(2027, 11, 1), day(2027, 11, 1), "Allerheiligen", "public_holiday") in imported
    # Not a public holiday in NRW.
    assert not any(reason == "Reformationstag" for _first, _last, reason, _source in imported)


@pytest.mark.skipif(not SCHOOL_HOLIDAYS_KNOWN, reason="this holidays package knows no school holidays")
def test_it_imports_school_holidays_as_one_range_each(location):
    run("--year", "2027")

    imported = closures(location)
    assert (day(2027, 7, 19), day(2027, 8, 31), "Sommerferien", "school_holiday") in imported
    assert (day(2027, 10, 23), day(2027, 11, 6), "Herbstferien", "school_holiday") in imported
    assert Closure.objects.filter(location=location, reason="Sommerferien").count() == 1


def test_running_it_twice_creates_nothing_twice(location):
    run("--year", "2027")
    first = closures(location)

    output = run("--year", "2027")

    assert closures(location) == first
    assert Closure.objects.filter(location=location).count() == len(first)
    assert "0 closures created" in output or "0 Schließtage angelegt" in output


def test_it_fills_all_locations_unless_told_otherwise(location):
    other = factories.make_location(slug="mz-other")

    run("--year", "2027", "--location", "mz-other")
    assert not Closure.objects.filter(location=location).exists()
    assert Closure.objects.filter(location=other, reason="Neujahr").exists()

    run("--year", "2027")
    assert Closure.objects.filter(location=location, reason="Neujahr").exists()


def test_the_state_defaults_to_the_location_and_can_be_overridden(location):
    bavarian = factories.make_location(slug="mz-muenchen", holiday_state="BY")

    run("--year", "2027")
    assert Closure.objects.filter(location=bavarian, first_day=day(2027, 1, 6), reason="Heilige Drei Könige").exists()
    assert not Closure.objects.filter(location=location, reason="Heilige Drei Könige").exists()

    run("--year", "2027", "--location", "mz-test", "--state", "BY")
    assert Closure.objects.filter(location=location, reason="Heilige Drei Könige").exists()


def test_switching_the_state_removes_what_no_longer_applies_but_keeps_staff_closures(location):
    staff_closure = factories.make_closure(location=location, first_day=day(2027, 2, 9), reason="Inventur")
    run("--year", "2027", "--state", "BY")
    assert Closure.objects.filter(location=location, reason="Heilige Drei Könige").exists()

    run("--year", "2027", "--state", "NW")

    assert not Closure.objects.filter(location=location, reason="Heilige Drei Könige").exists()
    assert Closure.objects.filter(location=location, reason="Fronleichnam").exists()
    assert Closure.objects.filter(pk=staff_closure.pk).exists()


def test_it_keeps_other_years(location):
    run("--year", "2026")
    run("--year", "2027")

    assert Closure.objects.filter(location=location, first_day=day(2026, 1, 1), reason="Neujahr").exists()
    assert Closure.objects.filter(location=location, first_day=day(2027, 1, 1), reason="Neujahr").exists()


@pytest.mark.parametrize("state", ["XX", "Bayern", ""])
def test_it_refuses_an_unknown_state(location, state):
    with pytest.raises(CommandError, match="Unknown German state|Unbekanntes Bundesland"):
        run("--year", "2027", "--state", state)
    assert not Closure.objects.exists()


@pytest.mark.parametrize("year", ["1900", "3000"])
def test_it_refuses_a_year_out_of_range(location, year):
    with pytest.raises(CommandError, match="The year must be between|Das Jahr muss zwischen"):
        run("--year", year)
    assert not Closure.objects.exists()


def test_it_refuses_an_unknown_location(location):
    with pytest.raises(CommandError, match="no location|keine Ausleihstelle"):
        run("--year", "2027", "--location", "nowhere")


def test_the_service_raises_a_stable_code(location):
    with pytest.raises(CatalogError) as error:
        closures_import_holidays(location=location, year=2027, state="ZZ")
    assert error.value.code == "unknown_state"


def test_it_warns_when_no_school_holidays_are_known(location):
    output = run("--year", "2099")

    assert Closure.objects.filter(location=location, first_day=day(2099, 1, 1), source="public_holiday").exists()
    assert not Closure.objects.filter(location=location, source="school_holiday").exists()
    assert "No school holidays" in output or "keine Schulferien" in output

"""After a take-back the booking pages show every unit that was out and when it came back, under
"Zurückgegeben" (returned), not "Noch kein Exemplar zugeordnet." (no unit assigned yet)."""

import pytest
from django.urls import reverse

from lending.models import ReservationStatus
from lending.services import takeback_unit
from tests.lending.conftest import NEXT_WEDNESDAY, TUESDAY, travel_to


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


@pytest.fixture
def all_back(time_machine, loan, units, clerk):
    travel_to(time_machine, NEXT_WEDNESDAY, hour=11)
    takeback_unit(unit=units[0], actor=clerk, condition="complete", note="")
    takeback_unit(unit=units[1], actor=clerk, condition="damaged", note="Riss im Kabel")
    loan.refresh_from_db()
    assert loan.status == ReservationStatus.RETURNED
    return loan


def test_the_counters_booking_page_lists_the_units_that_came_back(client, clerk, location, all_back, units):
    client.force_login(clerk)
    html = client.get(reverse("frontend:counter_booking", args=[location.slug, all_back.code]),
                      HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Noch kein Exemplar zugeordnet." not in html
    assert "<h2>Zurückgegeben</h2>" in html and "<h2>Zurück</h2>" not in html
    for unit, condition in [(units[0], "vollständig"), (units[1], "beschädigt")]:
        assert f'data-unit="{unit.asset_tag}"' in html
        assert f"zurückgegeben am 10.03.2027 11:00, {condition}" in html
    assert "ausgegeben am 02.03.2027" in html


def test_in_english_too(client, clerk, location, all_back):
    client.force_login(clerk)
    html = client.get(reverse("frontend:counter_booking", args=[location.slug, all_back.code]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h2>Returned</h2>" in html and "No unit assigned yet." not in html
    assert "returned 10.03.2027 11:00, complete" in html


def test_one_back_one_still_out(client, clerk, location, loan, units, time_machine):
    travel_to(time_machine, NEXT_WEDNESDAY, hour=11)
    takeback_unit(unit=units[0], actor=clerk, condition="complete", note="")
    client.force_login(clerk)
    html = client.get(reverse("frontend:counter_booking", args=[location.slug, loan.code]),
                      HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f'<fieldset class="unit-checklist" data-unit="{units[1].asset_tag}">' in html
    assert f'<p class="unit-returned" data-unit="{units[0].asset_tag}">' in html


def test_the_teacher_sees_what_she_has_and_what_came_back(client, teacher_a, loan, units, clerk, time_machine):
    client.force_login(teacher_a)
    page = reverse("frontend:booking_detail", args=[loan.code])
    html = client.get(page, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f"{units[0].asset_tag} – VR-Koffer:" in html and "noch nicht zurück" in html

    travel_to(time_machine, NEXT_WEDNESDAY, hour=11)
    takeback_unit(unit=units[0], actor=clerk, condition="complete", note="")
    html = client.get(page, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "zurückgegeben am 10.03.2027 11:00, vollständig" in html
    assert html.count("noch nicht zurück") == 1

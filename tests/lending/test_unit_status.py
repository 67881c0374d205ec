"""A unit out on a loan says so, on its counter page and in the API: to whom, since when, due when
and how many days overdue; the stored status (maintenance, lost, retired) stays what it is."""

import datetime

import pytest
from django.urls import reverse

from catalog.models import UnitStatus
from lending.services import handover_assign_unit, takeback_unit
from tests import factories
from tests.lending.conftest import NEXT_WEDNESDAY, TUESDAY, travel_to


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


@pytest.fixture
def at_counter(client, clerk):
    client.force_login(clerk)
    return client


def unit_page(client, location, unit, language="de"):
    return client.get(reverse("frontend:counter_unit", args=[location.slug, unit.asset_tag]),
                      HTTP_ACCEPT_LANGUAGE=language)


def unit_api(client, unit):
    return client.get(reverse("lending_api:unit_detail", args=[unit.asset_tag])).json()


def status_of(page):
    html = page.content.decode()
    start = html.index('class="unit-status')
    return " ".join(html[html.index(">", start) + 1:html.index("</dd>", start)].replace("<strong class=\"overdue\">", "")
                    .replace("</strong>", "").split())


def test_a_unit_on_loan_is_on_loan_to_its_borrower(time_machine, at_counter, location, loan, units, teacher_a):
    travel_to(time_machine, TUESDAY, hour=15)
    page = unit_page(at_counter, location, units[0])
    assert status_of(page) == "verliehen"
    assert "verfügbar" not in status_of(page)
    html = page.content.decode()
    assert str(teacher_a) in html and loan.code in html
    assert "ausgegeben am 02.03.2027" in html and "Rückgabe am 10.03.2027" in html

    api = unit_api(at_counter, units[0])
    assert api["status"] == "on_loan" and api["stored_status"] == "available"
    assert api["loan"]["reservation"] == loan.code
    assert api["loan"]["borrower"] == str(teacher_a)
    assert api["loan"]["school"] == loan.school.name
    assert api["loan"]["return_day"] == "2027-03-10"
    assert api["loan"]["overdue_days"] == 0
    assert datetime.datetime.fromisoformat(api["loan"]["handed_out_at"]).date() == TUESDAY


def test_an_overdue_loan_says_by_how_many_days(time_machine, at_counter, location, loan, units):
    travel_to(time_machine, NEXT_WEDNESDAY + datetime.timedelta(days=3))
    assert status_of(unit_page(at_counter, location, units[0])) == "verliehen · 3 Tage überfällig"
    assert status_of(unit_page(at_counter, location, units[0], "en")) == "on loan · overdue by 3 days"
    api = unit_api(at_counter, units[0])
    assert (api["status"], api["loan"]["overdue_days"]) == ("on_loan", 3)
    listed = {unit["asset_tag"]: unit for unit in
              at_counter.get(reverse("lending_api:unit_list")).json()["results"]}
    assert listed[units[0].asset_tag]["status"] == "on_loan"
    assert listed[units[2].asset_tag]["status"] == "available" and listed[units[2].asset_tag]["loan"] is None


def test_a_unit_on_the_shelf_is_available_and_after_the_take_back_again(time_machine, at_counter, location, loan,
                                                                         units, clerk):
    assert status_of(unit_page(at_counter, location, units[2])) == "verfügbar"
    travel_to(time_machine, NEXT_WEDNESDAY)
    takeback_unit(unit=units[0], actor=clerk, condition="complete", note="")
    assert status_of(unit_page(at_counter, location, units[0])) == "verfügbar"
    assert unit_api(at_counter, units[0])["loan"] is None


def test_a_unit_assigned_at_the_desk_is_not_yet_on_loan(at_counter, location, school_a, teacher_a, item_type, units,
                                                        clerk):
    booking = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                         lines={item_type: 1}, pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY)
    handover_assign_unit(reservation=booking, unit=units[2], actor=clerk)
    assert status_of(unit_page(at_counter, location, units[2])) == "am Ausgabetisch, für eine Ausgabe"
    api = unit_api(at_counter, units[2])
    assert api["status"] == "at_desk" and api["loan"]["handed_out_at"] is None


@pytest.mark.parametrize(("stored", "shown"), [(UnitStatus.MAINTENANCE, "in Wartung"), (UnitStatus.LOST, "verloren"),
                                              (UnitStatus.RETIRED, "ausgemustert")])
def test_the_stored_status_stays_for_maintenance_lost_and_retired(at_counter, location, units, stored, shown):
    units[2].status = stored
    units[2].save()
    assert status_of(unit_page(at_counter, location, units[2])) == shown
    api = unit_api(at_counter, units[2])
    assert api["status"] == api["stored_status"] == stored


def test_the_unit_list_takes_the_same_queries_for_few_and_many_loans(at_counter, location, loan, item_type,
                                                                     django_assert_max_num_queries):
    for _ in range(10):
        factories.make_unit(item_type=item_type)
    with django_assert_max_num_queries(6):
        response = at_counter.get(reverse("lending_api:unit_list"))
    assert response.status_code == 200 and response.json()["count"] >= 12

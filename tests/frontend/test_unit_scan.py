"""`/u/<asset tag>`, where every unit label's QR code points."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from lending.services import handover_assign_unit
from tests import factories


@pytest.fixture
def unit(item_type):
    return item_type.units.first()


def test_anyone_else_is_sent_to_the_items_public_page(client, teacher_a, unit):
    response = client.get(reverse("frontend:unit_scan", args=[unit.asset_tag]))
    assert response.status_code == 302 and response["Location"] == reverse("frontend:item_detail", args=["vr-koffer"])
    client.force_login(teacher_a)
    response = client.get(reverse("frontend:unit_scan", args=[unit.asset_tag]))
    assert response["Location"] == reverse("frontend:item_detail", args=["vr-koffer"])


def test_counter_staff_see_the_unit_its_loan_and_its_history(client, clerk, teacher_a, item_type, unit):
    pickup = factories.counter_day(at_least_days_ahead=3)
    reservation = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=pickup)
    with time_machine.travel(datetime.datetime.combine(pickup, datetime.time(10, 0)), tick=False):
        handover_assign_unit(reservation=reservation, unit=unit, actor=clerk)
    client.force_login(clerk)
    response = client.get(reverse("frontend:unit_scan", args=[unit.asset_tag]), follow=True)
    assert response.redirect_chain == [(reverse("frontend:counter_unit", args=["mz-test", unit.asset_tag]), 302)]
    assert response.status_code == 200
    assert response.context["open_handover"].reservation == reservation
    assert len(response.context["history"]) >= 1
    content = response.content.decode()
    assert reservation.code in content and "Alice" in content


def test_staff_of_another_counter_are_sent_to_the_items_public_page(client, unit, db):
    other_clerk = factories.make_user(role="staff")
    other_clerk.locations.add(factories.make_location())
    client.force_login(other_clerk)
    response = client.get(reverse("frontend:unit_scan", args=[unit.asset_tag]))
    assert response["Location"] == reverse("frontend:item_detail", args=["vr-koffer"])


def test_an_unknown_asset_tag_is_404(client, clerk, db):
    client.force_login(clerk)
    assert client.get("/u/GIBT-ES-NICHT").status_code == 404

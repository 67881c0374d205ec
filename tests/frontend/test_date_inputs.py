"""Every `<input type="date">` (and every day carried in a hidden field) holds its value as ISO 8601
in every language: a German value such as 05.12.2026 is invalid there, and browsers show the field
empty."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import translation

from frontend.counter_forms import DayForm
from frontend.forms import AddToBasketForm, CatalogueFilterForm
from frontend.qualification_views import QualificationGrantForm
from tests import factories
from tests.lending.conftest import MONDAY

DAY = datetime.date(2027, 3, 9)


@pytest.fixture(autouse=True)
def monday(time_machine):
    time_machine.move_to(MONDAY, tick=False)


def inputs(response, name):
    """(type, value) of every input called `name` on the page."""
    html = response.content.decode()
    found = []
    for tag in re.findall(r"<input\b[^>]*>", html):
        if f'name="{name}"' in tag:
            kind = re.search(r'type="([^"]+)"', tag).group(1)
            value = re.search(r'value="([^"]*)"', tag)
            found.append((kind, value.group(1) if value else None))
    return found


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_catalogues_date_fields(client, item_type, language):
    response = client.get(reverse("frontend:catalogue"), {"free_from": "2027-03-09", "free_to": "2027-03-16"},
                          HTTP_ACCEPT_LANGUAGE=language)
    assert inputs(response, "free_from") == [("date", "2027-03-09")]
    assert inputs(response, "free_to") == [("date", "2027-03-16")]


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_agendas_day(client, clerk, location, language):
    client.force_login(clerk)
    response = client.get(reverse("frontend:counter", args=[location.slug]), {"tag": "2027-03-09"},
                          HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert inputs(response, "tag") == [("date", "2027-03-09")]


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_agendas_day_without_a_choice_is_today(client, clerk, location, language):
    client.force_login(clerk)
    response = client.get(reverse("frontend:counter", args=[location.slug]), HTTP_ACCEPT_LANGUAGE=language)
    assert all(value in (None, "", MONDAY.date().isoformat()) for _, value in inputs(response, "tag"))


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_qualification_grants_day(client, clerk, location, teacher_a, language):
    factories.make_qualification(name="VR-Schulung")
    client.force_login(clerk)
    response = client.get(reverse("frontend:counter_qualifications", args=[location.slug]),
                          {"teacher": teacher_a.pk}, HTTP_ACCEPT_LANGUAGE=language)
    assert ("date", MONDAY.date().isoformat()) in inputs(response, "granted_on")


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_item_pages_chosen_days_ride_along_as_iso(client, item_type, language):
    url = reverse("frontend:item_detail", args=[item_type.slug])
    response = client.get(url, {"month": "2027-03", "pickup": "2027-03-09", "return": "2027-03-10"},
                          HTTP_ACCEPT_LANGUAGE=language)
    assert inputs(response, "pickup_day") == [("hidden", "2027-03-09")]
    assert inputs(response, "return_day") == [("hidden", "2027-03-10")]


@pytest.mark.parametrize("form", [
    CatalogueFilterForm(initial={"free_from": DAY, "free_to": DAY}),
    DayForm(initial={"tag": DAY}),
    QualificationGrantForm(initial={"granted_on": DAY, "expires_on": DAY}),
    AddToBasketForm(initial={"pickup_day": DAY, "return_day": DAY}),
])
@pytest.mark.parametrize("language", ["de", "en"])
def test_every_date_field_of_every_form_renders_iso(db, form, language):
    with translation.override(language):
        html = str(form)
    dates = [name for name, field in form.fields.items() if field.__class__.__name__ == "DateField"]
    assert dates
    for name in dates:
        tag = re.search(rf'<input\b[^>]*name="{name}"[^>]*>', html).group(0)
        assert 'value="2027-03-09"' in tag, tag
        assert re.search(r'type="(date|hidden)"', tag), tag

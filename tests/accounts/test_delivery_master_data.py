"""What delivery to schools needs, kept by administrators: the school's delivery address, office
phone and notes for the driver, and the counter's tour settings (issue 13, the first part)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import School
from tests import factories


def test_a_school_has_a_delivery_address_only_when_street_postcode_and_city_are_there(db):
    school = factories.make_school(name="Gesamtschule Brünninghausen")
    assert not school.has_delivery_address and school.delivery_address_lines() == []
    school.street, school.postcode, school.city = "Am Hombruchsfeld 55", "44225", "Dortmund"
    school.full_clean()
    assert school.has_delivery_address
    assert school.delivery_address_lines() == ["Gesamtschule Brünninghausen", "Am Hombruchsfeld 55", "44225 Dortmund"]


@pytest.mark.parametrize(("field", "value"), [("postcode", "4422"), ("postcode", "44225a"), ("office_phone", "call me"),
                                              ("office_phone", "0231<script>")])
def test_a_malformed_postcode_or_phone_is_refused_with_a_message(db, field, value):
    school = factories.make_school()
    setattr(school, field, value)
    with pytest.raises(ValidationError) as excinfo:
        school.full_clean()
    assert field in excinfo.value.message_dict


def test_the_tour_runs_on_the_counter_days_unless_told_otherwise(location):
    assert not location.delivers and location.tour_weekdays() == [2, 3]
    location.deliveries_per_day, location.delivery_weekdays = 6, [4]
    location.full_clean()
    assert location.delivers and location.tour_weekdays() == [4]
    location.delivery_weekdays = [9]
    with pytest.raises(ValidationError) as excinfo:
        location.full_clean()
    assert "delivery_weekdays" in excinfo.value.message_dict


def test_admins_keep_the_delivery_address_in_the_admin(admin_client, db):
    school = factories.make_school(name="Grundschule Kley")
    url = reverse("admin:accounts_school_change", args=[school.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="street"' in page and 'name="delivery_notes"' in page
    data = {"number": school.number, "name": school.name, "school_type": school.school_type, "sso_id": "",
            "active": "on", "street": "Kleyer Weg 3", "postcode": "44149", "city": "Dortmund",
            "office_phone": "+49 231 123456", "delivery_notes": "Hausmeister, Eingang Hofseite"}
    assert admin_client.post(url, {**data, "postcode": "441"}).status_code == 200  # the form again, with the error
    assert School.objects.get(pk=school.pk).postcode == ""
    assert admin_client.post(url, data).status_code == 302
    school.refresh_from_db()
    assert (school.street, school.delivery_notes) == ("Kleyer Weg 3", "Hausmeister, Eingang Hofseite")

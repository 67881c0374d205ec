"""Staff who sign in only through the single sign-on (school management mapped to staff) and their
API tokens: the sign-on must be recent to create one, and signing in again keeps it."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from tests import factories
from tests.sso.conftest import KNOWN_SCHOOL
from tests.sso.driver import oidc_provider_setting, sign_in

pytestmark = pytest.mark.django_db

CREATE = reverse("profile:api_token_create")
UNITS = reverse("lending_api:unit_list")


@pytest.fixture
def management_is_staff(oidc_settings, oidc_provider, db):
    factories.make_school(name="Gymnasium am Park", sso_id=KNOWN_SCHOOL)
    return oidc_settings(oidc_provider_setting(oidc_provider, staff_roles=["LEIT"]))


def test_a_signed_on_clerk_creates_a_token_that_survives_the_next_sign_in(client, management_is_staff):
    sign_in(client, management_is_staff, login="schulleitung")
    response = client.post(CREATE, {"name": "Kiosk", "scope": "read", "valid_for": "30"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    raw = response.content.decode().split('id="new-api-token" readonly value="')[1].split('"')[0]
    assert token.user.has_usable_password() is False

    # Signing in again renews nothing the token depends on.
    sign_in(Client(), management_is_staff, login="schulleitung")
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert Client().get(UNITS, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_without_a_password_the_sign_on_itself_must_be_recent(client, management_is_staff, time_machine):
    sign_in(client, management_is_staff, login="schulleitung")
    time_machine.move_to(timezone.now() + datetime.timedelta(minutes=10))
    response = client.post(CREATE, {"name": "Kiosk", "scope": "read"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()

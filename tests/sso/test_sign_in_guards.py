"""The ways around the sign-on that must stay closed: a password for an SSO teacher, connecting a
sign-on identity to another account, a leftover session key posing as a sign-on, an admin made
with createsuperuser without a second factor."""

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse

from accounts.adapters import SSO_PENDING_KEY
from accounts.models import Role, User
from tests import factories
from tests.sso.conftest import KNOWN_SCHOOL
from tests.sso.driver import sign_in

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


@pytest.fixture
def school(db):
    return factories.make_school(name="Gymnasium am Park", sso_id=KNOWN_SCHOOL)


def password_sign_in(client, login, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": login, "password": password})


def test_a_teacher_cannot_sign_in_with_a_password_once_a_sign_on_is_configured(client, vidis, school):
    sign_in(client, vidis, login="lehrkraft")
    teacher = SocialAccount.objects.get(uid=vidis.sub("lehrkraft")).user
    teacher.set_password(PASSWORD)  # as a password reset by e-mail would
    teacher.save()
    client.logout()

    response = password_sign_in(client, teacher.username)

    assert response.status_code == 403 and "Konto Ihrer Schule" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The next sign-on makes the password unusable again.
    sign_in(client, vidis, login="lehrkraft")
    teacher.refresh_from_db()
    assert not teacher.has_usable_password()


def test_staff_still_sign_in_with_password_and_code(client, vidis, location):
    clerk = factories.make_user(username="clara", role=Role.STAFF)
    response = password_sign_in(client, "clara")
    assert response.status_code == 302 and response["Location"].startswith("/konto/2fa/authenticate/")
    client.post(response["Location"], {"code": factories.totp_code()})
    assert client.session["_auth_user_id"] == str(clerk.pk)


@pytest.mark.parametrize("process", ["connect", "redirect"])
def test_a_sign_on_identity_cannot_be_connected_to_another_account(client, vidis, school, process):
    clerk = factories.make_user(username="clara", role=Role.STAFF)
    client.force_login(clerk)

    response = client.post(reverse("openid_connect_login", kwargs={"provider_id": "vidis"}), {"process": process})

    assert response.status_code == 400
    assert not SocialAccount.objects.exists()
    clerk.refresh_from_db()
    assert clerk.role == Role.STAFF


def test_a_leftover_sign_on_key_does_not_excuse_a_local_sign_in_from_the_second_factor(client, location):
    factories.make_user(username="neu", role=Role.STAFF, totp=False)
    session = client.session
    session[SSO_PENDING_KEY] = {"provider": "vidis", "id_token": "x.y.z"}
    session["sso"] = {"provider": "vidis", "id_token": "x.y.z"}
    session.save()

    password_sign_in(client, "neu")
    response = client.get(reverse("frontend:counter", args=[location.slug]))

    assert response.status_code == 302 and response["Location"].startswith("/konto/2fa/totp/activate/")


def test_a_superuser_made_with_createsuperuser_needs_a_second_factor_too(client):
    admin = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    assert admin.role == Role.TEACHER  # createsuperuser leaves the role alone

    client.force_login(admin)
    response = client.get("/admin/")

    assert response.status_code == 302 and response["Location"].startswith("/konto/2fa/totp/activate/")


def test_an_account_the_sign_on_now_refuses_is_not_signed_in(vidis, school):
    first = sign_in(Client(), vidis, login="lehrkraft")
    assert first.signed_in
    school.sso_id = "NW-ANDERS"  # the school left the media centre's list
    school.save()

    again = sign_in(Client(), vidis, login="lehrkraft")

    assert again.response.status_code == 403 and not again.signed_in
    assert "nicht angemeldet" in again.response.content.decode()

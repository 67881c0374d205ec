"""Teachers sign in through a real OpenID Connect provider (tests/sso/provider), at the HTTP level.

Every case of the issue: a teacher of a known school, of two schools, a student, an unknown
school, another state, missing claims, the school claim as a string and as a list; forged and
replayed state; role and schools refreshed at every sign-in; the contact e-mail asked once;
sign-out at the provider.
"""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from tests import factories
from tests.sso.conftest import KNOWN_SCHOOL, PSEUDONYM, SECOND_SCHOOL
from tests.sso.driver import FORGED_STATE, REPLAY, end_provider_session, oidc_provider_setting, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def schools(db):
    return {
        KNOWN_SCHOOL: factories.make_school(name="Gymnasium am Park", sso_id=KNOWN_SCHOOL),
        SECOND_SCHOOL: factories.make_school(name="Grundschule Nord", sso_id=SECOND_SCHOOL),
    }


def user_of(provider, login, provider_id="vidis"):
    return SocialAccount.objects.get(provider=provider_id, uid=provider.sub(login)).user


@pytest.mark.parametrize(("login", "expected"), [
    ("lehrkraft", [KNOWN_SCHOOL]),
    ("schulleitung", [KNOWN_SCHOOL]),
    ("zwei_schulen", [KNOWN_SCHOOL, SECOND_SCHOOL]),
    ("schule_als_text", [KNOWN_SCHOOL]),
    ("schule_als_liste", [KNOWN_SCHOOL]),
])
def test_teachers_of_known_schools_sign_in_with_their_schools(client, vidis, schools, login, expected):
    result = sign_in(client, vidis, login=login)

    assert result.signed_in
    user = user_of(vidis, login)
    assert user.role == Role.TEACHER
    assert sorted(school.sso_id for school in user.schools.all()) == expected
    assert not user.has_usable_password()
    # The account is keyed on (provider, sub); its user name says nothing about the person.
    assert user.username.startswith("vidis-") and login not in user.username
    # The first sign-in asks for a contact e-mail.
    assert result.response.status_code == 302
    assert result.response["Location"].startswith(reverse("frontend:contact_email"))


@pytest.mark.parametrize(("login", "code"), [
    ("schueler", "role_refused"),
    ("extern", "role_refused"),
    ("unbekannte_schule", "school_unknown"),
    ("anderes_land", "state_other"),
    ("ohne_rolle", "role_missing"),
    ("ohne_schule", "school_missing"),
])
def test_everyone_else_is_refused_with_a_page_that_says_why_and_no_account(
        client, vidis, schools, caplog, login, code):
    with caplog.at_level(logging.WARNING, logger="accounts.adapters"):
        result = sign_in(client, vidis, login=login)

    assert result.response.status_code == 403
    assert result.response.context["refusal"].code == code
    assert "Anmeldung nicht möglich" in result.response.content.decode()
    assert not result.signed_in
    assert not User.objects.exists() and not SocialAccount.objects.exists()
    [record] = [record for record in caplog.records if "single sign-on refused" in record.getMessage()]
    assert f"code={code}" in record.getMessage() and vidis.sub(login) not in record.getMessage()


def test_a_forged_state_signs_nobody_in(client, vidis, schools):
    result = sign_in(client, vidis, login="lehrkraft", tamper=FORGED_STATE)

    assert result.response.status_code in (400, 401, 403)
    assert not result.signed_in and not User.objects.exists()


def test_a_replayed_callback_signs_nobody_in(vidis, schools):
    result = sign_in(Client(), vidis, login="lehrkraft", tamper=REPLAY)
    assert result.first_response.status_code == 302  # the genuine callback went through

    stranger = Client()
    replayed = stranger.get(result.callback_url)

    assert replayed.status_code in (400, 401, 403)
    assert "_auth_user_id" not in stranger.session
    assert User.objects.count() == 1


def test_role_and_schools_are_read_again_at_every_sign_in(client, vidis, schools):
    sign_in(client, vidis, login="zwei_schulen")
    user = user_of(vidis, "zwei_schulen")
    user.role = Role.STAFF
    user.save()
    user.schools.set([])
    schools[SECOND_SCHOOL].active = False
    schools[SECOND_SCHOOL].save()
    client.logout()

    sign_in(client, vidis, login="zwei_schulen")

    user.refresh_from_db()
    assert user.role == Role.TEACHER
    assert [school.sso_id for school in user.schools.all()] == [KNOWN_SCHOOL]
    assert User.objects.count() == 1


def test_the_same_e_mail_as_a_local_account_makes_a_separate_account(client, vidis, schools):
    local = factories.make_user(username="lena")
    local.email = vidis.accounts["lehrkraft"]["email"]
    local.save()

    sign_in(client, vidis, login="lehrkraft")

    assert user_of(vidis, "lehrkraft") != local
    assert not SocialAccount.objects.filter(user=local).exists()


def test_a_pseudonymous_e_mail_is_replaced_by_a_contact_e_mail_asked_once(client, vidis, schools):
    result = sign_in(client, vidis, login="pseudonym")
    user = user_of(vidis, "pseudonym")
    assert user.email == PSEUDONYM
    page = client.get(result.response["Location"])
    assert "Pseudonym" in page.content.decode() or "pseudonym" in page.content.decode()

    bad = client.post(reverse("frontend:contact_email"), {"contact_email": "kein-mail", "next": "/"})
    assert bad.status_code == 400
    done = client.post(reverse("frontend:contact_email"), {"contact_email": "p.seudo@schule.example", "next": "/"})
    assert done.status_code == 302 and done["Location"] == "/"
    user.refresh_from_db()
    assert (user.contact_email, user.notification_email) == ("p.seudo@schule.example", "p.seudo@schule.example")

    client.logout()
    again = sign_in(client, vidis, login="pseudonym")
    assert again.signed_in and not again.response["Location"].startswith(reverse("frontend:contact_email"))


def test_an_iserv_server_signs_in_teachers_of_its_school(client, oidc_provider, oidc_settings, schools):
    oidc_settings(oidc_provider_setting(oidc_provider, provider_id="iserv", name="IServ Gymnasium am Park",
                                        mapping="iserv", school=KNOWN_SCHOOL))

    teacher = sign_in(client, oidc_provider, login="iserv_lehrkraft", provider_id="iserv")
    student = sign_in(Client(), oidc_provider, login="iserv_schueler", provider_id="iserv")

    assert teacher.signed_in
    assert [school.sso_id for school in user_of(oidc_provider, "iserv_lehrkraft", "iserv").schools.all()] == [
        KNOWN_SCHOOL]
    assert student.response.status_code == 403 and not student.signed_in


def test_the_sign_in_page_has_a_button_per_provider_and_starts_with_a_post(client, oidc_provider, oidc_settings):
    oidc_settings(oidc_provider_setting(oidc_provider),
                  oidc_provider_setting(oidc_provider, provider_id="iserv", name="IServ Nord", mapping="iserv",
                                        school=SECOND_SCHOOL))

    page = client.get(reverse("account_login")).content.decode()

    assert "Anmelden mit VIDIS" in page and "Anmelden mit IServ Nord" in page
    assert page.count('<form method="post" action="/konto/oidc/') == 2
    # A link (GET) does not start a sign-in: it only shows a page asking to continue.
    response = client.get(reverse("openid_connect_login", kwargs={"provider_id": "vidis"}))
    assert response.status_code == 200


def test_nobody_can_sign_up_locally(client, vidis):
    response = client.post(reverse("account_signup"), {
        "username": "mallory", "email": "mallory@example.org", "password1": "x-Very-long-pw-1", "password2": "x-Very-long-pw-1",
    })
    assert not User.objects.filter(username="mallory").exists()
    assert response.status_code in (200, 403)


def test_signing_out_ends_the_session_here_and_at_the_provider(client, vidis, schools):
    result = sign_in(client, vidis, login="lehrkraft")
    client.post(reverse("frontend:contact_email"), {"skip": "1", "next": "/"})

    response = client.post(reverse("account_logout"))

    assert "_auth_user_id" not in client.session
    assert response.status_code == 302
    end_session = response["Location"]
    assert end_session.startswith(vidis.issuer + "/")
    query = parse_qs(urlsplit(end_session).query)
    assert query["id_token_hint"][0].count(".") == 2  # a JWT
    assert query["post_logout_redirect_uri"] == ["http://testserver/"]
    assert end_provider_session(result.browser, end_session).startswith("http://testserver/")
    # The provider's session is over: signing in again shows its login page (the driver logs in).
    again = sign_in(client, vidis, login="lehrkraft", browser=result.browser)
    assert again.signed_in

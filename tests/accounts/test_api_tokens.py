"""Personal API tokens: created and revoked on the account page by staff, stored hashed, read-only
or read-write, refused once revoked or when their user may no longer use them; rate limits for
anonymous and token clients."""

import datetime
import hashlib

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.api_tokens import MAX_TOKENS_PER_USER, api_token_create
from accounts.models import ApiToken, Role, User
from lending.models import ReservationStatus
from tests import factories

pytestmark = pytest.mark.django_db

PROFILE = reverse("profile:show")
CREATE = reverse("profile:api_token_create")
RESERVATIONS = reverse("lending_api:reservation_create")
SCAN = reverse("lending_api:counter_scan")
ITEM_TYPES = reverse("lending_api:item_type_list")


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def confirmed(client, user):
    """Signed in and just confirmed their password, as creating a token asks."""
    client.force_login(user)
    response = client.post(reverse("account_reauthenticate"), {"password": "correct-horse-battery"})
    assert response.status_code == 302, response.content
    return client


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def staff_booking(location, school_a, teacher_a, item_type):
    return factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=factories.counter_day(at_least_days_ahead=3),
        return_day=factories.counter_day(at_least_days_ahead=10),
    )


# The account page --------------------------------------------------------------------------------


def test_creating_a_token_asks_for_the_password_first_and_then_creates_it(client, clerk):
    client.force_login(clerk)
    response = client.post(CREATE, {"name": "Kiosk Theke 1", "scope": "write"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ApiToken.objects.exists()

    wrong = client.post(response["Location"], {"password": "falsch"})
    assert wrong.status_code == 200 and not ApiToken.objects.exists()
    # allauth replays the suspended request once the password is confirmed.
    resumed = client.post(response["Location"], {"password": "correct-horse-battery"}, follow=True)
    assert resumed.status_code == 200
    assert ApiToken.objects.get(user=clerk).name == "Kiosk Theke 1"
    assert 'id="new-api-token"' in resumed.content.decode()


def test_staff_create_a_token_that_is_shown_once_and_stored_hashed(client, clerk):
    confirmed(client, clerk)
    response = client.post(CREATE, {"name": "Kiosk Theke 1", "scope": "write"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=clerk)
    page = response.content.decode()
    raw = page.split('id="new-api-token" readonly value="')[1].split('"')[0]
    assert raw.startswith("tv_") and len(raw) > 40
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.prefix, token.token_hash, token.name}
    assert token.scope == ApiToken.Scope.WRITE and raw.startswith(token.prefix)
    assert "no-cache" in response["Cache-Control"]
    # Shown once: the page afterwards lists the token by name and beginning, never whole.
    again = client.get(PROFILE).content.decode()
    assert "Kiosk Theke 1" in again and f"{token.prefix}…" in again
    assert raw not in again


@pytest.mark.parametrize(("valid_for", "days"), [("30", 30), ("365", 365), ("", None)])
def test_a_token_is_valid_for_the_chosen_time(client, clerk, valid_for, days):
    confirmed(client, clerk)
    before = timezone.now()
    response = client.post(CREATE, {"name": "Kiosk", "scope": "read", "valid_for": valid_for})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    if days is None:
        assert token.expires_at is None
        assert "until revoked" in client.get(PROFILE).content.decode()
    else:
        assert before + datetime.timedelta(days=days) <= token.expires_at <= timezone.now() + datetime.timedelta(
            days=days)


def test_an_expired_token_is_refused(clerk, time_machine):
    _, raw = api_token_create(user=clerk, name="Kiosk", scope="read", valid_days=30)
    assert Client().get(RESERVATIONS, **bearer(raw)).status_code == 200
    time_machine.move_to(timezone.now() + datetime.timedelta(days=30, seconds=1))
    refused = Client().get(RESERVATIONS, **bearer(raw))
    assert refused.status_code == 403
    assert refused.json()["code"] == "authentication_failed"


def test_a_token_without_a_name_is_refused_and_nothing_is_stored(client, clerk):
    confirmed(client, clerk)
    response = client.post(CREATE, {"name": "", "scope": "read"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_teachers_get_no_tokens(client, teacher_a):
    confirmed(client, teacher_a)
    assert "api-tokens" not in client.get(PROFILE).content.decode()
    response = client.post(CREATE, {"name": "Mein Skript", "scope": "write"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_the_number_of_tokens_is_limited(client, clerk):
    for number in range(MAX_TOKENS_PER_USER):
        api_token_create(user=clerk, name=f"Token {number}", scope="read")
    confirmed(client, clerk)
    response = client.post(CREATE, {"name": "Noch einer", "scope": "read"})
    assert response.status_code == 409
    assert "too many API tokens" in response.content.decode()
    assert ApiToken.objects.filter(user=clerk).count() == MAX_TOKENS_PER_USER
    # An expired token no longer counts.
    ApiToken.objects.filter(pk=ApiToken.objects.filter(user=clerk).first().pk).update(expires_at=timezone.now())
    assert client.post(CREATE, {"name": "Noch einer", "scope": "read"}).status_code == 200


def test_a_revoked_token_is_refused_at_once(client, clerk):
    token, raw = api_token_create(user=clerk, name="Kiosk", scope="read")
    assert Client().get(RESERVATIONS, **bearer(raw)).status_code == 200
    client.force_login(clerk)
    response = client.post(reverse("profile:api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    refused = Client().get(RESERVATIONS, **bearer(raw))
    assert refused.status_code == 403
    assert refused.json()["code"] == "authentication_failed"


def test_a_new_password_revokes_every_token(clerk):
    api_token_create(user=clerk, name="Kiosk", scope="read")
    api_token_create(user=clerk, name="Inventar", scope="write")
    clerk.last_login = timezone.now()
    clerk.save(update_fields=["last_login"])  # signing in is no reason
    assert ApiToken.objects.filter(user=clerk).count() == 2
    clerk.set_password("ein-ganz-neues-passwort")
    clerk.save()
    assert not ApiToken.objects.filter(user=clerk).exists()


def test_a_new_hash_of_the_same_password_keeps_the_tokens(clerk, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.filter(pk=clerk.pk).update(password=make_password("correct-horse-battery", hasher="md5"))
    clerk.refresh_from_db()
    api_token_create(user=clerk, name="Kiosk", scope="read")
    assert clerk.check_password("correct-horse-battery")  # Django upgrades the hash and saves it
    clerk.refresh_from_db()
    assert clerk.password.startswith("pbkdf2_")
    assert ApiToken.objects.filter(user=clerk).exists()


def test_removing_the_second_factor_revokes_every_token(client, clerk):
    _, raw = api_token_create(user=clerk, name="Kiosk", scope="read")
    confirmed(client, clerk)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not ApiToken.objects.filter(user=clerk).exists()
    assert Client().get(RESERVATIONS, **bearer(raw)).status_code == 403


def test_nobody_revokes_another_persons_token(client, clerk, admin_user):
    token, _ = api_token_create(user=clerk, name="Kiosk", scope="read")
    client.force_login(admin_user)
    client.post(reverse("profile:api_token_revoke", args=[token.pk]))
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_the_data_download_lists_tokens_but_never_the_secret(client, clerk):
    token, raw = api_token_create(user=clerk, name="Kiosk", scope="write")
    client.force_login(clerk)
    response = client.get(reverse("profile:data"))
    body = response.content.decode()
    assert response.json()["api_tokens"] == [
        {"name": "Kiosk", "scope": "write", "created_at": token.created_at.isoformat(), "last_used_at": None,
         "expires_at": None}
    ]
    assert raw not in body and token.token_hash not in body


# Authentication ----------------------------------------------------------------------------------


def test_a_token_acts_as_its_user_at_their_counters(clerk, staff_booking):
    _, raw = api_token_create(user=clerk, name="Kiosk", scope="read")
    response = Client().get(RESERVATIONS, **bearer(raw))
    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == [staff_booking.code]
    assert ApiToken.objects.get().last_used_at is not None


def test_a_write_token_posts_without_a_csrf_token(clerk, staff_booking, location):
    _, raw = api_token_create(user=clerk, name="Kiosk", scope="write")
    response = Client(enforce_csrf_checks=True).post(
        SCAN, {"location": location.slug, "code": staff_booking.code}, content_type="application/json", **bearer(raw)
    )
    assert response.status_code == 200
    assert response.json() == {"step": "hand_over", "reservation": staff_booking.code, "unit": None}


def test_a_session_post_needs_its_csrf_token(clerk, staff_booking, location):
    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk)
    response = client.post(SCAN, {"location": location.slug, "code": staff_booking.code},
                           content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_read_only_token_only_reads(clerk, staff_booking):
    _, raw = api_token_create(user=clerk, name="Katalog", scope="read")
    cancel = reverse("lending_api:reservation_cancel", args=[staff_booking.code])
    response = Client().post(cancel, **bearer(raw))
    assert response.status_code == 403
    assert response.json()["code"] == "token_read_only"
    staff_booking.refresh_from_db()
    assert staff_booking.status == ReservationStatus.CONFIRMED


def test_a_read_only_token_may_resolve_a_scan(clerk, staff_booking, location):
    _, raw = api_token_create(user=clerk, name="Kiosk", scope="read")
    response = Client().post(SCAN, {"location": location.slug, "code": staff_booking.code},
                             content_type="application/json", **bearer(raw))
    assert response.status_code == 200
    assert response.json()["reservation"] == staff_booking.code


@pytest.mark.parametrize("header", ["Bearer tv_wrong", "Bearer", "Bearer a b", "Bearer " + "x" * 200])
def test_a_wrong_token_is_refused_in_the_api_shape(db, header):
    response = Client().get(RESERVATIONS, HTTP_AUTHORIZATION=header)
    assert response.status_code == 403
    assert response.json()["code"] == "authentication_failed"
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("change", [{"is_active": False}, {"role": Role.TEACHER}])
def test_a_token_stops_when_its_user_may_no_longer_use_it(clerk, change):
    _, raw = api_token_create(user=clerk, name="Kiosk", scope="read")
    for field, value in change.items():
        setattr(clerk, field, value)
    clerk.save()
    assert Client().get(RESERVATIONS, **bearer(raw)).status_code == 403


def test_without_credentials_the_private_api_is_refused(db):
    response = Client().get(RESERVATIONS)
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"


# Rate limits -------------------------------------------------------------------------------------


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "token": "2/minute"}}


def test_anonymous_clients_are_slowed_down_per_address(low_rates, item_type):
    statuses = [Client(REMOTE_ADDR="192.0.2.1").get(ITEM_TYPES).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = Client(REMOTE_ADDR="192.0.2.1").get(ITEM_TYPES)
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert Client(REMOTE_ADDR="192.0.2.2").get(ITEM_TYPES).status_code == 200


def test_token_clients_are_slowed_down_per_token(low_rates, clerk):
    _, first = api_token_create(user=clerk, name="Skript 1", scope="read")
    _, second = api_token_create(user=clerk, name="Skript 2", scope="read")
    statuses = [Client().get(RESERVATIONS, **bearer(first)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert Client().get(RESERVATIONS, **bearer(second)).status_code == 200


def test_guessing_tokens_is_slowed_down_per_address(low_rates, db):
    guesses = [Client(REMOTE_ADDR="192.0.2.7").get(RESERVATIONS, HTTP_AUTHORIZATION=f"Bearer tv_guess{number}")
               for number in range(4)]
    assert [response.status_code for response in guesses] == [403, 403, 403, 429]
    assert guesses[-1].json()["code"] == "throttled"
    # Without any credentials, the private API counts against the same limit.
    assert Client(REMOTE_ADDR="192.0.2.8").get(RESERVATIONS).status_code == 403
    assert Client(REMOTE_ADDR="192.0.2.7").get(RESERVATIONS).status_code == 429


def test_people_in_the_web_app_are_not_slowed_down(low_rates, client, teacher_a):
    client.force_login(teacher_a)
    assert {client.get(RESERVATIONS).status_code for _ in range(5)} == {200}

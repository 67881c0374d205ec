"""Staff and admin accounts: brute-force lockout (django-axes) on the allauth sign-in form, the
second factor that staff must set up (accounts/middleware.py) and enter, the MFA pages, accounts
that are deactivated while signed in, and `manage.py demo_totp`.

Everything goes through HTTP as a browser would: the sign-in form, allauth's code step, the pages."""

import datetime
import io
import re

import pytest
from django.utils.http import urlencode
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Role
from lending.management.commands.load_demo import DEMO_TOTP_SECRET
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOGIN_URL = "/konto/login/"
ACTIVATE_URL = "/konto/2fa/totp/activate/"
REAUTHENTICATE_URL = "/konto/reauthenticate/"
MFA_AUTHENTICATE_URL = "/konto/2fa/authenticate/"


@pytest.fixture(autouse=True)
def fresh_cache():
    # allauth keeps its own sign-in rate limits and the one-time codes already used in the cache;
    # a test must not inherit another test's.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clerk_without_totp(location):
    clerk = factories.make_user(username="clara", role=Role.STAFF, totp=False)
    clerk.locations.add(location)
    return clerk


@pytest.fixture
def admin_without_totp(db):
    return factories.make_user(username="anna", role=Role.ADMIN, is_staff=True, is_superuser=True, totp=False)


def sign_in(client, login, password=PASSWORD):
    return client.post(LOGIN_URL, {"login": login, "password": password})


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def fail_to_sign_in(client, login, times):
    for _ in range(times):
        response = sign_in(client, login, "wrong password")
    return response


# Brute-force protection --------------------------------------------------------------------------


def test_failed_sign_ins_on_the_login_form_are_counted_under_the_user_name(client, clerk):
    response = fail_to_sign_in(client, "clara", 3)

    assert response.status_code == 200  # the form again, with an error
    attempt = AccessAttempt.objects.get()
    assert attempt.username == "clara"
    assert attempt.ip_address == "127.0.0.1"
    assert attempt.failures_since_start == 3
    assert signed_in_user_id(client) is None


def test_the_fifth_failure_answers_with_the_locked_out_page(client, clerk):
    fail_to_sign_in(client, "clara", 4)

    response = sign_in(client, "clara", "wrong password")

    assert response.status_code == 429
    assert "account/locked_out.html" in [template.name for template in response.templates]
    assert response.context["failure_limit"] == 5
    assert response.context["cooloff_timedelta"] == datetime.timedelta(minutes=15)
    page = response.content.decode()
    assert "15" in page and "clara" in page
    assert 'href="/admin/axes/accessattempt/"' in page  # where administrators lift the lock
    assert 'name="password"' not in page  # no sign-in form on the lock page


def test_without_a_cool_off_time_the_page_says_an_administrator_must_lift_the_lock(client, clerk, settings):
    settings.AXES_COOLOFF_TIME = None

    response = fail_to_sign_in(client, "clara", 5)

    assert response.status_code == 429
    assert "cooloff_timedelta" not in response.context
    assert 'href="/admin/axes/accessattempt/"' in response.content.decode()


def test_after_the_lockout_even_the_right_password_is_refused(client, teacher_a):
    fail_to_sign_in(client, "alice", 5)

    response = sign_in(client, "alice", PASSWORD)

    assert signed_in_user_id(client) is None
    assert response.status_code in (200, 429)  # allauth's own limit or axes' lock page
    # allauth's own limit (5 failures in 5 minutes) is in the cache; without it, axes refuses alone.
    cache.clear()
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert signed_in_user_id(client) is None


def test_a_lockout_of_one_user_name_does_not_lock_another(client, clerk, teacher_a):
    fail_to_sign_in(client, "clara", 5)

    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(teacher_a.pk)
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["clara"]


def test_user_names_are_counted_regardless_of_case(client, clerk):
    fail_to_sign_in(client, "Clara", 2)
    fail_to_sign_in(client, "CLARA", 2)

    response = sign_in(client, "clara", "wrong password")

    assert response.status_code == 429


def test_a_successful_sign_in_clears_the_failures(client, teacher_a):
    fail_to_sign_in(client, "alice", 4)

    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()


def test_an_attempt_during_the_lock_starts_the_waiting_time_again(client, clerk, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    fail_to_sign_in(client, "clara", 5)

    time_machine.shift(datetime.timedelta(minutes=10))  # past allauth's own 5-minute limit
    assert sign_in(client, "clara", PASSWORD).status_code == 429
    time_machine.shift(datetime.timedelta(minutes=10))  # 20 minutes after the lock, 10 after the last try
    assert sign_in(client, "clara", PASSWORD).status_code == 429
    time_machine.shift(datetime.timedelta(minutes=16))

    response = sign_in(client, "clara", PASSWORD)

    assert response.status_code == 302
    assert response["Location"].startswith(MFA_AUTHENTICATE_URL)  # the password is accepted again


def test_the_admin_sign_in_page_cannot_skip_the_one_time_code(client, admin_user):
    # Django's own admin form would sign in with the password alone; it must hand over to allauth.
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD, "next": "/admin/"})
    assert signed_in_user_id(client) is None


# The one-time code at sign-in --------------------------------------------------------------------


def test_staff_with_a_second_factor_enter_their_code_after_the_password(client, clerk, location):
    response = sign_in(client, "clara", PASSWORD)

    assert response.status_code == 302 and response["Location"] == MFA_AUTHENTICATE_URL
    assert signed_in_user_id(client) is None
    page = client.get(MFA_AUTHENTICATE_URL)
    assert "mfa/authenticate.html" in [template.name for template in page.templates]
    assert 'class="login-form"' in page.content.decode()
    assert 'name="code"' in page.content.decode()

    wrong = client.post(MFA_AUTHENTICATE_URL, {"code": "000000" if factories.totp_code() != "000000" else "111111"})
    assert wrong.status_code == 200 and signed_in_user_id(client) is None

    response = client.post(MFA_AUTHENTICATE_URL, {"code": factories.totp_code()})
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(clerk.pk)
    assert client.get(f"/theke/{location.slug}/").status_code == 200


# Staff without a second factor -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/theke/", "/theke/mz-test/", "/theke/mz-test/statistik/", "/admin/", "/",
                                  "/buchungen/"])
def test_staff_without_a_second_factor_are_sent_to_set_one_up(client, clerk_without_totp, path):
    client.force_login(clerk_without_totp)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{ACTIVATE_URL}?{urlencode({'next': path})}"


def test_they_can_confirm_their_password_and_open_the_activation_page(client, clerk_without_totp):
    sign_in(client, "clara", PASSWORD)

    # allauth asks for the password again before a second factor is added; that page is allowed.
    response = client.get(ACTIVATE_URL)
    assert response.status_code == 302 and response["Location"].startswith(REAUTHENTICATE_URL)
    confirmation = client.get(response["Location"])
    assert confirmation.status_code == 200
    assert "account/reauthenticate.html" in [template.name for template in confirmation.templates]
    response = client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(ACTIVATE_URL)

    page = client.get(ACTIVATE_URL)

    assert page.status_code == 200
    assert "mfa/totp/activate_form.html" in [template.name for template in page.templates]
    html = page.content.decode()
    secret = page.context["form"].secret
    assert f'id="totp-secret">{secret}<' in html
    # The QR code is drawn by the app itself into the page; nothing comes from another host.
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    assert not re.search(r'(src|href|action)="(https?:)?//', html)
    assert f'alt="{secret}"' not in html  # the secret is not read out as the picture's description


def test_staff_activate_the_app_and_then_get_through(client, clerk_without_totp, location):
    sign_in(client, "clara", PASSWORD)
    client.post(REAUTHENTICATE_URL, {"password": PASSWORD})
    secret = client.get(ACTIVATE_URL).context["form"].secret

    wrong = client.post(ACTIVATE_URL, {"code": "000000" if factories.totp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=clerk_without_totp).exists()

    response = client.post(ACTIVATE_URL, {"code": factories.totp_code(secret)}, follow=True)

    assert response.redirect_chain[-1][0] == "/konto/2fa/recovery-codes/"
    assert "mfa/recovery_codes/index.html" in [template.name for template in response.templates]
    html = response.content.decode()
    codes = Authenticator.objects.get(user=clerk_without_totp, type=Authenticator.Type.RECOVERY_CODES)
    assert all(code in html for code in codes.wrap().get_unused_codes())
    assert 'href="/theke/"' in html  # on to the counter
    assert Authenticator.objects.filter(user=clerk_without_totp, type=Authenticator.Type.TOTP).exists()
    assert client.get(f"/theke/{location.slug}/").status_code == 200


def test_staff_without_a_second_factor_can_sign_out(client, clerk_without_totp):
    client.force_login(clerk_without_totp)

    response = client.post("/konto/logout/")

    assert response.status_code == 302
    assert not response["Location"].startswith(ACTIVATE_URL)
    assert signed_in_user_id(client) is None


def test_staff_without_a_second_factor_can_switch_the_language(client, clerk_without_totp):
    client.force_login(clerk_without_totp)

    response = client.post("/i18n/setlang/", {"language": "en", "next": ACTIVATE_URL})

    assert response.status_code == 302 and response["Location"] == ACTIVATE_URL
    assert client.cookies["django_language"].value == "en"


@pytest.mark.parametrize("path", ["/", "/buchungen/", "/korb/"])
def test_teachers_are_never_sent_to_set_up_a_second_factor(client, teacher_a, path):
    client.force_login(teacher_a)

    response = client.get(path)

    assert response.status_code == 200


def test_staff_with_a_second_factor_get_through(client, clerk_without_totp, location):
    client.force_login(clerk_without_totp)
    assert client.get(f"/theke/{location.slug}/").status_code == 302

    TOTP.activate(clerk_without_totp, factories.TOTP_SECRET)

    assert client.get(f"/theke/{location.slug}/").status_code == 200


def test_an_admin_without_a_second_factor_is_sent_to_set_one_up_and_then_gets_through(client, admin_without_totp):
    client.force_login(admin_without_totp)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == f"{ACTIVATE_URL}?next=%2Fadmin%2F"

    TOTP.activate(admin_without_totp, factories.TOTP_SECRET)

    assert client.get("/admin/").status_code == 200


# Deactivated accounts ----------------------------------------------------------------------------


def sign_in_completely(client, user):
    """The password, and for staff the one-time code, as a browser does."""
    response = sign_in(client, user.username, PASSWORD)
    if response["Location"] == MFA_AUTHENTICATE_URL:
        response = client.post(MFA_AUTHENTICATE_URL, {"code": factories.totp_code()})
    assert signed_in_user_id(client) == str(user.pk)


@pytest.mark.parametrize("persona, page", [
    ("teacher_a", "/buchungen/"),
    ("clerk", "/theke/mz-test/"),
    ("admin_user", "/admin/"),
])
def test_a_deactivated_account_is_signed_out_on_its_next_request(client, request, location, persona, page):
    user = request.getfixturevalue(persona)
    sign_in_completely(client, user)
    assert client.get(page).status_code == 200

    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get(page)

    assert response.status_code == 302
    assert response.wsgi_request.user.is_anonymous
    assert "/login/" in response["Location"]


def test_a_deactivated_account_cannot_sign_in_again(client, teacher_a):
    teacher_a.is_active = False
    teacher_a.save(update_fields=["is_active"])

    sign_in(client, "alice", PASSWORD)

    assert signed_in_user_id(client) is None


# manage.py demo_totp -------------------------------------------------------------------------------


def demo_totp(*args):
    stdout = io.StringIO()
    call_command("demo_totp", *args, stdout=stdout)
    return stdout.getvalue()


@pytest.fixture
def demo_clerk(db):
    clerk = factories.make_user(username="theke", role=Role.STAFF, totp=False)
    TOTP.activate(clerk, DEMO_TOTP_SECRET)
    return clerk


def test_demo_totp_prints_the_current_code_of_a_demo_account(settings, demo_clerk, time_machine):
    settings.DEBUG = True
    time_machine.move_to(timezone.now(), tick=False)  # no period boundary between the two codes

    output = demo_totp("theke")

    assert factories.totp_code(DEMO_TOTP_SECRET) in output
    assert "theke" in output


def test_demo_totp_takes_the_demo_clerk_when_no_name_is_given(settings, demo_clerk, time_machine):
    settings.DEBUG = True
    time_machine.move_to(timezone.now(), tick=False)

    assert factories.totp_code(DEMO_TOTP_SECRET) in demo_totp()


def test_demo_totp_refuses_without_debug(settings, demo_clerk):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        demo_totp("theke")


def test_demo_totp_never_shows_the_code_of_an_account_with_another_secret(settings, clerk):
    settings.DEBUG = True

    with pytest.raises(CommandError) as refusal:
        demo_totp("clara")

    assert factories.totp_code() not in str(refusal.value)


@pytest.mark.parametrize("username", ["nobody", "alice"])
def test_demo_totp_refuses_unknown_accounts_and_accounts_without_codes(settings, teacher_a, username):
    settings.DEBUG = True

    with pytest.raises(CommandError):
        demo_totp(username)


def test_the_demo_logins_explain_the_one_time_code_and_it_signs_the_clerk_in(client, settings, time_machine):
    settings.DEBUG = True
    time_machine.move_to(timezone.now(), tick=False)  # the printed code stays the current one
    stdout = io.StringIO()
    call_command("load_demo", stdout=stdout)
    assert "demo_totp theke" in stdout.getvalue() and DEMO_TOTP_SECRET in stdout.getvalue()

    code = re.search(r"\b(\d{6})\b", demo_totp("theke")).group(1)
    sign_in(client, "theke", "demo-theke")
    response = client.post(MFA_AUTHENTICATE_URL, {"code": code})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] is not None


@pytest.mark.parametrize(("proxies", "forwarded", "expected"), [
    (0, "203.0.113.9", "10.0.0.2"),  # no proxy: the forwarded header is anyone's to write
    (1, "203.0.113.9", "203.0.113.9"),
    (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the left entry came from the client
    (1, "", "10.0.0.2"),
])
def test_behind_the_proxy_the_visitors_address_counts(rf, settings, proxies, forwarded, expected):
    from accounts.lockout import client_ip

    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def sign_out(client):
    client.post("/konto/logout/")
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(("language", "used", "wrong"), [
    ("de", "Dieser Code wurde gerade verwendet", "Falscher Code."),
    ("en", "This code has just been used", "Incorrect code."),
])
def test_a_code_used_a_moment_ago_is_refused_with_its_own_message(client, clerk, language, used, wrong):
    client.cookies["django_language"] = language
    code = factories.totp_code()
    sign_in(client, "clara", PASSWORD)
    assert client.post(MFA_AUTHENTICATE_URL, {"code": code}).status_code == 302
    sign_out(client)

    sign_in(client, "clara", PASSWORD)
    again = client.post(MFA_AUTHENTICATE_URL, {"code": code})
    assert again.status_code == 200 and signed_in_user_id(client) is None
    assert used in again.content.decode()
    assert wrong not in again.content.decode()

    mistyped = client.post(MFA_AUTHENTICATE_URL, {"code": "000000" if code != "000000" else "111111"})
    assert mistyped.status_code == 200 and signed_in_user_id(client) is None
    assert wrong in mistyped.content.decode()
    assert used not in mistyped.content.decode()

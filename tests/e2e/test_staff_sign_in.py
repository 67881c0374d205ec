"""A new clerk's first day in a real browser: signing in with the password alone is not enough,
the portal asks them to set up an authenticator app; they scan the QR code (here: read it back with
a QR decoder and compare it with the secret printed below it), enter the code, keep the recovery
codes and reach the counter. Signing in again then asks for the one-time code."""

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from django.core.cache import cache
from PIL import Image
from playwright.sync_api import expect

from accounts.models import Role
from tests import factories

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def new_clerk(db):
    """Counter staff without a second factor yet, at a counter open every day."""
    cache.clear()  # allauth's rate limits and used one-time codes live in the cache
    location = factories.make_location(name="Medienzentrum Mitte", slug="mitte", counter_weekdays=EVERY_DAY)
    clerk = factories.make_user(username="tim", role=Role.STAFF, totp=False, first_name="Tim", last_name="Becker")
    clerk.locations.add(location)
    return clerk


def sign_in_with_password(page):
    page.goto("/theke/")
    expect(page).to_have_url(re.compile(r"/konto/login/"))
    page.locator("input[name=login]").fill("tim")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.login-form button[type=submit]").click()


def test_a_new_clerk_sets_up_one_time_codes_and_then_signs_in_with_them(page, live_server, screenshot, new_clerk):
    requested_hosts = set()
    page.on("request", lambda request: requested_hosts.add(urlsplit(request.url).hostname)
            if request.url.startswith(("http:", "https:", "ws:", "wss:")) else None)

    sign_in_with_password(page)

    # A staff member without a second factor is sent to set one up; allauth first asks for the
    # password again, as it does before every change to the second factor.
    expect(page).to_have_url(re.compile(r"/konto/reauthenticate/"))
    screenshot("password-confirmation")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    expect(page).to_have_url(re.compile(r"/konto/2fa/totp/activate/"))
    qr = page.locator("figure.qr img")
    expect(qr).to_be_visible()
    screenshot("set-up-one-time-codes")

    # The secret as text, and the QR code carrying the same secret for the authenticator app.
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())).convert("L"))
    assert decoded, "the QR code could not be read"
    otpauth = urlsplit(decoded[0].text)
    assert otpauth.scheme == "otpauth" and otpauth.netloc == "totp"
    assert parse_qs(otpauth.query)["secret"] == [secret]

    page.locator("input[name=code]").fill(factories.totp_code(secret))
    page.locator("input[name=code]").press("Enter")

    # Recovery codes for a lost phone, then on to the counter.
    expect(page).to_have_url(re.compile(r"/konto/2fa/recovery-codes/$"))
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    screenshot("recovery-codes")
    page.locator("main a[href='/theke/']").click()
    expect(page).to_have_url(re.compile(r"/theke/mitte/$"))
    expect(page.locator("#scan-input")).to_be_visible()
    screenshot("counter")

    # Signing out and in again: now the password is followed by the one-time code.
    page.locator("header form[action='/konto/logout/'] button").click()
    expect(page.locator("header")).to_contain_text("Anmelden")
    sign_in_with_password(page)
    expect(page).to_have_url(re.compile(r"/konto/2fa/authenticate/"))
    screenshot("enter-one-time-code")
    page.locator("input[name=code]").fill(factories.totp_code(secret))
    page.locator("input[name=code]").press("Enter")
    expect(page).to_have_url(re.compile(r"/theke/mitte/$"))
    screenshot("counter-after-second-sign-in")

    assert requested_hosts <= {"127.0.0.1"}, f"the pages loaded from other hosts: {requested_hosts}"

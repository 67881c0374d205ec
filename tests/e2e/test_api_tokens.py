"""A clerk sets up a counter script in a real browser: creates an API token on the account page,
reads the API's documentation (Swagger UI from our own static files), the script uses the token,
and the clerk revokes it again."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken, Role
from tests import factories


@pytest.fixture
def clerk_at_counter(db):
    location = factories.make_location(name="Medienzentrum Mitte", slug="mitte")
    clerk = factories.make_user(username="tim", role=Role.STAFF, first_name="Tim", last_name="Becker")
    clerk.locations.add(location)
    factories.make_item_type(location=location, name="VR-Koffer", slug="vr", units=2)
    return clerk


def test_a_clerk_creates_uses_and_revokes_a_token(page, playwright, live_server, screenshot, clerk_at_counter):
    page.goto("/konto/profil/")
    page.locator("input[name=login]").fill("tim")
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("form.login-form button[type=submit]").click()
    page.locator("input[name=code]").fill(factories.totp_code())
    page.locator("input[name=code]").press("Enter")
    expect(page).to_have_url(re.compile(r"/konto/profil/$"))

    section = page.locator("#api-tokens")
    expect(section).to_contain_text("Sie haben keine API-Tokens.")
    section.get_by_label("Wofür ist der Token?").fill("Kiosk Theke 1")
    section.get_by_label("lesen und schreiben").check()
    section.get_by_role("button", name="Token erstellen").click()
    # A token outlives the session: the clerk confirms the password, and the request goes on.
    expect(page).to_have_url(re.compile(r"/konto/reauthenticate/"))
    screenshot("confirm-password")
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("input[name=password]").press("Enter")
    token_field = page.locator("#new-api-token")
    expect(token_field).to_be_visible()
    raw = token_field.input_value()
    assert raw.startswith("tv_")
    expect(page.locator("#api-tokens table")).to_contain_text("Kiosk Theke 1")
    screenshot("token-shown-once")

    # The documentation the script's author reads: rendered from the portal's own files (the page
    # fixture blocks every other host), with the token scheme to authorize with.
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Technikverleih API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/counter/scan/")).to_be_visible()
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    expect(page.locator(".auth-container", has_text="apiToken")).to_contain_text("Bearer")
    screenshot("api-docs")

    # The script: its own HTTP client, no cookies, only the token.
    script = playwright.request.new_context()
    answer = script.get(f"{live_server.url}/api/v1/units/", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status == 200
    assert answer.json()["count"] == 2
    assert script.get(f"{live_server.url}/api/v1/units/").status == 403

    # Back on the account page the clerk revokes the token; the script is refused from then on.
    page.goto("/konto/profil/")
    page.locator("#api-tokens").get_by_role("button", name="Token Kiosk Theke 1 widerrufen").click()
    expect(page.locator(".messages")).to_contain_text("widerrufen")
    expect(page.locator("#api-tokens")).to_contain_text("Sie haben keine API-Tokens.")
    screenshot("token-revoked")
    assert not ApiToken.objects.exists()
    refused = script.get(f"{live_server.url}/api/v1/units/", headers={"Authorization": f"Bearer {raw}"})
    assert refused.status == 403
    assert refused.json()["code"] == "authentication_failed"
    script.dispose()

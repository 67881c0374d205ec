"""Self-check of the browser set-up: Chromium reaches the live server, renders German pages, and the
live server sees rows the test wrote (transactional_db, ORM calls allowed next to Playwright)."""

import re

from playwright.sync_api import expect

from tests import factories


def test_the_sign_in_page_renders(page, live_server, screenshot):
    response = page.goto("/konto/login/")

    assert response is not None and response.ok, response and response.status
    assert page.url.startswith(f"{live_server.url}/konto/login/")
    expect(page.locator("h1")).to_have_text("Anmelden")
    expect(page.locator("input[name=login]")).to_be_visible()
    shot = screenshot("sign-in")
    assert shot.is_file() and shot.stat().st_size > 0
    assert shot.name == "01-sign-in.png"


def test_the_admin_is_reached_through_the_sign_in_with_a_one_time_code(page, admin_user, screenshot):
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/konto/login/"))  # Django's own admin sign-in is not offered
    page.locator("input[name=login]").fill(admin_user.username)
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("input[name=password]").press("Enter")
    page.locator("input[name=code]").fill(factories.totp_code())
    screenshot("one-time-code")
    page.locator("input[name=code]").press("Enter")

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text(admin_user.username.upper(), ignore_case=True)
    screenshot("signed-in")

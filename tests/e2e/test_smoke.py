"""Self-check of the browser set-up: Chromium reaches the live server, renders German pages, and the
live server sees rows the test wrote (transactional_db, ORM calls allowed next to Playwright)."""

import re

from playwright.sync_api import expect


def test_admin_login_page_renders(page, live_server, screenshot):
    response = page.goto("/admin/login/")

    assert response is not None and response.ok, response and response.status
    assert page.url.startswith(f"{live_server.url}/admin/login/")
    expect(page).to_have_title(re.compile("Django"))
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("#id_password")).to_be_visible()
    shot = screenshot("admin-login")
    assert shot.is_file() and shot.stat().st_size > 0
    assert shot.name == "01-admin-login.png"


def test_admin_sign_in_with_a_user_made_by_the_test(page, admin_user, screenshot):
    page.goto("/admin/login/")
    page.locator("#id_username").fill(admin_user.username)
    page.locator("#id_password").fill("correct-horse-battery")
    screenshot("filled-in")
    page.locator("#id_password").press("Enter")

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text(admin_user.username.upper(), ignore_case=True)
    screenshot("signed-in")

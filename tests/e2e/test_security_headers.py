"""The pages still work under the Content-Security-Policy and the Permissions-Policy
(config/security_headers.py), and the browser reports no violation: the teacher pages, the
second-factor set-up with its QR code, the admin, the API docs (Swagger UI) and the counter's
camera scanner with its WebAssembly decoder.

Violations are collected twice: the `securitypolicyviolation` event of every document (added
before any of the page's own scripts run) and Chromium's console messages, which also name a
Permissions-Policy header it cannot read. The last step of the teacher test breaks the policy on
purpose, so a watcher that saw nothing cannot pass for a clean page.
"""

import re
import time

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests import factories
# The camera test's Chromium, whose camera shows this booking's QR code and is granted without
# asking: so every page here could use a camera unless the Permissions-Policy forbids it.
from tests.e2e.test_counter_camera import browser, reservation  # noqa: F401 (fixtures)

PASSWORD = "correct-horse-battery"
REPORTED = re.compile(r"Content.Security.Policy|Permissions.Policy", re.IGNORECASE)
WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportPolicyViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""
GET_CAMERA = """async () => {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({video: true});
    stream.getTracks().forEach((track) => track.stop());
    return "allowed";
  } catch (error) {
    return error.name;
  }
}"""


@pytest.fixture
def violations(page):
    """Every policy violation and policy complaint the browser reports, in order."""
    reported = []
    page.expose_function("reportPolicyViolation", lambda report: reported.append(report))
    page.add_init_script(WATCH)
    page.on("console", lambda message: reported.append(f"console: {message.text}")
            if REPORTED.search(message.text) else None)
    return reported


def sign_in(page, username, *, one_time_code=False):
    page.goto("/konto/login/")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.login-form button[type=submit]").click()
    if one_time_code:
        page.locator("input[name=code]").fill(factories.totp_code())
        page.locator("input[name=code]").press("Enter")
        # The code page has a logout form of its own (its Cancel): wait until it is left.
        expect(page).not_to_have_url(re.compile(r"/2fa/authenticate/"))
    # Signed in once the page after the form is there: a goto before that would abort the POST.
    expect(page.locator("form[action$='/konto/logout/']").first).to_be_attached()


def settle(page):
    """Let late reports (images, fonts, the event's own delivery) arrive."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(200)


def test_the_teacher_pages_work_and_cannot_use_the_camera(page, violations, screenshot, teacher_a, reservation,
                                                          item_type, settings, live_server):
    settings.SITE_URL = live_server.url
    sign_in(page, "alice")
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()

    page.goto("/")
    expect(page.locator(".item-card")).to_have_count(1)
    page.goto(f"/artikel/{item_type.slug}/")
    expect(page.locator(".month-calendar, table.calendar").first).to_be_visible()
    screenshot("item-page")
    page.goto("/korb/")
    page.goto("/buchungen/")
    expect(page.get_by_text(reservation.code).first).to_be_visible()
    page.goto(f"/buchungen/{reservation.code}/")
    qr = page.locator(".qr-code svg")  # drawn on our server, inline
    expect(qr).to_be_visible()
    assert qr.evaluate("svg => svg.getBoundingClientRect().width > 100")
    screenshot("booking")
    page.goto("/konto/profil/")
    page.goto("/impressum/")
    settle(page)

    assert violations == []

    # The browser would grant the camera without asking; the Permissions-Policy forbids it here.
    assert page.evaluate(GET_CAMERA) == "NotAllowedError"
    assert violations == ["console: Permissions policy violation: camera is not allowed in this document."]
    violations.clear()

    # The control: an inline style is refused, and the watcher says so.
    page.evaluate("document.body.setAttribute('style', 'background: red')")
    deadline = time.monotonic() + 5
    while not violations and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert any("style-src" in report for report in violations), violations


def test_setting_up_one_time_codes_shows_its_qr_code(page, violations, screenshot, db):
    factories.make_user(username="tim", role=Role.STAFF, totp=False)
    sign_in(page, "tim")
    expect(page).to_have_url(re.compile(r"/konto/reauthenticate/"))
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")

    qr = page.locator("figure.qr img")  # a data: URI drawn by allauth
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.src.startsWith('data:') && image.complete && image.naturalWidth > 0")
    screenshot("set-up-one-time-codes")
    settle(page)

    assert violations == []


def test_the_admin_works(page, violations, screenshot, admin_user, item_type):
    sign_in(page, admin_user.username, one_time_code=True)
    page.goto("/admin/")
    expect(page.locator("#user-tools")).to_be_visible()
    page.goto("/admin/catalog/itemtype/")
    expect(page.locator("#result_list")).to_contain_text(item_type.name)
    page.locator("#changelist-filter a[href*='paused__exact=0']").click()
    expect(page).to_have_url(re.compile(r"paused__exact=0"))
    expect(page.locator("#result_list")).to_contain_text(item_type.name)
    page.goto(f"/admin/catalog/itemtype/{item_type.pk}/change/")
    expect(page.locator("input[name=name]")).to_have_value(item_type.name)
    screenshot("item-type")
    # A date field with the admin's calendar pop-up, built by its own script.
    page.goto("/admin/catalog/closure/add/")
    page.locator("#calendarlink0").click()
    expect(page.locator("#calendarbox0")).to_be_visible()
    page.locator("#calendarbox0 .calendarbox a", has_text="Heute").or_(
        page.locator("#calendarbox0 a", has_text="Heute")).first.click()
    expect(page.locator("input[name=first_day]")).not_to_have_value("")
    screenshot("closure-calendar")
    settle(page)

    assert violations == []


def test_the_api_docs_render_their_operations(page, violations, screenshot, db):
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Technikverleih API")
    operation = page.locator(".opblock-summary", has_text="/api/v1/item-types/").first
    expect(operation).to_be_visible()
    assert page.locator(".opblock").count() > 10
    operation.click()
    expect(page.locator(".opblock.is-open .try-out__btn")).to_be_visible()
    page.locator(".opblock.is-open .try-out__btn").click()
    page.locator(".opblock.is-open .execute").click()
    expect(page.locator(".opblock.is-open .live-responses-table tbody .response-col_status").first).to_contain_text("200")
    screenshot("api-docs")
    settle(page)

    assert violations == []


def test_the_counters_camera_decodes_a_booking_under_the_policy(page, violations, screenshot, clerk, location,
                                                               reservation):
    sign_in(page, "clara", one_time_code=True)
    page.goto(f"/theke/{location.slug}/")
    expect(page.locator("#camera-button")).to_be_visible()
    page.locator("#camera-button").click()

    expect(page).to_have_url(re.compile(rf"/theke/{location.slug}/buchung/{reservation.code}/$"))
    screenshot("booking-opened-by-camera")
    settle(page)

    assert violations == []

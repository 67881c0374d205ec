"""A teacher signs in through the school's sign-on in a real browser: the portal's button, the
provider's own login and consent pages (tests/sso/provider, a real OpenID Connect provider),
the contact e-mail asked once, and signing out here and at the provider."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role, User
from tests import factories
from tests.sso.conftest import KNOWN_SCHOOL, PSEUDONYM, oidc_provider, oidc_settings, vidis  # noqa: F401 (fixtures)


@pytest.fixture
def school(db):
    return factories.make_school(name="Gymnasium am Park", sso_id=KNOWN_SCHOOL)


def test_a_teacher_signs_in_with_the_school_account_and_out_again(page, live_server, screenshot, vidis, school):
    page.goto("/buchungen/")
    expect(page).to_have_url(re.compile(r"/konto/login/"))
    screenshot("sign-in-page")
    page.get_by_role("button", name="Anmelden mit VIDIS").click()

    # The provider's own pages.
    expect(page).to_have_url(re.compile(re.escape(vidis.issuer)))
    page.locator("#login").fill("pseudonym")
    page.locator("#password").fill("beliebig")
    screenshot("provider-login")
    page.get_by_role("button", name="Anmelden").click()
    consent = page.get_by_role("button", name="Zustimmen")  # the provider asks once per client
    expect(consent).to_be_visible()
    consent.click()

    # Back at the portal: the sign-on's address is a pseudonym, so it asks for a contact e-mail once.
    expect(page).to_have_url(re.compile(r"/konto/kontakt/"))
    screenshot("contact-email")
    page.get_by_label("Kontakt-E-Mail").fill("paula.pseudo@schule.example")
    page.get_by_role("button", name="Speichern").click()
    expect(page).to_have_url(re.compile(r"/buchungen/$"))
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    user = User.objects.get(email=PSEUDONYM)
    assert (user.role, user.contact_email) == (Role.TEACHER, "paula.pseudo@schule.example")
    assert [s.sso_id for s in user.schools.all()] == [KNOWN_SCHOOL]
    screenshot("signed-in")

    # Signing out ends the session here and, through the provider's end-session page, there.
    page.get_by_role("button", name="Abmelden").click()
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))
    expect(page.get_by_role("link", name="Anmelden")).to_be_visible()
    screenshot("signed-out")
    page.goto("/buchungen/")
    page.get_by_role("button", name="Anmelden mit VIDIS").click()
    expect(page.locator("#login")).to_be_visible()  # the provider asks again: its session is over

"""The booking mail in a real browser and a real SMTP server: a teacher books, the confirmation
arrives, its link opens her booking; at the counter a clerk sends the confirmation again."""

import re

from playwright.sync_api import expect

from notifications.delivery import deliver_due
from notifications.models import Mail
from tests import factories


def test_a_teacher_books_reads_the_mail_and_a_clerk_resends_it(page, live_server, screenshot, settings,
                                                               smtp_server, teacher_a, clerk, location):
    settings.SITE_URL = live_server.url
    factories.make_item_type(location=location, name="VR-Koffer mit 12 Brillen", slug="vr-koffer", units=3)

    # The teacher books one VR case through the pages.
    page.goto("/konto/login/")
    page.locator("input[name=login]").fill(teacher_a.username)
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("form.login-form button[type=submit]").click()
    page.goto("/artikel/vr-koffer/")
    page.locator("a[rel=next]").click()
    page.locator("td.day-open a").nth(0).click()
    page.locator("td.day-open a").nth(2).click()
    page.locator("form.add-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/korb/$"))
    page.locator("form.booking-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/buchungen/[A-Z0-9]+/$"))
    code = page.url.rstrip("/").rsplit("/", 1)[1]

    # The worker sends it; the mail that arrives links to the booking.
    assert deliver_due().sent == 1
    [mail] = smtp_server.wait_for(1)
    assert code in mail["Subject"]
    link = re.search(r"http://\S+/buchungen/[A-Z0-9]+/", mail.get_body(("plain",)).get_content()).group(0)
    page.goto("/konto/logout/")
    page.locator("#main form[action$='/konto/logout/'] button[type=submit]").click()
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/konto/login/"))  # signed out: the link asks her to sign in first
    page.locator("input[name=login]").fill(teacher_a.username)
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("form.login-form button[type=submit]").click()
    expect(page).to_have_url(link)
    expect(page.locator("main")).to_contain_text(code)
    screenshot("booking-from-the-mail")
    page.goto("/konto/logout/")
    page.locator("#main form[action$='/konto/logout/'] button[type=submit]").click()

    # At the counter: the booking lists the mail, and the clerk sends it again.
    page.goto("/konto/login/")
    page.locator("input[name=login]").fill(clerk.username)
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("form.login-form button[type=submit]").click()
    page.locator("input[name=code]").fill(factories.totp_code())
    page.locator("input[name=code]").press("Enter")
    page.goto(f"/theke/{location.slug}/buchung/{code}/")
    mails = page.get_by_role("region", name="E-Mails an die Ausleihenden")
    expect(mails).to_contain_text("Buchung bestätigt")
    expect(mails).to_contain_text("zugestellt")
    page.locator("#resend-confirmation").click()
    expect(page.locator(".message-success")).to_contain_text("eingereiht")
    expect(mails.locator("tbody tr")).to_have_count(2)
    screenshot("counter-resend")
    assert deliver_due().sent == 1
    assert [message["Subject"] for message in smtp_server.wait_for(2)].count(mail["Subject"]) == 2
    assert Mail.objects.filter(requested_by=clerk, status=Mail.Status.SENT).count() == 1

"""Impressum, privacy notice and accessibility statement: public, linked from every page,
written by administrators as plain text, with a default text until then; the accessibility
statement's contact form mails the media centre."""

import pytest
from django.test import Client
from django.core import mail
from django.urls import reverse

from legal import views
from legal.markup import render_body
from legal.models import LegalPage

PAGES = [("legal:impressum", "/impressum/"), ("legal:privacy", "/datenschutz/"),
         ("legal:accessibility", "/barrierefreiheit/")]


def content(response):
    return response.content.decode()


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.mark.parametrize(("name", "url"), PAGES)
def test_every_page_is_public_and_says_when_it_has_not_been_written(client, db, name, url):
    assert reverse(name) == url

    response = client.get(url)

    assert response.status_code == 200
    assert "has not written" in content(response)


@pytest.mark.parametrize("url", ["/", "/konto/login/", "/impressum/"])
def test_every_page_links_to_the_legal_pages(client, db, url):
    page = content(client.get(url))

    for _name, legal_url in PAGES:
        assert f'href="{legal_url}"' in page


def test_the_default_privacy_notice_describes_what_is_stored_and_for_how_long(client, db, settings):
    settings.PERSONAL_DATA_RETENTION_DAYS = 180

    page = content(client.get("/datenschutz/"))

    for words in ("bookings", "damage", "180 days", "no tracking", "other websites", "open damage report"):
        assert words in page


def test_a_written_page_replaces_the_default(client, db):
    LegalPage.objects.create(slug="impressum", title="Impressum des Medienzentrums",
                             body="Medienzentrum Musterstadt\nMusterstraße 1\n\n## Kontakt\nmedien@example.de")

    page = content(client.get("/impressum/"))

    assert "has not written" not in page
    assert "<h1>Impressum des Medienzentrums</h1>" in page
    assert "Medienzentrum Musterstadt<br>Musterstraße 1" in page
    assert "<h2>Kontakt</h2>" in page
    assert 'href="mailto:medien@example.de"' in page


def test_html_from_the_database_is_shown_as_text(client, db):
    LegalPage.objects.create(slug="datenschutz", body='<script>alert("x")</script>\n\n- <b>eins</b>\n- zwei')

    page = content(client.get("/datenschutz/"))

    assert "<script>alert" not in page and "<b>eins" not in page
    assert "&lt;script&gt;" in page
    assert "<li>&lt;b&gt;eins&lt;/b&gt;</li><li>zwei</li>" in page


def test_the_markup_knows_paragraphs_headings_lists_and_links():
    html = render_body("# Titel\n\nErste Zeile\nzweite Zeile\n- a\n- b\n\nSiehe https://example.org & mehr")

    assert html == (
        "<h2>Titel</h2>\n<p>Erste Zeile<br>zweite Zeile</p>\n<ul><li>a</li><li>b</li></ul>\n"
        '<p>Siehe <a href="https://example.org" rel="nofollow">https://example.org</a> &amp; mehr</p>'
    )


def test_the_pages_only_answer_reading(client, db):
    assert client.post("/impressum/").status_code == 405
    assert client.post("/datenschutz/").status_code == 405


def test_administrators_write_the_pages_in_the_admin(client, admin_user):
    client.force_login(admin_user)

    response = client.post(reverse("admin:legal_legalpage_add"),
                           {"slug": "barrierefreiheit", "title": "", "body": "Wir bemühen uns."})

    assert response.status_code == 302
    assert "Wir bemühen uns." in content(client.get("/barrierefreiheit/"))


# The contact form of the accessibility statement --------------------------------------------------


VALID = {"name": "Erika Muster", "email": "erika@example.org",
         "message": "Der Kalender lässt sich nicht mit der Tastatur bedienen."}


def test_the_contact_form_mails_the_media_centre(client, db, settings):
    settings.ACCESSIBILITY_CONTACT_EMAIL = "barrierefreiheit@medienzentrum.example"

    response = client.post("/barrierefreiheit/", VALID, follow=True)

    assert response.redirect_chain[-1][0] == "/barrierefreiheit/#contact"
    assert "Thank you" in content(response)
    [message] = mail.outbox
    assert message.to == ["barrierefreiheit@medienzentrum.example"]
    assert message.reply_to == ["erika@example.org"]
    assert VALID["message"] in message.body and "Erika Muster" in message.body


def test_a_name_with_line_breaks_arrives_as_one_line(client, db):
    client.post("/barrierefreiheit/", {**VALID, "name": "Erika\r\nBetreff: Gewinn"})

    [message] = mail.outbox
    assert "Erika Betreff: Gewinn" in message.body and "\nBetreff" not in message.body


def test_the_name_is_optional(client, db):
    response = client.post("/barrierefreiheit/", {**VALID, "name": ""})

    assert response.status_code == 302
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("change", [
    {"email": ""},
    {"email": "keine-adresse"},
    {"email": "erika@example.org\r\nBcc: viele@example.org"},
    {"message": ""},
    {"message": "x" * 5001},
    {"name": "n" * 201},
    {"message": "mit \x00 Nullzeichen"},
])
def test_bad_input_is_refused_with_400_and_nothing_is_sent(client, db, change):
    response = client.post("/barrierefreiheit/", {**VALID, **change})

    assert response.status_code == 400
    assert "field-error" in content(response)
    assert mail.outbox == []


def test_one_address_may_send_only_a_few_messages_an_hour(client, db, time_machine):
    time_machine.move_to("2027-03-01 10:00 +01:00", tick=False)
    for _ in range(views.CONTACT_LIMIT):
        assert client.post("/barrierefreiheit/", VALID).status_code == 302

    refused = client.post("/barrierefreiheit/", VALID)
    without_cookie = Client().post("/barrierefreiheit/", VALID)  # a script dropping its session
    elsewhere = Client(REMOTE_ADDR="192.0.2.7").post("/barrierefreiheit/", VALID)

    assert refused.status_code == 429 and without_cookie.status_code == 429
    assert elsewhere.status_code == 302
    mail.outbox.pop()
    assert len(mail.outbox) == views.CONTACT_LIMIT
    time_machine.move_to("2027-03-01 11:01 +01:00", tick=False)
    assert client.post("/barrierefreiheit/", VALID).status_code == 302


def test_a_mail_server_that_refuses_gives_a_clear_answer_not_an_error_page(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)

    response = client.post("/barrierefreiheit/", VALID)

    assert response.status_code == 503
    assert "could not be sent" in content(response)

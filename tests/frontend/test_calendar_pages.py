"""Calendar pages (issue 5): the feeds opened by a token, one booking's .ics download, the
calendar link on the account page, and tokens kept out of the logs."""

import logging
import re

import pytest
from django.urls import reverse
from django.utils.http import http_date
from icalendar import Calendar

from config.log_filters import RedactCalendarTokens
from lending.calendar import feed_version_for_borrower
from lending.calendar_tokens import calendar_token_rotate
from lending.models import CalendarToken
from lending.services import reservation_cancel
from tests import factories

FEED_TOKEN = re.compile(r"/kalender/([A-Za-z0-9_-]+)\.ics")


def feed_url(token):
    return reverse("frontend:calendar_feed", kwargs={"token": token})


def counter_feed_url(token, location):
    return reverse("frontend:calendar_counter_feed", kwargs={"token": token, "location": location.slug})


def booking_codes(response):
    """The booking codes of a feed's events, from their UIDs (`<code>-pickup@…`, `<code>-return@…`)."""
    calendar = Calendar.from_ical(response.content)
    return sorted(str(event["UID"]).split("@")[0] for event in calendar.walk("VEVENT"))


@pytest.fixture
def booking(teacher_a, item_type):
    return factories.book(borrower=teacher_a, lines={item_type.pk: 1})


@pytest.fixture
def other_booking(teacher_b, item_type):
    return factories.book(borrower=teacher_b, lines={item_type.pk: 1})


@pytest.fixture
def other_location(db):
    return factories.make_location(name="Medienzentrum Nord", slug="mz-nord")


# The feeds


def test_the_personal_feed_holds_the_teachers_pickups_and_returns_only(client, teacher_a, booking, other_booking):
    token = calendar_token_rotate(user=teacher_a)

    response = client.get(feed_url(token))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert booking_codes(response) == [f"{booking.code}-pickup", f"{booking.code}-return"]


def test_the_token_opens_the_feed_but_signs_no_one_in(client, teacher_a, booking):
    token = calendar_token_rotate(user=teacher_a)

    response = client.get(feed_url(token))

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("frontend:my_bookings")).status_code == 302  # to the sign-in


def test_the_counter_feed_holds_every_booking_of_the_counter_for_its_staff(client, clerk, location, booking,
                                                                           other_booking):
    token = calendar_token_rotate(user=clerk)

    response = client.get(counter_feed_url(token, location))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert booking_codes(response) == sorted(
        f"{code}-{kind}" for code in (booking.code, other_booking.code) for kind in ("pickup", "return")
    )


def test_an_administrator_gets_the_counter_feed_of_every_counter(client, admin_user, other_location):
    token = calendar_token_rotate(user=admin_user)
    assert client.get(counter_feed_url(token, other_location)).status_code == 200


def test_every_refused_feed_gets_the_same_404(client, teacher_a, teacher_b, clerk, location, other_location,
                                              booking):
    replaced = calendar_token_rotate(user=teacher_a)
    teacher_token = calendar_token_rotate(user=teacher_a)
    clerk_token = calendar_token_rotate(user=clerk)
    deactivated = calendar_token_rotate(user=teacher_b)
    teacher_b.is_active = False
    teacher_b.save()

    refused = [
        feed_url("wrong-" + teacher_token[6:]),
        feed_url(replaced),
        feed_url(deactivated),
        counter_feed_url("wrong-" + clerk_token[6:], location),
        counter_feed_url(replaced, location),
        counter_feed_url(teacher_token, location),  # a teacher works at no counter
        counter_feed_url(clerk_token, other_location),  # not the clerk's counter
        reverse("frontend:calendar_counter_feed", kwargs={"token": clerk_token, "location": "unknown"}),
    ]
    responses = [client.get(url) for url in refused]

    assert {response.status_code for response in responses} == {404}
    assert {response.content for response in responses} == {b"Not found.\n"}
    assert {response["Content-Type"] for response in responses} == {"text/plain; charset=utf-8"}
    for url, response in zip(refused, responses):
        assert url.split("/")[2].removesuffix(".ics") not in response.content.decode()
    # The tokens themselves are fine: the person's own feed and the clerk's counter still open.
    assert client.get(feed_url(teacher_token)).status_code == 200
    assert client.get(counter_feed_url(clerk_token, location)).status_code == 200


def test_the_feed_allows_only_get_and_head(client, teacher_a):
    token = calendar_token_rotate(user=teacher_a)
    assert client.post(feed_url(token)).status_code == 405
    assert client.put(feed_url(token)).status_code == 405
    assert client.head(feed_url(token)).status_code == 200


# Cheap to poll


def test_the_feed_carries_its_version_and_may_be_cached_privately_after_asking_again(client, teacher_a, booking):
    token = calendar_token_rotate(user=teacher_a)

    response = client.get(feed_url(token))

    booking.refresh_from_db()
    assert response["Cache-Control"] == "private, no-cache"
    assert response["ETag"] == feed_version_for_borrower(user=teacher_a)[0]
    assert response["Last-Modified"] == http_date(int(booking.updated_at.timestamp()))


def test_a_matching_if_none_match_gets_304_without_building_the_feed(client, teacher_a, booking, monkeypatch,
                                                                     django_assert_max_num_queries):
    token = calendar_token_rotate(user=teacher_a)
    first = client.get(feed_url(token))
    etag = first["ETag"]

    with monkeypatch.context() as patch:
        patch.setattr("frontend.calendar_views.calendar_for_borrower",
                      lambda **kwargs: pytest.fail("the feed was built for a 304"))
        with django_assert_max_num_queries(3):  # the token, the feed's version (bookings, items)
            response = client.get(feed_url(token), headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert response["Cache-Control"] == "private, no-cache"

    reservation_cancel(reservation=booking, actor=teacher_a)
    changed = client.get(feed_url(token), headers={"If-None-Match": etag})

    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "STATUS:CANCELLED" in changed.content.decode()


def test_if_modified_since_alone_never_gives_a_stale_304(client, teacher_a, booking):
    """Last-Modified is sent, but only the ETag decides: the newest change in whole seconds misses
    a booking that leaves the feed's window or a second change within the same second."""
    token = calendar_token_rotate(user=teacher_a)
    last_modified = client.get(feed_url(token))["Last-Modified"]

    response = client.get(feed_url(token), headers={"If-Modified-Since": last_modified})

    assert response.status_code == 200 and response["Last-Modified"] == last_modified


def test_the_counter_feed_answers_a_matching_poll_with_304(client, clerk, location, booking, monkeypatch):
    token = calendar_token_rotate(user=clerk)
    etag = client.get(counter_feed_url(token, location))["ETag"]
    monkeypatch.setattr("frontend.calendar_views.calendar_for_location",
                        lambda **kwargs: pytest.fail("the feed was built for a 304"))

    assert client.get(counter_feed_url(token, location), headers={"If-None-Match": etag}).status_code == 304


def test_head_answers_the_headers_of_get_without_a_body(client, teacher_a, booking):
    token = calendar_token_rotate(user=teacher_a)
    get = client.get(feed_url(token))

    head = client.head(feed_url(token))

    assert head.status_code == 200
    assert head.content == b""
    for header in ("Content-Type", "ETag", "Last-Modified", "Cache-Control"):
        assert head[header] == get[header]
    assert head["Content-Length"] == str(len(get.content))
    assert client.head(feed_url(token), headers={"If-None-Match": get["ETag"]}).status_code == 304


def test_the_feed_speaks_the_persons_language_whatever_the_client_asks_for(client, teacher_a, booking):
    token = calendar_token_rotate(user=teacher_a)
    german = client.get(feed_url(token), headers={"Accept-Language": "en"})
    teacher_a.language = "en"
    teacher_a.save()

    english = client.get(feed_url(token), headers={"Accept-Language": "de"})

    assert german["Content-Language"] == "de"
    assert english["Content-Language"] == "en"
    assert english["ETag"] != german["ETag"]


# One booking's download


def test_the_borrower_downloads_the_booking_as_ics(client, teacher_a, booking):
    client.force_login(teacher_a)

    response = client.get(reverse("frontend:booking_calendar", args=[booking.code]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="technikverleih-{booking.code}.ics"'
    assert booking_codes(response) == [f"{booking.code}-pickup", f"{booking.code}-return"]


def test_the_staff_of_its_counter_download_the_booking(client, clerk, booking):
    client.force_login(clerk)
    assert client.get(reverse("frontend:booking_calendar", args=[booking.code])).status_code == 200


def test_another_teacher_gets_404_for_the_booking_download(client, teacher_b, booking):
    client.force_login(teacher_b)
    assert client.get(reverse("frontend:booking_calendar", args=[booking.code])).status_code == 404


def test_the_booking_download_needs_a_sign_in(client, booking):
    response = client.get(reverse("frontend:booking_calendar", args=[booking.code]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_booking_page_links_to_the_download(client, teacher_a, booking):
    client.force_login(teacher_a)
    response = client.get(reverse("frontend:booking_detail", args=[booking.code]))
    assert reverse("frontend:booking_calendar", args=[booking.code]) in response.content.decode()


# The account page


def test_the_account_page_offers_to_create_a_calendar_link(client, teacher_a):
    client.force_login(teacher_a)
    content = client.get(reverse("profile:show")).content.decode()
    assert 'name="calendar_link" value="create"' in content
    assert "/kalender/" not in content


def test_creating_the_link_shows_it_once_with_webcal_and_instructions(client, teacher_a, booking):
    client.force_login(teacher_a)

    response = client.post(reverse("profile:show"), {"calendar_link": "create"})

    content = response.content.decode()
    token = FEED_TOKEN.search(content).group(1)
    assert response.status_code == 200
    assert f"http://testserver{feed_url(token)}" in content
    assert f"webcal://testserver{feed_url(token)}" in content
    for program in ("Outlook", "Apple Calendar", "Google Calendar", "Thunderbird"):
        assert program in content
    assert "no-store" in response["Cache-Control"]
    assert client.get(feed_url(token)).status_code == 200
    # Only the hash is kept, not in the database, not in the session.
    assert CalendarToken.objects.get(user=teacher_a).token_hash != token
    assert token not in str(dict(client.session))
    again = client.get(reverse("profile:show")).content.decode()
    assert token not in again
    assert 'name="calendar_link" value="replace"' in again


def test_replacing_the_link_stops_the_old_url_at_once(client, teacher_a, booking):
    client.force_login(teacher_a)
    old_token = FEED_TOKEN.search(
        client.post(reverse("profile:show"), {"calendar_link": "create"}).content.decode()
    ).group(1)

    response = client.post(reverse("profile:show"), {"calendar_link": "replace"})

    content = response.content.decode()
    new_token = FEED_TOKEN.search(content).group(1)
    assert new_token != old_token
    assert "Ihr alter Kalender-Link funktioniert nicht mehr." in content
    assert client.get(feed_url(old_token)).status_code == 404
    assert client.get(feed_url(new_token)).status_code == 200


def test_staff_see_one_feed_per_counter_they_work_at(client, clerk, location, other_location, booking):
    clerk.locations.add(other_location)
    third = factories.make_location(name="Medienzentrum Süd", slug="mz-sued")
    client.force_login(clerk)

    content = client.post(reverse("profile:show"), {"calendar_link": "create"}).content.decode()

    token = FEED_TOKEN.search(content).group(1)
    for counter in (location, other_location):
        assert f"webcal://testserver{counter_feed_url(token, counter)}" in content
        assert client.get(counter_feed_url(token, counter)).status_code == 200
    assert counter_feed_url(token, third) not in content


def test_the_contact_form_still_saves(client, teacher_a):
    client.force_login(teacher_a)
    response = client.post(reverse("profile:show"), {"contact_email": "alice@schule.example", "language": "en"})
    assert response.status_code == 302
    teacher_a.refresh_from_db()
    assert teacher_a.contact_email == "alice@schule.example"
    assert not CalendarToken.objects.exists()


# Tokens in logs


def test_a_404_for_a_wrong_token_logs_no_token(client, teacher_a, clerk, location, caplog):
    token = calendar_token_rotate(user=teacher_a)
    wrong = ("y" if token.startswith("x") else "x") + token[1:]

    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(feed_url(wrong)).status_code == 404
        assert client.get(counter_feed_url(token, location)).status_code == 404
        assert client.post(feed_url(token)).status_code == 405

    messages = [record.getMessage() for record in caplog.records if record.name == "django.request"]
    assert messages == [
        "Not Found: /kalender/…",
        f"Not Found: /kalender/…/theke/{location.slug}.ics",
        "Method Not Allowed (POST): /kalender/…",
    ]
    assert token[1:] not in caplog.text


@pytest.mark.parametrize(("message", "args", "expected"), [
    ("Not Found: %s", ("/kalender/abc-DEF_123.ics",), "Not Found: /kalender/…"),
    ('"%s" %s %s', ("GET /kalender/abc.ics?x=1 HTTP/1.1", "404", "10"), '"GET /kalender/…?x=1 HTTP/1.1" 404 10'),
    ("%(url)s", ({"url": "https://verleih.example/kalender/abc/theke/mz.ics"},),
     "https://verleih.example/kalender/…/theke/mz.ics"),
    ("Fetched /kalender/abc.ics in %d ms", (12,), "Fetched /kalender/… in 12 ms"),
    ("Not Found: %s", ("/buchungen/ABCD/kalender.ics",), "Not Found: /buchungen/ABCD/kalender.ics"),
])
def test_the_log_filter_replaces_the_token_segment(message, args, expected):
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, message, args, None)
    assert RedactCalendarTokens().filter(record) is True
    assert record.getMessage() == expected


def test_the_log_filter_drops_the_request_of_a_feed_from_the_record(rf):
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s",
                               ("/kalender/abc.ics",), None)
    record.request = rf.get("/kalender/abc.ics")
    RedactCalendarTokens().filter(record)
    assert record.request is None

    other = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s",
                              ("/buchungen/",), None)
    other.request = request = rf.get("/buchungen/")
    RedactCalendarTokens().filter(other)
    assert other.request is request



def test_the_english_calendar_path_serves_the_same_feeds_and_logs_no_token(client, teacher_a, clerk, location,
                                                                           booking, caplog):
    token = calendar_token_rotate(user=teacher_a)
    staff_token = calendar_token_rotate(user=clerk)

    assert client.get(f"/calendar/{token}.ics").content == client.get(feed_url(token)).content
    assert client.get(f"/calendar/{staff_token}/counter/{location.slug}.ics").status_code == 200
    with caplog.at_level(logging.WARNING, logger="django.request"):
        wrong = ("y" if token.startswith("x") else "x") + token[1:]
        assert client.get(f"/calendar/{wrong}.ics").status_code == 404
    assert token[1:] not in caplog.text and "Not Found: /calendar/…" in caplog.text

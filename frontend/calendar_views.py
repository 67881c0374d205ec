"""Calendar feeds (issue 5): a person's pickups and returns, a counter's day for its staff, and one
booking's `.ics` download. Mounted by frontend/urls.py.

Calendar programs poll the feeds without cookies, so the feeds open by the secret token in their
URL (lending/calendar_tokens.py). The token opens the feed only: the feed views read neither
`request.user` nor the session, and sign no one in.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseNotFound
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from catalog.models import Location
from lending.calendar import (
    calendar_for_borrower,
    calendar_for_location,
    calendar_for_reservation,
    feed_version_for_borrower,
    feed_version_for_location,
)
from lending.calendar_tokens import calendar_token_user
from lending.selectors import reservation_get_for_user, staff_locations

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"

# Every answer may be kept by the calendar program or the browser ("private": never by a shared
# proxy, the feed is personal), but only after asking us again ("no-cache"). Asking is cheap: the
# ETag comes from one query and a matching If-None-Match gets a 304 without building the feed. So a
# changed booking shows up at the next poll, and a replaced token stops at once, also for a copy
# that a cache already holds (which `max-age=300` would have served for five more minutes).
FEED_CACHE_CONTROL = "private, no-cache"


def _feed_not_found():
    """The one answer for every refused feed: a wrong, replaced or deactivated person's token, an
    unknown counter, a counter the person does not work at. Always the same bytes (not the site's
    404 page, which in DEBUG shows the path and with it the token), so the answer tells nothing
    about which part was wrong. Not translated either: the bytes must not depend on the language."""
    return HttpResponseNotFound(b"Not found.\n", content_type="text/plain; charset=utf-8")


def _site_url(request):
    return settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")


def calendar_feed_links(request, *, user, token):
    """The feed URLs that `token` opens, for the account page: the person's own and, for staff,
    one per counter they work at. Each as {"name", "url" (https), "webcal"}: a webcal:// link
    makes the operating system offer the calendar program for subscribing."""
    def link(name, path):
        url = f"{_site_url(request)}{path}"
        return {"name": name, "url": url, "webcal": "webcal://" + url.split("://", 1)[1]}

    links = [link(_("My bookings"), reverse("frontend:calendar_feed", kwargs={"token": token}))]
    for location in staff_locations(user).order_by("name"):
        links.append(link(
            _("Counter %(name)s") % {"name": location.name},
            reverse("frontend:calendar_counter_feed", kwargs={"token": token, "location": location.slug}),
        ))
    return links


def _feed_response(request, *, user, version, build):
    """The feed with its validators, or a 304 when the caller's copy is current.

    `version()` gives (ETag, Last-Modified) from one cheap query; `build()` makes the feed and is
    called only when the caller's copy is missing or stale.
    """
    # In the person's language, as their e-mails, not in whatever a calendar service's fetcher
    # asks for: the same feed for every client, and the ETag (which includes the language) stable.
    language = user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        etag, last_modified = version()
        response = _feed_or_not_modified(request, etag=etag, last_modified=last_modified, build=build)
    response["Content-Language"] = language
    return response


def _feed_or_not_modified(request, *, etag, last_modified, build):
    response = HttpResponse(content_type=CALENDAR_CONTENT_TYPE)
    response["Cache-Control"] = FEED_CACHE_CONTROL
    response["ETag"] = etag
    last_modified_timestamp = None
    if last_modified is not None:
        last_modified_timestamp = int(last_modified.timestamp())
        response["Last-Modified"] = http_date(last_modified_timestamp)
    # A 304 (or 412) copies Cache-Control, ETag and Last-Modified from `response`, as RFC 9110 asks.
    # Only the ETag decides: Last-Modified is the newest booking's change in whole seconds, and a
    # feed also changes when a booking leaves its window or moves away, or twice in one second.
    conditional = get_conditional_response(request, etag=etag, response=response)
    if conditional is not response:
        return conditional
    # HEAD is built like GET so that Content-Length is right; the server drops the body.
    response.content = build()
    return response


@require_safe
def personal_feed(request, token):
    """A person's pickups and returns, for their calendar program to subscribe to."""
    user = calendar_token_user(token)
    if user is None:
        return _feed_not_found()
    now = timezone.now()
    return _feed_response(
        request, user=user, version=lambda: feed_version_for_borrower(user=user, now=now, base_url=_site_url(request)),
        build=lambda: calendar_for_borrower(user=user, now=now, base_url=_site_url(request)),
    )


@require_safe
def counter_feed(request, token, location):
    """Every pickup and return at one counter, for the staff who work there."""
    user = calendar_token_user(token)
    if user is None:
        return _feed_not_found()
    counter = Location.objects.filter(slug=location).first()
    if counter is None or not user.works_at(counter):
        return _feed_not_found()
    now = timezone.now()
    return _feed_response(
        request, user=user, version=lambda: feed_version_for_location(location=counter, now=now, base_url=_site_url(request)),
        build=lambda: calendar_for_location(location=counter, now=now, base_url=_site_url(request)),
    )


@never_cache
@login_required
@require_safe
def booking_calendar(request, code):
    """One booking's pickup and return as an `.ics` file ("Add to calendar"), for its borrower and
    the staff of its counter; 404 for everyone else."""
    reservation = reservation_get_for_user(user=request.user, code=code)
    response = HttpResponse(
        calendar_for_reservation(reservation=reservation, base_url=_site_url(request)),
        content_type=CALENDAR_CONTENT_TYPE,
    )
    response["Content-Disposition"] = f'attachment; filename="technikverleih-{reservation.code}.ics"'
    return response

"""What the counter's scan field received: a booking code or an asset tag, from whatever sent it.

A handheld scanner types the QR code's content and presses Enter; a clerk may paste a link from
an e-mail or type a code from a printout; the browser camera hands over the decoded text. All of
them arrive as one string. `scan_parse` turns it into ("booking", code) or ("unit", asset tag)
without touching the database, or refuses it with a BookingError saying why.
"""

import re
from urllib.parse import unquote, urlsplit

from catalog.models import ASSET_TAG_VALIDATOR
from lending.exceptions import BookingError
from lending.secrets import normalise_booking_code

# The longest thing worth reading: an absolute URL with a 40-character asset tag fits easily.
SCAN_MAX_LENGTH = 300
BOOKING = "booking"
UNIT = "unit"

_PATH = re.compile(r"^/(?P<kind>[ru])/(?P<value>[^/]+)/?$")
# A bare code is an asset tag or a booking code; both fit the asset tag rule of catalog.models,
# which ends in \Z, not $: `$` also matches before a final newline, and "%0A" decodes to one
# after the check for control characters has run.
_BARE = ASSET_TAG_VALIDATOR.regex


def scan_parse(raw, *, hosts=()):
    """("booking", code) for `/r/<code>` links, ("unit", asset tag) for `/u/<tag>` links, and
    ("code", text) for a bare code that may be either (the selector looks it up as both).

    `hosts` are the host names (with port) our own links carry; a link to any other site is
    refused, so a pasted link to somewhere else never looks like one of ours.

    Raises BookingError with one of: scan_empty, scan_too_long, scan_malformed, scan_foreign_url.
    """
    text = (raw or "").strip()
    if not text:
        raise BookingError("scan_empty")
    if len(text) > SCAN_MAX_LENGTH:
        raise BookingError("scan_too_long")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise BookingError("scan_malformed")
    if "://" in text or text.startswith("/"):
        return _parse_link(text, hosts=hosts)
    if not _BARE.match(text):
        raise BookingError("scan_malformed")
    return "code", text


def _parse_link(text, *, hosts):
    try:
        parts = urlsplit(text)
    except ValueError:
        raise BookingError("scan_malformed") from None
    if parts.scheme or parts.netloc:
        if parts.scheme.lower() not in ("http", "https"):
            raise BookingError("scan_malformed")
        if parts.netloc.lower() not in {host.lower() for host in hosts}:
            raise BookingError("scan_foreign_url")
    match = _PATH.match(parts.path)
    if match is None:
        raise BookingError("scan_malformed")
    value = unquote(match["value"])
    if match["kind"] == "r":
        code = normalise_booking_code(value)
        if not code or len(code) > 16:
            raise BookingError("scan_malformed")
        return BOOKING, code
    if not _BARE.match(value):
        raise BookingError("scan_malformed")
    return UNIT, value


def scan_hosts(request):
    """The hosts our own QR codes carry: SITE_URL's and the one this request came in on."""
    from django.conf import settings

    hosts = {request.get_host()}
    if settings.SITE_URL:
        hosts.add(urlsplit(settings.SITE_URL).netloc)
    return hosts

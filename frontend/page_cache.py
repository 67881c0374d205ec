"""Rendered parts of the teacher pages, cached under the catalogue's version
(`catalog.versions.cached`), and the per-request parts filled into them.

At 8:00 on a Monday a whole city's teachers open the catalogue at once, and each of them would
render the same cards and calendars. The parts that are the same for everyone (the catalogue's
list for one search, an item's month calendar) are rendered once and kept in the cache under a
key that holds everything they depend on: the version of the locations whose bookings, units,
closures and items they show (catalog/versions.py), today's date (lead times, past days, overdue
loans), the language, and the request's own choices. A change raises the version, so the next
request renders afresh; nothing is ever deleted. What belongs to one person (the header with
their name and basket, the CSRF token, messages, whether they hold a qualification) is rendered
around the cached part on every request.
"""

from django.middleware.csrf import get_token
from django.utils.html import escape
from django.utils.safestring import mark_safe

# Stand-ins in cached HTML for what differs per request; no URL, token or translation contains
# a NUL character.
CSRF_MARK = "\x00csrf\x00"


def mark(name):
    """The stand-in for a per-request part called `name`, to be replaced by `filled`."""
    return f"\x00{name}\x00"


def filled(request, html, **parts):
    """Cached `html` with this request's CSRF token and the given parts (HTML, already escaped
    where needed) in place of their marks, ready for a template."""
    html = html.replace(CSRF_MARK, escape(get_token(request))) if CSRF_MARK in html else html
    for name, part in parts.items():
        html = html.replace(mark(name), part)
    return mark_safe(html)  # our templates' output; every part filled in is escaped by its caller

"""Versions of what the catalogue and the availability calendars show, so pages can cache them.

Every location carries a counter, `Location.version`, that each change to what its catalogue
cards and calendars show raises: a booking made, changed, cancelled, extended, handed out,
returned or not picked up, a unit that goes into maintenance or comes back, a closure, an
item type or a location edited. Pages cache what they render under a key that holds the counter
(`catalogue_version()` for the whole catalogue, `location.version` for one item's calendar), so
nothing is ever deleted from the cache: a change moves the key, and the next request on any app
server renders afresh. The counter lives in the database, not in the cache, because without
REDIS_URL every app server process has a cache of its own and would never hear of a change made
by another.

The counter is raised in the same transaction as the change, as its last write (see
`catalogue_changed`): a rolled-back booking raises nothing, and a committed one is visible in the
very next request.
"""

import hashlib

from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import get_language

from catalog.models import Location


def catalogue_changed(*, location_ids=None):
    """Raise the version of the given locations (all of them when None).

    Call it as the last write of the transaction that made the change. The booking services lock
    item types before their location; raising the counter locks the location row until the
    commit, so doing it last keeps that order for every service and no two of them can deadlock.
    """
    locations = Location.objects.all() if location_ids is None else Location.objects.filter(pk__in=location_ids)
    # update(), not save(): the location's own updated_at (which calendar feeds show as a change
    # of the counter) stays as it is.
    locations.update(version=F("version") + 1)


def catalogue_version():
    """A short text that changes whenever any location's version does, or a location comes or
    goes. One query over the locations (a few hundred rows at most, even for a whole state).

    Written as SQL: it runs on every catalogue request, and building the same aggregate through
    the ORM took five times as long as the database took to answer it."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        count, newest, total = cursor.fetchone()
    return f"{count}.{newest or 0}.{total or 0}"


_VERSION_SQL = (
    f"SELECT COUNT(*), MAX({Location._meta.pk.column}), SUM({Location._meta.get_field('version').column}) "
    f"FROM {Location._meta.db_table}"
)


# A safety net only: every change that matters raises the version at once. This bounds how long
# something written past the services (a shell, a restored backup) can stay unseen.
CACHE_SECONDS = 300
KEY_PREFIX = "by-version"


def cached(*key_parts, render):
    """What `render()` returns, from the cache when the same key was rendered before.

    `key_parts` must name everything the result depends on, a version among them, besides
    today's date and the active language, which are added here. `render` returns anything the
    cache can hold (HTML, a tuple with a status, an API page's data). Nothing is ever deleted: a
    change raises the version, which moves the key."""
    parts = [KEY_PREFIX, timezone.localdate().isoformat(), get_language() or "", *map(str, key_parts)]
    # Hashed: a search text may be long or hold characters memcached-style keys refuse.
    key = f"{KEY_PREFIX}:{hashlib.sha256(chr(31).join(parts).encode()).hexdigest()}"
    value = cache.get(key)
    if value is None:
        value = render()
        cache.set(key, value, CACHE_SECONDS)
    return value

"""Personas shared by every test.

- teacher_a teaches at school_a, teacher_b at school_b: each sees only their own bookings.
- clerk is counter staff at location, admin_user administers; stranger is signed in but has no school.
- neighbour is counter staff only at neighbour_counter (mz-nachbar), the next media centre.
- location is the media centre's counter, Tuesday and Wednesday 9–16, 30-minute slots of 4.
"""

import pytest

from accounts.models import Role
from tests import factories
from tests.smtp import smtp_server  # noqa: F401 - the real SMTP server fixture, for any test


@pytest.fixture
def location(db):
    return factories.make_location(name="Medienzentrum Test", slug="mz-test")


@pytest.fixture
def school_a(db):
    return factories.make_school(name="Gymnasium am Park")


@pytest.fixture
def school_b(db):
    return factories.make_school(name="Grundschule Nord", school_type="grundschule")


@pytest.fixture
def teacher_a(school_a):
    return factories.make_user(username="alice", schools=[school_a], first_name="Alice", last_name="Adler")


@pytest.fixture
def teacher_b(school_b):
    return factories.make_user(username="bob", schools=[school_b], first_name="Bob", last_name="Berg")


@pytest.fixture
def clerk(location):
    clerk = factories.make_user(username="clara", role=Role.STAFF)
    clerk.locations.add(location)
    return clerk


@pytest.fixture
def neighbour_counter(db):
    return factories.make_location(name="Medienzentrum Nachbarkreis", slug="mz-nachbar")


@pytest.fixture
def neighbour(neighbour_counter):
    """Counter staff of the neighbouring media centre only."""
    neighbour = factories.make_user(username="nina", role=Role.STAFF)
    neighbour.locations.add(neighbour_counter)
    return neighbour


@pytest.fixture
def admin_user(db):
    return factories.make_user(username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def stranger(db):
    return factories.make_user(username="charlie")


@pytest.fixture
def item_type(location):
    return factories.make_item_type(location=location, name="VR-Koffer", slug="vr-koffer", units=3)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: allauth remembers used one-time codes there for their
    30 seconds, and user ids repeat from test to test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()

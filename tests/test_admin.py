"""Every admin page opens with the demo data; reservations cannot be added in the admin."""

import io
import re

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, User
from catalog.models import Closure, ItemType, Location
from lending.models import Reservation, ReservationEvent, ReservationStatus, WaitlistEntry
from notifications.models import Mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_admin(db, settings):
    settings.DEBUG = True  # load_demo runs only in development
    call_command("load_demo", stdout=io.StringIO())
    settings.DEBUG = False
    return User.objects.get(username="admin")


@pytest.fixture
def admin_client(client, demo_admin):
    client.force_login(demo_admin)
    return client


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda model: model._meta.label)
def test_every_list_search_add_and_change_page_opens(admin_client, model):
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "changelist"), {"q": "a"}).status_code == 200
    add_page = admin_client.get(admin_url(model, "add"))
    # Reservations come from the booking service; django-axes' records from sign-in attempts; API
    # tokens from their owners' account page (the only place a token is ever readable); mails from
    # the changes they report; waiting-list entries from the teachers who join.
    read_only = model in (Reservation, ReservationEvent, ApiToken, Mail, WaitlistEntry) or model._meta.app_label == "axes"
    assert add_page.status_code == (403 if read_only else 200)
    first = model.objects.first()
    if first is not None:
        assert admin_client.get(admin_url(model, "change", first.pk)).status_code == 200


def test_reservations_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get(admin_url(Reservation, "add")).status_code == 403
    assert admin_client.get(admin_url(ReservationEvent, "add")).status_code == 403


def test_a_status_correction_is_logged_as_an_override(admin_client, demo_admin):
    reservation = Reservation.objects.filter(status=ReservationStatus.NO_SHOW).first()
    sequence = reservation.sequence

    response = admin_client.post(admin_url(Reservation, "change", reservation.pk), {
        "status": ReservationStatus.RETURNED, "note": reservation.note,
        "lines-TOTAL_FORMS": 0, "lines-INITIAL_FORMS": 0, "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 0,
        "events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0, "events-MIN_NUM_FORMS": 0, "events-MAX_NUM_FORMS": 0,
    })

    assert response.status_code == 302
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.RETURNED
    assert reservation.sequence == sequence + 1
    event = reservation.events.get(action=ReservationEvent.Action.OVERRIDE)
    assert event.actor == demo_admin
    assert event.data["after"] == {"status": "returned"}


def test_the_location_action_imports_the_holidays_of_this_year_and_next(admin_client):
    location = Location.objects.get(slug="mz-dortmund")
    Closure.objects.filter(location=location).exclude(source=Closure.Source.STAFF).delete()
    year = timezone.localdate().year

    response = admin_client.post(admin_url(Location, "changelist"), {
        "action": "import_holidays", "_selected_action": [location.pk],
    })

    assert response.status_code == 302
    for each in (year, year + 1):
        assert Closure.objects.filter(location=location, first_day__year=each, reason="Neujahr").exists()


def test_the_fields_of_a_tabular_inline_are_named_and_its_table_is_a_region(admin_client):
    """The unit rows under an item type have no labels of their own, only column headings: each
    field is named by its label for screen readers, and the table scrolls in a named region."""
    item_type = ItemType.objects.filter(units__isnull=False).first()
    page = admin_client.get(admin_url(ItemType, "change", item_type.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<div class="table-scroll" tabindex="0" role="region" aria-label="Units">' in page
    for name, label in (("asset_tag", "Asset tag"), ("status", "Status"), ("notes", "Notes"), ("DELETE", "Delete")):
        tag = re.search(rf'<(input|select|textarea)[^>]*name="units-0-{name}"[^>]*>', page).group(0)
        assert f'aria-label="{label}"' in tag, tag

"""Factories that build consistent objects and dates for the tests.

Dates are always counter days of the default location (Tuesday and Wednesday) computed from the
real or frozen today, so a test reads as "a Tuesday at least three days ahead".

Factories that write what the catalogue shows raise the catalogue's version as the admin does
(catalog/versions.py), so a page cached earlier in a test is rendered afresh.
"""

import datetime
import itertools
import time

from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.utils import timezone

from accounts.models import Qualification, QualificationGrant, Role, School, SchoolType, User
from catalog.models import Category, Closure, ItemType, Location, Unit, UnitStatus
from catalog.versions import catalogue_changed
from lending.models import Reservation, ReservationLine, ReservationStatus
from lending.services import reservation_create

_sequence = itertools.count(1)
SLOT = datetime.time(9, 0)


def counter_day(*, weekday=2, at_least_days_ahead=2, today=None):
    """The first day with this ISO weekday (2 = Tuesday) that is at least N days after today."""
    day = (today or timezone.localdate()) + datetime.timedelta(days=at_least_days_ahead)
    while day.isoweekday() != weekday:
        day += datetime.timedelta(days=1)
    return day


def make_location(**fields):
    number = next(_sequence)
    defaults = {
        "name": f"Medienzentrum {number}",
        "slug": f"mz-{number}",
        "counter_weekdays": [2, 3],
        "opens_at": datetime.time(9, 0),
        "closes_at": datetime.time(16, 0),
        "slot_minutes": 30,
        "slot_capacity": 4,
    }
    defaults.update(fields)
    location = Location.objects.create(**defaults)
    catalogue_changed()
    return location


def make_school(**fields):
    number = next(_sequence)
    defaults = {"number": f"1{number:05d}", "name": f"Schule {number}", "school_type": SchoolType.GYMNASIUM}
    defaults.update(fields)
    return School.objects.create(**defaults)


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # base32; tests compute codes from it


def make_user(*, role=Role.TEACHER, schools=(), username=None, totp=None, **fields):
    """A user with the password "correct-horse-battery". Staff and admins get a TOTP second
    factor with TOTP_SECRET, as they must have one, unless totp=False."""
    username = username or f"user{next(_sequence)}"
    user = User.objects.create_user(
        username=username, email=f"{username}@example.org", password="correct-horse-battery", role=role, **fields
    )
    user.schools.set(schools)
    if totp if totp is not None else role in (Role.STAFF, Role.ADMIN):
        TOTP.activate(user, TOTP_SECRET)
    return user


def totp_code(secret=TOTP_SECRET):
    """The current one-time code for `secret`, as an authenticator app shows it.

    Near the end of its 30 seconds it waits for the next code, as a person would: a code taken in
    its last moment may be stale by the time a busy test machine checks it."""
    remaining = 30 - time.time() % 30
    if remaining < 4:
        time.sleep(remaining + 0.05)
    counter = next(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counter))


def make_category(**fields):
    number = next(_sequence)
    defaults = {"name": f"Kategorie {number}", "slug": f"kategorie-{number}"}
    defaults.update(fields)
    category = Category.objects.create(**defaults)
    catalogue_changed()
    return category


def make_item_type(*, location, category=None, units=3, **fields):
    """An item type with `units` available units and lenient loan rules unless told otherwise."""
    number = next(_sequence)
    defaults = {
        "name": f"Artikel {number}",
        "slug": f"artikel-{number}",
        "description": "Ein Artikel zum Testen.",
        "contents": "Koffer\nLadekabel",
        "max_loan_days": 28,
        "min_lead_days": 0,
        "max_advance_days": 365,
        "turnaround_days": 0,
    }
    defaults.update(fields)
    item_type = ItemType.objects.create(location=location, category=category or make_category(), **defaults)
    for _ in range(units):
        make_unit(item_type=item_type)
    catalogue_changed()
    return item_type


def make_unit(*, item_type, status=UnitStatus.AVAILABLE, **fields):
    number = next(_sequence)
    unit = Unit.objects.create(item_type=item_type, asset_tag=f"T-{number:06d}", status=status, **fields)
    catalogue_changed()
    return unit


def make_closure(*, location, first_day, last_day=None, reason="Schließtag"):
    closure = Closure.objects.create(location=location, first_day=first_day, last_day=last_day or first_day, reason=reason)
    catalogue_changed()
    return closure


def make_qualification(**fields):
    number = next(_sequence)
    defaults = {"name": f"Schulung {number}"}
    defaults.update(fields)
    return Qualification.objects.create(**defaults)


def grant_qualification(*, user, qualification, granted_on=None, expires_on=None):
    return QualificationGrant.objects.create(
        user=user, qualification=qualification,
        granted_on=granted_on or timezone.localdate() - datetime.timedelta(days=30), expires_on=expires_on,
    )


def book(*, borrower, lines, pickup_day=None, return_day=None, school=None, pickup_slot=SLOT):
    """Book through the real service with sensible defaults: next Tuesday to the Wednesday after."""
    pickup_day = pickup_day or counter_day(weekday=2)
    return_day = return_day or pickup_day + datetime.timedelta(days=8)
    return reservation_create(
        borrower=borrower, school=school or borrower.schools.first(), pickup_day=pickup_day,
        pickup_slot=pickup_slot, return_day=return_day, lines=lines,
    )


def make_reservation(*, location, school, lines, pickup_day, return_day, status=None, borrower=None,
                     pickup_slot=SLOT):
    """A reservation written straight through the ORM, bypassing every booking rule.

    For setting up states the services cannot reach on their own (handed out, returned, overdue,
    overbooked) and for bulk data. `lines` is {item_type or id: quantity}.
    """
    reservation = Reservation.objects.create(
        location=location, school=school, borrower=borrower, pickup_day=pickup_day,
        pickup_slot=pickup_slot, return_day=return_day, status=status or ReservationStatus.CONFIRMED,
    )
    ReservationLine.objects.bulk_create(
        ReservationLine(reservation=reservation, item_type_id=getattr(item_type, "pk", item_type), quantity=quantity)
        for item_type, quantity in lines.items()
    )
    catalogue_changed()
    return reservation


def make_waitlist_entry(*, borrower, school, item_type, pickup_day, return_day, quantity=1,
                        pickup_slot=datetime.time(10, 0)):
    """A waiting entry written straight through the ORM, in line after the ones before it."""
    from django.utils import timezone

    from lending.models import WaitlistEntry

    now = timezone.now()
    last = WaitlistEntry.objects.order_by("-rank").values_list("rank", flat=True).first()
    return WaitlistEntry.objects.create(
        borrower=borrower, school=school, location=item_type.location, item_type=item_type, quantity=quantity,
        pickup_day=pickup_day, pickup_slot=pickup_slot, return_day=return_day,
        rank=max(now.timestamp(), (last or 0) + 1), joined_at=now,
    )


def make_delivering_location(**fields):
    """A counter whose tour delivers: two stops a tour day, a week's notice, packed the day before,
    collected by the tour (the model's defaults apart from the capacity)."""
    defaults = {"deliveries_per_day": 2, "delivery_lead_days": 7, "tour_packing_days": 1, "collection_by_tour": True}
    defaults.update(fields)
    return make_location(**defaults)


def make_school_with_address(**fields):
    defaults = {"street": "Parkstraße 1", "postcode": "44135", "city": "Dortmund",
                "office_phone": "0231 123456", "delivery_notes": "Hausmeister, Eingang Hofseite"}
    defaults.update(fields)
    return make_school(**defaults)

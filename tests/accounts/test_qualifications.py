"""Granting, renewing and revoking qualifications (accounts.qualifications), and what the booking
rules make of them: a booking that needs a qualification goes through only while it is valid."""

import datetime
import threading

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from accounts.models import QualificationGrant, Role
from accounts.qualifications import (
    QualificationError,
    qualification_grant,
    qualification_grant_of,
    qualification_revoke,
    qualifications_of,
)
from lending.exceptions import BookingError
from lending.models import Reservation
from tests import factories
from tests.lending.conftest import MONDAY, NEXT_TUESDAY, NEXT_WEDNESDAY, TUESDAY

TODAY = MONDAY.date()
IN_A_YEAR = datetime.date(2028, 3, 1)


@pytest.fixture(autouse=True)
def monday(time_machine):
    time_machine.move_to(MONDAY, tick=False)


@pytest.fixture
def vr_training(db):
    return factories.make_qualification(name="VR-Schulung", where_offered="Medienzentrum, jeden ersten Montag")


@pytest.fixture
def vr_headset(location, vr_training):
    return factories.make_item_type(location=location, name="VR-Brille", slug="vr-brille", units=2,
                                    required_qualification=vr_training)


def written():
    """What granting and revoking write: the grants and the admin history."""
    return (
        list(QualificationGrant.objects.order_by("pk").values_list(
            "pk", "user_id", "qualification_id", "granted_on", "expires_on", "granted_by_id"
        )),
        LogEntry.objects.count(),
    )


def refused(code, **arguments):
    """Call qualification_grant with `arguments`, expect `code`, and check that nothing was written."""
    before = written()
    with pytest.raises(QualificationError) as refusal:
        qualification_grant(**arguments)
    assert refusal.value.code == code
    assert written() == before
    return refusal.value


# Granting --------------------------------------------------------------------------------------------


def test_counter_staff_grant_a_qualification_to_a_teacher(clerk, teacher_a, vr_training):
    grant = qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training,
                                granted_on=TODAY, expires_on=IN_A_YEAR)

    grant.refresh_from_db()
    assert (grant.user, grant.qualification, grant.granted_on, grant.expires_on, grant.granted_by) == (
        teacher_a, vr_training, TODAY, IN_A_YEAR, clerk
    )
    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id, entry.action_flag) == (clerk, str(teacher_a.pk), ADDITION)
    assert "VR-Schulung" in entry.change_message


def test_a_grant_without_expiry_date_does_not_expire(clerk, teacher_a, vr_training):
    grant = qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TODAY)

    assert grant.expires_on is None
    assert grant.is_valid_on(datetime.date(2099, 12, 31))


def test_granting_again_renews_the_one_grant_with_the_new_dates(clerk, admin_user, teacher_a, vr_training):
    first = qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training,
                                granted_on=datetime.date(2025, 3, 1), expires_on=datetime.date(2026, 3, 1))

    renewed = qualification_grant(actor=admin_user, user=teacher_a, qualification=vr_training,
                                  granted_on=TODAY, expires_on=IN_A_YEAR)

    assert renewed.pk == first.pk
    grant = QualificationGrant.objects.get()
    assert (grant.granted_on, grant.expires_on, grant.granted_by) == (TODAY, IN_A_YEAR, admin_user)
    assert list(LogEntry.objects.order_by("pk").values_list("action_flag", flat=True)) == [ADDITION, CHANGE]


def test_a_renewal_may_drop_the_expiry_date(clerk, teacher_a, vr_training):
    factories.grant_qualification(user=teacher_a, qualification=vr_training, expires_on=TODAY)

    qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TODAY)

    assert QualificationGrant.objects.get().expires_on is None


def test_grants_of_different_qualifications_and_teachers_are_separate(clerk, teacher_a, teacher_b, vr_training):
    laser = factories.make_qualification(name="Lasercutter-Einweisung")

    qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TODAY)
    qualification_grant(actor=clerk, user=teacher_a, qualification=laser, granted_on=TODAY)
    qualification_grant(actor=clerk, user=teacher_b, qualification=vr_training, granted_on=TODAY)

    assert QualificationGrant.objects.count() == 3


def test_an_administrator_grants_too(admin_user, teacher_a, vr_training):
    qualification_grant(actor=admin_user, user=teacher_a, qualification=vr_training, granted_on=TODAY)

    assert QualificationGrant.objects.get().granted_by == admin_user


def test_the_grant_day_may_lie_ahead_when_the_training_is_booked(clerk, teacher_a, vr_training):
    grant = qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TUESDAY)

    assert not grant.is_valid_on(TODAY) and grant.is_valid_on(TUESDAY)


def test_a_grant_may_expire_on_the_day_it_is_granted(clerk, teacher_a, vr_training):
    grant = qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training,
                                granted_on=TODAY, expires_on=TODAY)

    assert grant.is_valid_on(TODAY)


# Refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["teacher_b", "stranger"])
def test_teachers_may_not_grant(request, persona, teacher_a, vr_training):
    actor = request.getfixturevalue(persona)

    error = refused("not_allowed", actor=actor, user=teacher_a, qualification=vr_training, granted_on=TODAY)

    assert error.http_status == 403


def test_a_deactivated_staff_account_may_not_grant(clerk, teacher_a, vr_training):
    clerk.is_active = False
    clerk.save()

    refused("not_allowed", actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TODAY)


def test_nobody_signed_out_may_grant(teacher_a, vr_training):
    refused("not_allowed", actor=AnonymousUser(), user=teacher_a, qualification=vr_training, granted_on=TODAY)


def test_only_active_teachers_receive_qualifications(clerk, admin_user, teacher_a, vr_training):
    error = refused("not_a_teacher", actor=admin_user, user=clerk, qualification=vr_training, granted_on=TODAY)
    assert error.http_status == 400

    teacher_a.is_active = False
    teacher_a.save()
    refused("not_a_teacher", actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TODAY)


def test_an_expiry_before_the_grant_day_is_refused(clerk, teacher_a, vr_training):
    error = refused("dates_invalid", actor=clerk, user=teacher_a, qualification=vr_training,
                    granted_on=TODAY, expires_on=TODAY - datetime.timedelta(days=1))

    assert error.http_status == 400


def test_a_refused_renewal_keeps_the_grant_as_it_was(clerk, teacher_a, vr_training):
    factories.grant_qualification(user=teacher_a, qualification=vr_training, expires_on=IN_A_YEAR)

    refused("dates_invalid", actor=clerk, user=teacher_a, qualification=vr_training,
            granted_on=IN_A_YEAR, expires_on=TODAY)


def test_an_unknown_code_is_a_programming_error():
    with pytest.raises(ValueError):
        QualificationError("no_such_code")


# Revoking --------------------------------------------------------------------------------------------


def test_counter_staff_revoke_a_grant(clerk, teacher_a, vr_training):
    grant = factories.grant_qualification(user=teacher_a, qualification=vr_training)

    qualification_revoke(actor=clerk, grant=grant)

    assert not QualificationGrant.objects.exists()
    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id, entry.action_flag) == (clerk, str(teacher_a.pk), DELETION)


def test_revoking_a_grant_already_revoked_changes_nothing(clerk, admin_user, teacher_a, vr_training):
    grant = factories.grant_qualification(user=teacher_a, qualification=vr_training)
    qualification_revoke(actor=clerk, grant=grant)
    before = written()

    qualification_revoke(actor=admin_user, grant=grant)

    assert written() == before


@pytest.mark.parametrize("persona", ["teacher_a", "teacher_b"])
def test_teachers_may_not_revoke_even_their_own(request, persona, teacher_a, vr_training):
    grant = factories.grant_qualification(user=teacher_a, qualification=vr_training)
    before = written()

    with pytest.raises(QualificationError) as refusal:
        qualification_revoke(actor=request.getfixturevalue(persona), grant=grant)

    assert refusal.value.code == "not_allowed"
    assert written() == before


# What a teacher holds --------------------------------------------------------------------------------


def test_qualifications_of_lists_valid_expired_and_coming_grants_by_name(teacher_a, teacher_b, vr_training):
    laser = factories.make_qualification(name="Lasercutter-Einweisung")
    drone = factories.make_qualification(name="Drohnenführerschein")
    factories.grant_qualification(user=teacher_a, qualification=vr_training, expires_on=IN_A_YEAR)
    factories.grant_qualification(user=teacher_a, qualification=laser, granted_on=datetime.date(2026, 1, 1),
                                  expires_on=TODAY - datetime.timedelta(days=1))
    factories.grant_qualification(user=teacher_a, qualification=drone, granted_on=TUESDAY)
    factories.grant_qualification(user=teacher_b, qualification=laser)

    grants = qualifications_of(teacher_a, today=TODAY)

    assert [(grant.qualification.name, grant.is_valid, grant.is_upcoming) for grant in grants] == [
        ("Drohnenführerschein", False, True),
        ("Lasercutter-Einweisung", False, False),
        ("VR-Schulung", True, False),
    ]


def test_a_grant_is_valid_up_to_and_including_its_expiry_day(teacher_a, vr_training):
    factories.grant_qualification(user=teacher_a, qualification=vr_training, expires_on=TODAY)

    assert [grant.is_valid for grant in qualifications_of(teacher_a, today=TODAY)] == [True]
    assert [grant.is_valid for grant in qualifications_of(teacher_a, today=TUESDAY)] == [False]


def test_qualifications_of_needs_one_query(teacher_a, vr_training, django_assert_num_queries):
    for _ in range(5):
        factories.grant_qualification(user=teacher_a, qualification=factories.make_qualification())

    with django_assert_num_queries(1):
        grants = qualifications_of(teacher_a, today=TODAY)
        [(grant.qualification.name, grant.granted_by) for grant in grants]


def test_the_grant_of_one_qualification(teacher_a, teacher_b, vr_training):
    factories.grant_qualification(user=teacher_a, qualification=vr_training, expires_on=IN_A_YEAR)

    assert qualification_grant_of(user=teacher_a, qualification=vr_training, today=TODAY).is_valid
    assert qualification_grant_of(user=teacher_b, qualification=vr_training, today=TODAY) is None
    assert qualification_grant_of(user=AnonymousUser(), qualification=vr_training, today=TODAY) is None
    assert qualification_grant_of(user=teacher_a, qualification=None, today=TODAY) is None
    assert qualifications_of(AnonymousUser(), today=TODAY) == []


# What the booking rules make of it -------------------------------------------------------------------


def book_headset(teacher, vr_headset, pickup_day=NEXT_TUESDAY):
    return factories.book(borrower=teacher, lines={vr_headset: 1}, pickup_day=pickup_day,
                          return_day=pickup_day + datetime.timedelta(days=1))


def test_a_booking_needing_the_qualification_goes_through_once_it_is_granted(clerk, teacher_a, vr_headset,
                                                                              vr_training):
    with pytest.raises(BookingError) as refusal:
        book_headset(teacher_a, vr_headset)
    assert refusal.value.code == "qualification_missing"

    qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TODAY,
                        expires_on=IN_A_YEAR)

    reservation = book_headset(teacher_a, vr_headset)
    assert Reservation.objects.get() == reservation


def test_a_booking_is_refused_when_the_grant_expires_before_the_pickup_day(clerk, teacher_a, vr_headset,
                                                                           vr_training):
    qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TODAY,
                        expires_on=NEXT_TUESDAY - datetime.timedelta(days=1))

    book_headset(teacher_a, vr_headset, pickup_day=TUESDAY)  # still valid then
    with pytest.raises(BookingError) as refusal:
        book_headset(teacher_a, vr_headset, pickup_day=NEXT_TUESDAY)

    assert refusal.value.code == "qualification_missing"
    assert Reservation.objects.count() == 1


def test_a_renewal_lets_the_teacher_book_again(clerk, teacher_a, vr_headset, vr_training):
    factories.grant_qualification(user=teacher_a, qualification=vr_training, granted_on=datetime.date(2025, 3, 1),
                                  expires_on=datetime.date(2026, 3, 1))
    with pytest.raises(BookingError):
        book_headset(teacher_a, vr_headset)

    qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TODAY,
                        expires_on=IN_A_YEAR)

    assert book_headset(teacher_a, vr_headset).pk


def test_a_booking_is_refused_once_the_grant_is_revoked(clerk, teacher_a, vr_headset, vr_training):
    grant = qualification_grant(actor=clerk, user=teacher_a, qualification=vr_training, granted_on=TODAY)
    book_headset(teacher_a, vr_headset)

    qualification_revoke(actor=clerk, grant=grant)

    with pytest.raises(BookingError) as refusal:
        book_headset(teacher_a, vr_headset, pickup_day=NEXT_WEDNESDAY)
    assert refusal.value.code == "qualification_missing"
    assert Reservation.objects.count() == 1


def test_a_teacher_who_became_staff_keeps_their_grants_but_gets_no_renewal(clerk, admin_user, teacher_a, vr_training):
    # A teacher who becomes counter staff keeps their grants, but no new ones are given.
    qualification_grant(actor=admin_user, user=teacher_a, qualification=vr_training, granted_on=TODAY)
    teacher_a.role = Role.STAFF
    teacher_a.save()

    refused("not_a_teacher", actor=admin_user, user=teacher_a, qualification=vr_training, granted_on=TODAY)
    assert QualificationGrant.objects.filter(user=teacher_a).exists()


# Two clerks at once ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_clerks_granting_the_same_qualification_at_once_leave_one_grant():
    # Without the lock on the teacher, each would find no grant and all but one insert would
    # fail on the unique constraint (seen on PostgreSQL).
    teacher = factories.make_user(schools=[factories.make_school()])
    qualification = factories.make_qualification()
    clerks = [factories.make_user(role=Role.STAFF) for _ in range(8)]
    barrier = threading.Barrier(len(clerks))
    outcomes = [None] * len(clerks)

    def grant(index, clerk):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = qualification_grant(actor=clerk, user=teacher, qualification=qualification,
                                                  granted_on=TODAY).pk
        except BaseException as error:  # noqa: BLE001 - every failure is reported by the assertion below
            outcomes[index] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=grant, args=(index, clerk)) for index, clerk in enumerate(clerks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    grant_row = QualificationGrant.objects.get()
    assert outcomes == [grant_row.pk] * len(clerks)
    assert LogEntry.objects.filter(action_flag=ADDITION).count() == 1

"""manage.py purge_personal_data: after the retention period a finished loan no longer names its
borrower; open damage cases and recent loans keep the link; a dry run changes nothing."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.api_tokens import api_token_create
from accounts.models import ApiToken
from accounts.services import personal_data_purge
from catalog.models import Unit
from lending.models import (
    DamageReport,
    Handover,
    IdempotencyKey,
    Reservation,
    ReservationEvent,
    ReservationStatus,
    UnitEvent,
)
from tests import factories
from tests.lending.conftest import BERLIN, MONDAY

TODAY = MONDAY.date()  # Monday 1 March 2027
DAYS = 365
CUTOFF = TODAY - datetime.timedelta(days=DAYS)  # loans that ended before this day are purged


@pytest.fixture(autouse=True)
def monday(time_machine):
    time_machine.move_to(MONDAY, tick=False)


def at(day, hour=10):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=BERLIN)


@pytest.fixture
def loans(location, school_a, teacher_a, teacher_b, clerk, item_type):
    units = list(Unit.objects.filter(item_type=item_type).order_by("pk"))

    def loan(name, *, status=ReservationStatus.RETURNED, return_day, borrower=teacher_a, returned_at=None):
        reservation = factories.make_reservation(
            location=location, school=school_a, borrower=borrower, lines={item_type: 1}, status=status,
            pickup_day=return_day - datetime.timedelta(days=7), return_day=return_day,
        )
        Reservation.objects.filter(pk=reservation.pk).update(note=f"{name}: bitte Frau Adler anrufen")
        ReservationEvent.objects.create(reservation=reservation, actor=borrower, action="created")
        ReservationEvent.objects.create(reservation=reservation, actor=clerk, action="scanned")
        if status == ReservationStatus.RETURNED:
            unit = units[0]
            Handover.objects.create(
                reservation=reservation, unit=unit, handed_out_by=clerk, handed_out_at=at(reservation.pickup_day),
                returned_by=clerk, returned_at=returned_at or at(return_day), return_condition="complete",
            )
            UnitEvent.objects.create(unit=unit, actor=clerk, action="handed_out",
                                     data={"reservation": reservation.code})
            UnitEvent.objects.create(unit=unit, actor=borrower, action="damage_reported",
                                     data={"reservation": reservation.code, "report": 0})
        return reservation

    return {
        "old": loan("old", return_day=CUTOFF - datetime.timedelta(days=30)),
        "just_old_enough": loan("just", return_day=CUTOFF - datetime.timedelta(days=1)),
        "exactly_the_period": loan("exact", return_day=CUTOFF),
        "recent": loan("recent", return_day=TODAY - datetime.timedelta(days=100)),
        "returned_late_recently": loan("late", return_day=CUTOFF - datetime.timedelta(days=60),
                                       returned_at=at(TODAY - datetime.timedelta(days=20))),
        "cancelled": loan("cancelled", status=ReservationStatus.CANCELLED,
                          return_day=CUTOFF - datetime.timedelta(days=2)),
        "no_show": loan("no-show", status=ReservationStatus.NO_SHOW, return_day=CUTOFF - datetime.timedelta(days=2),
                        borrower=teacher_b),
        "open_damage": loan("damage", return_day=CUTOFF - datetime.timedelta(days=90)),
        "confirmed_long_ago": loan("confirmed", status=ReservationStatus.CONFIRMED,
                                   return_day=CUTOFF - datetime.timedelta(days=90)),
    }


@pytest.fixture
def open_report(loans, teacher_a):
    return DamageReport.objects.create(
        reservation=loans["open_damage"], kind="loss", description="Koffer fehlt", reported_by=teacher_a,
        source=DamageReport.Source.TEACHER,
    )


def state():
    """Every column the purge may change."""
    return (
        list(Reservation.objects.order_by("pk").values_list("pk", "borrower_id", "note")),
        list(ReservationEvent.objects.order_by("pk").values_list("pk", "actor_id")),
        list(UnitEvent.objects.order_by("pk").values_list("pk", "actor_id")),
        list(Handover.objects.order_by("pk").values_list("pk", "handed_out_by_id", "returned_by_id")),
        list(DamageReport.objects.order_by("pk").values_list("pk", "reported_by_id", "status")),
    )


def purge(*arguments):
    output = io.StringIO()
    call_command("purge_personal_data", *arguments, stdout=output)
    return output.getvalue()


def forgotten(reservation):
    reservation.refresh_from_db()
    return reservation.borrower_id is None


PURGED = {"old", "just_old_enough", "cancelled", "no_show"}


def test_it_forgets_the_borrower_of_loans_that_ended_before_the_retention_period(loans, open_report, teacher_a, clerk):
    result = personal_data_purge(older_than_days=DAYS, today=TODAY)

    assert {name for name, reservation in loans.items() if forgotten(reservation)} == PURGED
    assert result.reservations == len(PURGED)
    old = loans["old"]
    assert old.note == ""
    # The borrower no longer appears as the one who acted; the counter staff still do.
    assert list(old.events.order_by("pk").values_list("actor_id", flat=True)) == [None, clerk.pk]
    assert list(UnitEvent.objects.filter(data__reservation=old.code).order_by("pk")
                .values_list("actor_id", flat=True)) == [clerk.pk, None]
    assert list(old.handovers.values_list("handed_out_by_id", "returned_by_id")) == [(clerk.pk, clerk.pk)]
    # What was kept still names teacher A.
    recent = loans["recent"]
    assert recent.note.startswith("recent")
    assert set(recent.events.values_list("actor_id", flat=True)) == {teacher_a.pk, clerk.pk}
    assert UnitEvent.objects.filter(data__reservation=recent.code, actor=teacher_a).exists()


def test_an_open_damage_case_keeps_the_link_until_it_is_settled(loans, open_report, teacher_a):
    result = personal_data_purge(older_than_days=DAYS, today=TODAY)

    assert result.kept_for_open_damage_cases == 1
    assert not forgotten(loans["open_damage"])
    open_report.refresh_from_db()
    assert open_report.reported_by == teacher_a

    DamageReport.objects.filter(pk=open_report.pk).update(status=DamageReport.Status.SETTLED, settled_at=timezone.now())
    result = personal_data_purge(older_than_days=DAYS, today=TODAY)

    assert (result.reservations, result.damage_reports, result.kept_for_open_damage_cases) == (1, 1, 0)
    assert forgotten(loans["open_damage"])
    open_report.refresh_from_db()
    assert open_report.reported_by is None
    assert DamageReport.objects.filter(pk=open_report.pk, description="Koffer fehlt").exists()


def test_a_loan_returned_late_counts_from_the_day_it_came_back(loans):
    personal_data_purge(older_than_days=DAYS, today=TODAY)
    assert not forgotten(loans["returned_late_recently"])

    personal_data_purge(older_than_days=10, today=TODAY)
    assert forgotten(loans["returned_late_recently"])


def test_a_dry_run_changes_nothing_and_counts_what_a_real_run_changes(loans, open_report):
    before = state()

    output = purge("--days", str(DAYS), "--dry-run")

    assert state() == before
    assert "Dry run" in output
    dry = personal_data_purge(older_than_days=DAYS, today=TODAY, dry_run=True)
    real = personal_data_purge(older_than_days=DAYS, today=TODAY)
    assert dry == real
    assert (real.reservations, real.reservation_events, real.unit_events, real.handovers) == (4, 4, 2, 0)
    assert f"{real.reservations} booking(s)" in output


def test_running_it_again_changes_nothing_more(loans, open_report):
    purge("--days", str(DAYS))
    after_first_run = state()

    output = purge("--days", str(DAYS))

    assert state() == after_first_run
    assert "  0 booking(s): removed the borrower" in output


def test_without_days_it_uses_the_setting(loans, settings):
    settings.PERSONAL_DATA_RETENTION_DAYS = 50

    output = purge()

    assert "(50 days)" in output
    assert forgotten(loans["recent"])  # returned 100 days ago


def test_the_borrowers_own_handover_links_go_too(loans, teacher_a):
    """A staff member who lent to themselves is the borrower: that link goes as well."""
    Handover.objects.filter(reservation=loans["old"]).update(handed_out_by=teacher_a)

    result = personal_data_purge(older_than_days=DAYS, today=TODAY)

    assert result.handovers == 1
    assert list(loans["old"].handovers.values_list("handed_out_by_id", flat=True)) == [None]


@pytest.mark.parametrize("arguments", [["--days", "-1"], ["--days", "ein Jahr"]])
def test_bad_arguments_are_refused_clearly(db, arguments):
    with pytest.raises(CommandError):
        purge(*arguments)


def test_expired_api_tokens_are_deleted(clerk):
    expired, _ = api_token_create(user=clerk, name="Alt", scope="read", valid_days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    current, _ = api_token_create(user=clerk, name="Neu", scope="read", valid_days=30)
    forever, _ = api_token_create(user=clerk, name="Kiosk", scope="read")

    assert "  1 expired API token(s): would remove" in purge("--dry-run")
    assert ApiToken.objects.count() == 3
    purge()
    assert set(ApiToken.objects.values_list("pk", flat=True)) == {current.pk, forever.pk}


def test_stored_api_answers_are_forgotten_after_a_week(teacher_a):
    now = timezone.now()
    old = IdempotencyKey.objects.create(user=teacher_a, key="alt", endpoint="return", status_code=200, response={},
                                        created_at=now - datetime.timedelta(days=8))
    recent = IdempotencyKey.objects.create(user=teacher_a, key="neu", endpoint="return", status_code=200,
                                           response={}, created_at=now - datetime.timedelta(days=6))

    dry = purge("--dry-run")
    assert "  1 API idempotency key(s) older than 7 days: would remove" in dry
    assert IdempotencyKey.objects.count() == 2

    purge()
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()

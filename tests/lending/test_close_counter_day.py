import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from lending.availability import availability
from lending.models import Reservation, ReservationEvent, ReservationStatus
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY, travel_to


def close(*arguments):
    output = io.StringIO()
    call_command("close_counter_day", *arguments, stdout=output)
    return output.getvalue()


def test_it_marks_bookings_not_picked_up_and_frees_their_units(teacher_a, item_type, time_machine):
    missed = factories.book(borrower=teacher_a, lines={item_type.pk: 2}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    later = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_WEDNESDAY,
                           return_day=NEXT_WEDNESDAY, pickup_slot=datetime.time(10, 0))
    travel_to(time_machine, NEXT_TUESDAY, hour=18)

    output = close()

    missed.refresh_from_db()
    later.refresh_from_db()
    assert missed.status == ReservationStatus.NO_SHOW
    assert later.status == ReservationStatus.CONFIRMED
    assert ReservationEvent.objects.filter(reservation=missed, action=ReservationEvent.Action.NO_SHOW).count() == 1
    assert missed.code in output and "1 " in output
    free = availability(item_type_ids=[item_type.pk], first_day=NEXT_TUESDAY, last_day=NEXT_TUESDAY,
                        today=NEXT_TUESDAY)[item_type.pk]
    assert free.on(NEXT_TUESDAY).free == 3


def test_running_it_twice_marks_nothing_more(teacher_a, item_type, time_machine):
    factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    travel_to(time_machine, NEXT_TUESDAY, hour=18)
    close()
    assert "0 " in close()
    assert Reservation.objects.filter(status=ReservationStatus.NO_SHOW).count() == 1


@pytest.mark.parametrize("arguments", [["--day", "gestern"], ["--location", "gibt-es-nicht"]])
def test_bad_arguments_are_refused_clearly(db, arguments):
    with pytest.raises(CommandError):
        close(*arguments)

"""Reads of the lending domain. Object access goes through here: what a user may not see is 404."""

from django.db.models import Prefetch
from django.http import Http404

from lending.models import Reservation, ReservationLine, ReservationStatus
from lending.secrets import normalise_booking_code


def _with_lines(reservations):
    return reservations.select_related("school", "location").prefetch_related(
        Prefetch("lines", queryset=ReservationLine.objects.select_related("item_type"))
    )


def reservation_get_for_user(*, user, code):
    """The reservation with this code if `user` may see it (its borrower, or counter staff); else 404."""
    code = normalise_booking_code(code or "")
    if not user.is_authenticated or not code:
        raise Http404
    reservations = _with_lines(Reservation.objects.filter(code=code))
    if not user.is_counter_staff:
        reservations = reservations.filter(borrower=user)
    reservation = reservations.first()
    if reservation is None:
        raise Http404
    return reservation


def reservations_of_borrower(*, borrower, today):
    """A borrower's reservations split as "My bookings" shows them: upcoming, on loan, past."""
    reservations = list(_with_lines(Reservation.objects.filter(borrower=borrower)).order_by("pickup_day", "id"))
    upcoming = [r for r in reservations if r.status == ReservationStatus.CONFIRMED and r.pickup_day >= today]
    on_loan = [r for r in reservations if r.status == ReservationStatus.HANDED_OUT]
    past = [r for r in reservations if r not in upcoming and r not in on_loan]
    past.reverse()
    return {"upcoming": upcoming, "on_loan": on_loan, "past": past}

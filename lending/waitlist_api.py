"""The waiting list in the API (/api/v1/waitlist/): a teacher joins after a refusal, sees her
places and offers, books an offer, or leaves (lending/waitlist.py; the same codes as the pages)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.models import School
from catalog.models import ItemType
from lending.api import ApiView, booking_error_response, valid_input
from lending.exceptions import BookingError
from lending.selectors import waitlist_entry_get_for_user, waitlist_of_borrower
from lending.serializers import (
    ErrorSerializer,
    ReservationOutputSerializer,
    WaitlistEntrySerializer,
    WaitlistJoinInputSerializer,
)
from lending.waitlist import waitlist_join, waitlist_leave, waitlist_offer_book


def _entry_out(user, entry):
    """The entry as it stands now, with its place in line (one query)."""
    return WaitlistEntrySerializer(waitlist_entry_get_for_user(user=user, pk=entry.pk)).data


class WaitlistApi(ApiView):
    """GET: the caller's open places on the waiting list (waiting or offered); POST: join."""

    @extend_schema(responses={200: WaitlistEntrySerializer(many=True), 403: ErrorSerializer})
    def get(self, request):
        return Response(WaitlistEntrySerializer(waitlist_of_borrower(borrower=request.user), many=True).data)

    @extend_schema(request=WaitlistJoinInputSerializer,
                   responses={201: WaitlistEntrySerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              409: ErrorSerializer})
    def post(self, request):
        data = valid_input(WaitlistJoinInputSerializer, request.data)
        reference = data["item_type"]
        item_type = ItemType.objects.filter(**({"slug": reference} if isinstance(reference, str)
                                               else {"pk": reference})).first()
        if item_type is None:
            return booking_error_response(BookingError("quantity_invalid"))
        try:
            entry = waitlist_join(
                borrower=request.user, school=School.objects.filter(pk=data["school"]).first(), item_type=item_type,
                quantity=data["quantity"], pickup_day=data["pickup_day"], pickup_slot=data["pickup_slot"],
                return_day=data["return_day"],
            )
        except BookingError as error:
            return booking_error_response(error)
        return Response(_entry_out(request.user, entry), status=status.HTTP_201_CREATED)


class WaitlistEntryApi(ApiView):
    """GET: one of the caller's places; DELETE: leave the list (or decline the offer)."""

    @extend_schema(responses={200: WaitlistEntrySerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, pk):
        return Response(WaitlistEntrySerializer(waitlist_entry_get_for_user(user=request.user, pk=pk)).data)

    @extend_schema(responses={200: WaitlistEntrySerializer, 403: ErrorSerializer, 404: ErrorSerializer,
                              409: ErrorSerializer})
    def delete(self, request, pk):
        entry = waitlist_entry_get_for_user(user=request.user, pk=pk)
        try:
            entry = waitlist_leave(entry=entry, actor=request.user)
        except BookingError as error:
            return booking_error_response(error)
        return Response(WaitlistEntrySerializer(entry).data)


class WaitlistBookApi(ApiView):
    """POST: book the offer, through the booking service with all its rules."""

    @extend_schema(request=None, responses={201: ReservationOutputSerializer, 403: ErrorSerializer, 404: ErrorSerializer,
                                            409: ErrorSerializer})
    def post(self, request, pk):
        entry = waitlist_entry_get_for_user(user=request.user, pk=pk)
        try:
            reservation = waitlist_offer_book(entry=entry, actor=request.user)
        except BookingError as error:
            return booking_error_response(error)
        return Response(ReservationOutputSerializer(reservation).data, status=status.HTTP_201_CREATED)

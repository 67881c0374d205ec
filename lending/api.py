"""The lending API under /api/v1/: one view per action, thin like the pages.

Refusals answer with the BookingError's HTTP status and `{"code": ..., "message": ...}`, the
message translated into the request's language.
"""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import School
from lending.exceptions import BookingError
from lending.serializers import ReservationCreateInputSerializer, ReservationOutputSerializer
from lending.services import reservation_create


def booking_error_response(error):
    return Response({"code": error.code, "message": str(error.message)}, status=error.http_status)


class ReservationCreateApi(APIView):
    def post(self, request):
        serializer = ReservationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # An unknown school is the borrower's problem, not a missing object: same code as the pages.
        school = School.objects.filter(pk=data["school"]).first()
        try:
            reservation = reservation_create(
                borrower=request.user, school=school, pickup_day=data["pickup_day"],
                pickup_slot=data["pickup_slot"], return_day=data["return_day"],
                lines=[(line["item_type"], line["quantity"]) for line in data["lines"]], note=data["note"],
            )
        except BookingError as error:
            return booking_error_response(error)
        return Response(ReservationOutputSerializer(reservation).data, status=status.HTTP_201_CREATED)

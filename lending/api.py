"""The API under /api/v1/: one view per action, thin like the pages, the same services and rules.

Every refusal has one shape: `{"code": ..., "detail": ..., "fields": {...}}` with 400, 403, 404
or 409 — a BookingError's code, message and status, or for invalid input `code: "invalid"` with
the fields' messages (`api_exception_handler`). Messages are in the request's language.
"""


from django.db import IntegrityError, transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.models import School
from catalog.models import ItemType, Unit
from catalog.selectors import counter_days, item_types_visible
from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import IdempotencyKey
from lending.scanning import scan_hosts
from lending.selectors import (
    counter_location_get,
    item_types_free_between,
    reservation_get_for_user,
    reservations_visible_to,
)
from lending.serializers import (
    AvailabilityDaySerializer,
    AvailabilityQuerySerializer,
    CounterHandoverInputSerializer,
    CounterReturnInputSerializer,
    CounterReturnOutputSerializer,
    CounterScanInputSerializer,
    CounterScanOutputSerializer,
    ErrorSerializer,
    ItemTypeQuerySerializer,
    ItemTypeSerializer,
    ReservationChangeInputSerializer,
    ReservationCreateInputSerializer,
    ReservationOutputSerializer,
    ReservationQuerySerializer,
)
from lending.services import (
    counter_scan,
    handover_assign_unit,
    handover_complete,
    reservation_cancel,
    reservation_change,
    reservation_create,
    takeback_unit,
)


def _valid(serializer_class, data):
    """The validated input, or a 400 in the API's error shape (through api_exception_handler)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def booking_error_response(error):
    return Response({"code": error.code, "detail": str(error.message), "fields": {}}, status=error.http_status)


def api_exception_handler(exc, context):
    """DRF's errors in the API's one shape (settings.REST_FRAMEWORK["EXCEPTION_HANDLER"])."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"code": "invalid", "detail": _("The request is invalid; see fields."), "fields": fields}
    else:
        # DRF has turned Django's Http404 and PermissionDenied into its own by now.
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {"code": getattr(detail, "code", None) or "error", "detail": str(detail), "fields": {}}
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.status_code = status.HTTP_403_FORBIDDEN  # session auth: no WWW-Authenticate to offer
    return response


class ItemTypeListApi(APIView):
    permission_classes = [AllowAny]  # the catalogue is public, as on the pages

    @extend_schema(parameters=[ItemTypeQuerySerializer], responses={200: ItemTypeSerializer(many=True),
                                                                    400: ErrorSerializer})
    def get(self, request):
        data = _valid(ItemTypeQuerySerializer, request.query_params)
        item_types = item_types_visible(search=data.get("search", ""), category=data.get("category"))
        if data.get("location"):
            item_types = item_types.filter(location__slug=data["location"])
        item_types = list(item_types)
        if data.get("free_from"):
            item_types = item_types_free_between(
                item_types, first_day=data["free_from"], last_day=data["free_to"], today=timezone.localdate()
            )
        return Response(ItemTypeSerializer(item_types, many=True).data)


class ItemTypeDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ItemTypeSerializer, 404: ErrorSerializer})
    def get(self, request, slug):
        item_type = get_object_or_404(item_types_visible(), slug=slug)
        return Response(ItemTypeSerializer(item_type).data)


class AvailabilityApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[AvailabilityQuerySerializer],
                   responses={200: AvailabilityDaySerializer(many=True), 400: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request):
        data = _valid(AvailabilityQuerySerializer, request.query_params)
        item_type = get_object_or_404(ItemType.objects.select_related("location"), slug=data["item_type"])
        first_day, last_day = data["from"], data["to"]
        free = availability(item_type_ids=[item_type.pk], first_day=first_day, last_day=last_day,
                            today=timezone.localdate())[item_type.pk]
        days = {day.day: day for day in counter_days(location=item_type.location, first_day=first_day,
                                                     last_day=last_day)}
        rows = [
            {"day": day, "loanable": counts.loanable, "held": counts.held, "free": counts.free,
             "counter_day": days[day].is_open, "closure": days[day].closure_reason or ""}
            for day, counts in free.days()
        ]
        return Response(AvailabilityDaySerializer(rows, many=True).data)


class ReservationPagination(PageNumberPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class ReservationCreateApi(APIView):
    """GET: the caller's bookings (staff: those of their counters); POST: book."""

    @extend_schema(parameters=[ReservationQuerySerializer],
                   responses={200: ReservationOutputSerializer(many=True), 400: ErrorSerializer})
    def get(self, request):
        data = _valid(ReservationQuerySerializer, request.query_params)
        reservations = reservations_visible_to(user=request.user)
        if data.get("day"):
            reservations = reservations.filter(Q(pickup_day=data["day"]) | Q(return_day=data["day"]))
        if data.get("status"):
            reservations = reservations.filter(status=data["status"])
        paginator = ReservationPagination()
        page = paginator.paginate_queryset(reservations.order_by("pickup_day", "pickup_slot", "pk"), request, view=self)
        return paginator.get_paginated_response(ReservationOutputSerializer(page, many=True).data)

    @extend_schema(request=ReservationCreateInputSerializer,
                   responses={201: ReservationOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              409: ErrorSerializer})
    def post(self, request):
        data = _valid(ReservationCreateInputSerializer, request.data)
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


class ReservationDetailApi(APIView):
    """One booking of the caller (staff: of their counters); PATCH changes days, slot or lines
    through reservation_change. Nothing else can be set: borrower, status and school are not
    fields of the request."""

    @extend_schema(responses={200: ReservationOutputSerializer, 404: ErrorSerializer})
    def get(self, request, code):
        return Response(ReservationOutputSerializer(reservation_get_for_user(user=request.user, code=code)).data)

    @extend_schema(request=ReservationChangeInputSerializer,
                   responses={200: ReservationOutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer,
                              409: ErrorSerializer})
    def patch(self, request, code):
        reservation = reservation_get_for_user(user=request.user, code=code)
        data = _valid(ReservationChangeInputSerializer, request.data)
        lines = data.get("lines")
        try:
            reservation = reservation_change(
                reservation=reservation, actor=request.user, pickup_day=data.get("pickup_day"),
                pickup_slot=data.get("pickup_slot"), return_day=data.get("return_day"),
                lines=None if lines is None else [(line["item_type"], line["quantity"]) for line in lines],
            )
        except BookingError as error:
            return booking_error_response(error)
        return Response(ReservationOutputSerializer(reservation_get_for_user(user=request.user, code=code)).data)


class ReservationCancelApi(APIView):
    @extend_schema(request=None, responses={200: ReservationOutputSerializer, 404: ErrorSerializer,
                                            409: ErrorSerializer})
    def post(self, request, code):
        reservation = reservation_get_for_user(user=request.user, code=code)
        try:
            reservation = reservation_cancel(reservation=reservation, actor=request.user)
        except BookingError as error:
            return booking_error_response(error)
        return Response(ReservationOutputSerializer(reservation).data)




class CounterScanApi(APIView):
    """What a scan at a counter finds and what comes next, as on the counter page (counter_scan):
    a handheld scanner script posts the text it read. Staff of that counter only (403)."""

    @extend_schema(request=CounterScanInputSerializer,
                   responses={200: CounterScanOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request):
        data = _valid(CounterScanInputSerializer, request.data)
        location = counter_location_get(user=request.user, slug=data["location"])
        at_desk = reservation_get_for_user(user=request.user, code=data["booking"]) if data.get("booking") else None
        try:
            outcome = counter_scan(actor=request.user, location=location, raw=data["code"], hosts=scan_hosts(request),
                                   at_desk=at_desk)
        except BookingError as error:
            return booking_error_response(error)
        return Response(CounterScanOutputSerializer({
            "step": outcome.step,
            "reservation": outcome.reservation.code if outcome.reservation else None,
            "unit": outcome.unit.asset_tag if outcome.unit else None,
        }).data)


def _idempotent(request, *, endpoint, action):
    """Answer `action()` once per Idempotency-Key header (or `idempotency_key` field) and user: a
    retried request gets the stored answer and changes nothing again. The key row is written in
    the same transaction as the action, so a crash leaves neither; a second request with the same
    key waits for the first (the unique index) and then reads its answer."""
    key = request.headers.get("Idempotency-Key") or request.data.get("idempotency_key")
    if not key or len(str(key)) > 100:
        return Response({"code": "invalid", "detail": _("Send an Idempotency-Key of at most 100 characters."),
                         "fields": {"idempotency_key": [_("This field is required.")]}}, status=400)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(user=request.user, key=str(key), endpoint=endpoint)
        except IntegrityError:
            stored = IdempotencyKey.objects.get(user=request.user, key=str(key))
            if stored.endpoint != endpoint or stored.status_code is None:
                return Response({"code": "idempotency_key_reused", "fields": {},
                                 "detail": _("This Idempotency-Key was used for another request.")}, status=409)
            return Response(stored.response, status=stored.status_code)
        response = action()
        record.status_code, record.response = response.status_code, response.data
        record.save(update_fields=["status_code", "response"])
    return response


class CounterHandoverApi(APIView):
    """Assign a scanned unit to a booking at a counter (handover_assign_unit), and with
    `"complete": true` confirm the hand-over (handover_complete). Idempotent per key."""

    @extend_schema(request=CounterHandoverInputSerializer,
                   responses={200: ReservationOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request):
        data = _valid(CounterHandoverInputSerializer, request.data)
        location = counter_location_get(user=request.user, slug=data["location"])
        reservation = reservation_get_for_user(user=request.user, code=data["booking"])
        if reservation.location_id != location.pk:
            return booking_error_response(BookingError("scan_other_location"))
        unit = get_object_or_404(Unit, asset_tag=data["unit"], item_type__location=location) if data.get("unit") else None

        def action():
            try:
                if unit is not None:
                    handover_assign_unit(reservation=reservation, unit=unit, actor=request.user)
                if data["complete"]:
                    handover_complete(reservation=reservation, actor=request.user)
            except BookingError as error:
                return booking_error_response(error)
            return Response(ReservationOutputSerializer(
                reservation_get_for_user(user=request.user, code=reservation.code)).data)

        return _idempotent(request, endpoint="handover", action=action)


class CounterReturnApi(APIView):
    """Take a unit back at a counter with its condition (takeback_unit). Idempotent per key."""

    @extend_schema(request=CounterReturnInputSerializer,
                   responses={200: CounterReturnOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request):
        data = _valid(CounterReturnInputSerializer, request.data)
        location = counter_location_get(user=request.user, slug=data["location"])
        unit = get_object_or_404(Unit, asset_tag=data["unit"], item_type__location=location)

        def action():
            try:
                handover = takeback_unit(unit=unit, actor=request.user, condition=data["condition"],
                                         note=data["note"])
            except BookingError as error:
                return booking_error_response(error)
            return Response(CounterReturnOutputSerializer({
                "unit": unit.asset_tag, "condition": data["condition"], "late": handover.returned_late,
                "reservation": handover.reservation.code, "reservation_status": handover.reservation.status,
            }).data)

        return _idempotent(request, endpoint="return", action=action)

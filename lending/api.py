"""The API under /api/v1/: one view per action, thin like the pages, the same services and rules.

Every refusal has one shape: `{"code": ..., "detail": ..., "fields": {...}}` with 400, 403, 404
or 409 — a BookingError's code, message and status, or for invalid input `code: "invalid"` with
the fields' messages (`api_exception_handler`). Messages are in the request's language.
"""


from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.models import School, User
from catalog.models import ItemType, Unit
from catalog.selectors import counter_days, item_type_page_row, item_types_visible
from catalog.versions import cached, catalogue_version
from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import IdempotencyKey
from lending.scanning import scan_hosts
from lending.selectors import (
    colleagues_of,
    counter_location_get,
    item_types_free_between,
    reservation_get_for_user,
    reservations_visible_to,
    staff_locations,
    units_at_counters,
)
from lending.serializers import (
    DAMAGE_REPORT_ORDERINGS,
    ITEM_TYPE_ORDERINGS,
    RESERVATION_ORDERINGS,
    UNIT_ORDERINGS,
    AvailabilityDaySerializer,
    AvailabilityQuerySerializer,
    CounterHandoverInputSerializer,
    CounterReturnInputSerializer,
    CounterReturnOutputSerializer,
    CounterScanInputSerializer,
    CounterScanOutputSerializer,
    DamageReportQuerySerializer,
    DamageReportSerializer,
    DamageReportSettleInputSerializer,
    ErrorSerializer,
    ItemTypeQuerySerializer,
    ItemTypeSerializer,
    ColleagueSerializer,
    PageQuerySerializer,
    ReservationCancelInputSerializer,
    ReservationColleagueInputSerializer,
    ReservationChangeInputSerializer,
    ReservationCreateInputSerializer,
    ReservationOutputSerializer,
    ReservationQuerySerializer,
    UnitQuerySerializer,
    UnitSerializer,
)
from lending.services import (
    counter_scan,
    damage_report_settle,
    handover_assign_unit,
    handover_complete,
    reservation_cancel,
    reservation_change,
    reservation_create,
    reservation_name_colleague,
    takeback_unit,
)
from lending.statistics import damage_reports_at_counters


def valid_input(serializer_class, data):
    """The validated input, or a 400 in the API's error shape (through api_exception_handler).

    Query parameters are checked as a plain dict, not as DRF's HTML form input: there `?status=`
    would silently mean "no filter"; here an empty value is refused like any other invalid one.
    """
    if isinstance(data, QueryDict):
        data = data.dict()
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _booking_lines(lines):
    """[(item type id, quantity)] for the booking service from validated lines, whose item types
    are ids or slugs: the slugs are looked up in one query. An unknown slug is a 400 on its line;
    an unknown id is left to the service (quantity_invalid, as on the pages)."""
    slugs = {line["item_type"] for line in lines if isinstance(line["item_type"], str)}
    ids = dict(ItemType.objects.filter(slug__in=slugs).values_list("slug", "pk")) if slugs else {}
    unknown = {str(index): {"item_type": [_("There is no item with this name.")]}
               for index, line in enumerate(lines)
               if isinstance(line["item_type"], str) and line["item_type"] not in ids}
    if unknown:
        raise exceptions.ValidationError({"lines": unknown})
    return [(ids.get(line["item_type"], line["item_type"]), line["quantity"]) for line in lines]


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
    elif response.status_code == status.HTTP_404_NOT_FOUND:
        # The same words for everything missing or not yours (not "No DamageReport matches …").
        response.data = {"code": "not_found", "detail": _("Not found."), "fields": {}}
    else:
        # DRF has turned Django's PermissionDenied into its own by now.
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {"code": getattr(detail, "code", None) or "error", "detail": str(detail), "fields": {}}
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        # Missing or wrong credentials are refused like missing rights: 403, one shape for all.
        response.status_code = status.HTTP_403_FORBIDDEN
        del response["WWW-Authenticate"]
    return response


class ApiPagination(PageNumberPagination):
    """Every list of the API: `?page=` and `?page_size=` (at most 200); a page past the end is a 404."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def get_schema_operation_parameters(self, view):
        bounds = {"page": {"minimum": 1, "maximum": 10**6}, "page_size": {"minimum": 1, "maximum": self.max_page_size}}
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


def paginated(view, request, queryset, serializer_class):
    return Response(paginated_data(view, request, queryset, serializer_class))


def paginated_data(view, request, queryset, serializer_class):
    """One page of the list as the API answers it: count, next and previous links, results."""
    # DRF's paginator quietly ignores a `page_size` it cannot read; the API refuses it (400).
    valid_input(PageQuerySerializer, {name: request.query_params[name] for name in ("page", "page_size")
                                 if name in request.query_params})
    paginator = ApiPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data).data


class ApiView(APIView):
    """Every view of the API. A caller refused for missing or wrong credentials counts against
    the anonymous rate limit too: DRF checks the limits only after authentication and
    permissions, so without this a script guessing tokens would never be slowed down."""

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except (exceptions.NotAuthenticated, exceptions.AuthenticationFailed):
            self.check_throttles(request)  # 429 instead of 403 once over the limit
            raise


class ItemTypeListApi(ApiView):
    permission_classes = [AllowAny]  # the catalogue is public, as on the pages
    pagination_class = ApiPagination

    @extend_schema(parameters=[ItemTypeQuerySerializer], responses={200: ItemTypeSerializer(many=True),
                                                                    400: ErrorSerializer})
    def get(self, request):
        data = valid_input(ItemTypeQuerySerializer, request.query_params)

        def render():
            item_types = item_types_visible(search=data.get("search", ""), category=data.get("category"))
            if data.get("location"):
                item_types = item_types.filter(location__slug=data["location"])
            if data.get("ordering"):
                item_types = item_types.order_by(*ITEM_TYPE_ORDERINGS[data["ordering"]])
            if data.get("free_from"):
                # The engine answers for all of them at once (two queries), then the page is cut.
                item_types = item_types_free_between(
                    list(item_types), first_day=data["free_from"], last_day=data["free_to"],
                    today=timezone.localdate(),
                )
            return paginated_data(self, request, item_types, ItemTypeSerializer)

        # The same for every caller asking the same (the links in it name the host asked): built
        # once per catalogue version, like the catalogue page.
        return Response(cached("api-item-types", catalogue_version(), request.build_absolute_uri(), render=render))


class ItemTypeDetailApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ItemTypeSerializer, 404: ErrorSerializer})
    def get(self, request, slug):
        item_type = get_object_or_404(item_types_visible(), slug=slug)
        return Response(ItemTypeSerializer(item_type).data)


class AvailabilityApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[AvailabilityQuerySerializer],
                   responses={200: AvailabilityDaySerializer(many=True), 400: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request):
        data = valid_input(AvailabilityQuerySerializer, request.query_params)
        # The item and its counter's version in one short query; the rest only when not cached.
        row = item_type_page_row(slug=data["item_type"])
        if row is None:
            raise exceptions.NotFound()
        first_day, last_day = data["from"], data["to"]

        def render():
            item_type = ItemType.objects.select_related("location").get(pk=row.pk)
            free = availability(item_type_ids=[item_type.pk], first_day=first_day, last_day=last_day,
                                today=timezone.localdate())[item_type.pk]
            days = {day.day: day for day in counter_days(location=item_type.location, first_day=first_day,
                                                         last_day=last_day)}
            rows = [
                {"day": day, "loanable": counts.loanable, "held": counts.held, "free": counts.free,
                 "counter_day": days[day].is_open, "closure": days[day].closure_reason or ""}
                for day, counts in free.days()
            ]
            return AvailabilityDaySerializer(rows, many=True).data

        # Built once per version of the item's counter, as the item page's calendar.
        return Response(cached("api-availability", row.pk, row.location_version, first_day, last_day, render=render))


class ReservationCreateApi(ApiView):
    """GET: the caller's bookings (staff: those of their counters); POST: book."""

    pagination_class = ApiPagination  # read by the schema only: GET answers with a page

    @extend_schema(parameters=[ReservationQuerySerializer],
                   responses={200: ReservationOutputSerializer(many=True), 400: ErrorSerializer,
                              403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request):
        data = valid_input(ReservationQuerySerializer, request.query_params)
        reservations = reservations_visible_to(user=request.user, day=data.get("day"))
        if data.get("status"):
            reservations = reservations.filter(status=data["status"])
        reservations = reservations.order_by(*RESERVATION_ORDERINGS[data["ordering"]])
        return paginated(self, request, reservations, ReservationOutputSerializer)

    @extend_schema(request=ReservationCreateInputSerializer,
                   responses={201: ReservationOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              409: ErrorSerializer})
    def post(self, request):
        data = valid_input(ReservationCreateInputSerializer, request.data)
        # An unknown school is the borrower's problem, not a missing object: same code as the pages.
        school = School.objects.filter(pk=data["school"]).first()
        try:
            reservation = reservation_create(
                borrower=request.user, school=school, pickup_day=data["pickup_day"],
                pickup_slot=data.get("pickup_slot"), return_day=data["return_day"],
                lines=_booking_lines(data["lines"]), note=data["note"], fulfilment=data["fulfilment"],
            )
        except BookingError as error:
            return booking_error_response(error)
        return Response(ReservationOutputSerializer(reservation).data, status=status.HTTP_201_CREATED)


class ReservationDetailApi(ApiView):
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
        data = valid_input(ReservationChangeInputSerializer, request.data)
        lines = data.get("lines")
        try:
            reservation = reservation_change(
                reservation=reservation, actor=request.user, pickup_day=data.get("pickup_day"),
                pickup_slot=data.get("pickup_slot"), return_day=data.get("return_day"),
                lines=None if lines is None else _booking_lines(lines),
            )
        except BookingError as error:
            return booking_error_response(error)
        return Response(ReservationOutputSerializer(reservation_get_for_user(user=request.user, code=code)).data)


class ReservationCancelApi(ApiView):
    @extend_schema(request=ReservationCancelInputSerializer,
                   responses={200: ReservationOutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer,
                              409: ErrorSerializer})
    def post(self, request, code):
        reservation = reservation_get_for_user(user=request.user, code=code)
        data = valid_input(ReservationCancelInputSerializer, request.data)
        try:
            reservation = reservation_cancel(reservation=reservation, actor=request.user, reason=data["reason"])
        except BookingError as error:
            return booking_error_response(error)
        return Response(ReservationOutputSerializer(reservation).data)




class ReservationColleagueApi(ApiView):
    """The colleague who may pick up and return a booking for its borrower: GET lists whom the
    borrower may name (the other teachers of the booking's school), POST names one or, with
    null, nobody (reservation_name_colleague)."""

    @extend_schema(responses={200: ColleagueSerializer(many=True), 404: ErrorSerializer, 409: ErrorSerializer})
    def get(self, request, code):
        reservation = reservation_get_for_user(user=request.user, code=code)
        if reservation.borrower_id != request.user.pk and not request.user.is_counter_staff:
            return booking_error_response(BookingError("colleague_not_allowed"))
        return Response(ColleagueSerializer(colleagues_of(reservation), many=True).data)

    @extend_schema(request=ReservationColleagueInputSerializer,
                   responses={200: ReservationOutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer,
                              409: ErrorSerializer})
    def post(self, request, code):
        reservation = reservation_get_for_user(user=request.user, code=code)
        data = valid_input(ReservationColleagueInputSerializer, request.data)
        colleague = None
        if data["colleague"] is not None:
            colleague = User.objects.filter(pk=data["colleague"]).first()
            if colleague is None:
                return booking_error_response(BookingError("colleague_invalid"))
        try:
            reservation_name_colleague(reservation=reservation, actor=request.user, colleague=colleague)
        except BookingError as error:
            return booking_error_response(error)
        return Response(ReservationOutputSerializer(reservation_get_for_user(user=request.user, code=code)).data)


class CounterScanApi(ApiView):
    """What a scan at a counter finds and what comes next, as on the counter page (counter_scan):
    a handheld scanner script posts the text it read. Staff of that counter only (403); a
    read-only token may scan, as a kiosk that only shows what a code is."""

    lookup_only = True

    @extend_schema(request=CounterScanInputSerializer,
                   responses={200: CounterScanOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request):
        data = valid_input(CounterScanInputSerializer, request.data)
        location = counter_location_get(user=request.user, slug=data["location"])
        at_desk = None
        if data.get("reservation"):
            at_desk = reservation_get_for_user(user=request.user, code=data["reservation"])
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


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Required, here or as the body's idempotency_key: any unique text up to 100 characters "
                "(e.g. a UUID per scan). The same key again returns the first answer and changes nothing.",
)


def _idempotent(request, *, endpoint, action):
    """Answer `action()` once per Idempotency-Key header (or `idempotency_key` field) and user: a
    retried request gets the stored answer and changes nothing again. The key row is written in
    the same transaction as the action, so a crash leaves neither; a second request with the same
    key waits for the first (the unique index) and then reads its answer."""
    key = request.headers.get("Idempotency-Key") or request.data.get("idempotency_key")
    problem = (_("Send an Idempotency-Key header (or an idempotency_key field).") if not key
               else _("An Idempotency-Key has at most 100 characters.") if len(str(key)) > 100 else None)
    if problem:
        return Response({"code": "invalid", "detail": problem, "fields": {"idempotency_key": [problem]}}, status=400)
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


class CounterHandoverApi(ApiView):
    """Assign a scanned unit to a booking at a counter (handover_assign_unit), and with
    `"complete": true` confirm the hand-over (handover_complete). Idempotent per key."""

    @extend_schema(request=CounterHandoverInputSerializer, parameters=[IDEMPOTENCY_KEY],
                   responses={200: ReservationOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request):
        data = valid_input(CounterHandoverInputSerializer, request.data)
        location = counter_location_get(user=request.user, slug=data["location"])
        reservation = reservation_get_for_user(user=request.user, code=data["reservation"])
        if reservation.location_id != location.pk:
            return booking_error_response(BookingError("scan_other_location"))
        unit = None
        if data.get("unit"):
            unit = get_object_or_404(Unit, asset_tag=data["unit"], item_type__location=location)

        def action():
            try:
                if unit is not None:
                    handover_assign_unit(reservation=reservation, unit=unit, actor=request.user)
                if data["complete"]:
                    handover_complete(reservation=reservation, actor=request.user, collected_by=data["collected_by"])
            except BookingError as error:
                return booking_error_response(error)
            return Response(ReservationOutputSerializer(
                reservation_get_for_user(user=request.user, code=reservation.code)).data)

        return _idempotent(request, endpoint="handover", action=action)


class CounterReturnApi(ApiView):
    """Take a unit back at a counter with its condition (takeback_unit). Idempotent per key."""

    @extend_schema(request=CounterReturnInputSerializer, parameters=[IDEMPOTENCY_KEY],
                   responses={200: CounterReturnOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request):
        data = valid_input(CounterReturnInputSerializer, request.data)
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


# Staff: units, schools, damage reports -----------------------------------------------------------


class IsCounterStaff(BasePermission):
    """Counter staff and administrators; teachers get 403."""

    def has_permission(self, request, view):
        return request.user.is_authenticated and request.user.is_counter_staff


class CounterStaffApi(ApiView):
    """A view for counter staff only. It adds to the default permissions instead of replacing
    them, so signing in (and what a token may do) is still checked first."""

    def get_permissions(self):
        return [*super().get_permissions(), IsCounterStaff()]


def _counters_asked(request, slug):
    """The counters a list covers: the one asked for (403 if the caller does not work there, 404
    if unknown), else all of the caller's."""
    if slug:
        return [counter_location_get(user=request.user, slug=slug)]
    return staff_locations(request.user)


class UnitListApi(CounterStaffApi):
    """The units at the caller's counters, with the booking each is out for."""

    pagination_class = ApiPagination

    @extend_schema(parameters=[UnitQuerySerializer],
                   responses={200: UnitSerializer(many=True), 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer})
    def get(self, request):
        data = valid_input(UnitQuerySerializer, request.query_params)
        units = units_at_counters(locations=_counters_asked(request, data.get("location")))
        if data.get("item_type"):
            units = units.filter(item_type__slug=data["item_type"])
        if data.get("status"):
            units = units.filter(status=data["status"])
        if data.get("search"):
            units = units.filter(Q(asset_tag__icontains=data["search"]) | Q(serial_number__icontains=data["search"]))
        return paginated(self, request, units.order_by(*UNIT_ORDERINGS[data["ordering"]]), UnitSerializer)


class UnitDetailApi(CounterStaffApi):
    """One unit at the caller's counters; one at another counter is 404, as if it did not exist."""

    @extend_schema(responses={200: UnitSerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, asset_tag):
        unit = get_object_or_404(units_at_counters(locations=staff_locations(request.user)), asset_tag=asset_tag)
        return Response(UnitSerializer(unit).data)


class DamageReportListApi(CounterStaffApi):
    """The damage reports of the caller's counters, for following them up from a script."""

    pagination_class = ApiPagination

    @extend_schema(parameters=[DamageReportQuerySerializer],
                   responses={200: DamageReportSerializer(many=True), 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer})
    def get(self, request):
        data = valid_input(DamageReportQuerySerializer, request.query_params)
        reports = damage_reports_at_counters(locations=_counters_asked(request, data.get("location")))
        if data.get("status"):
            reports = reports.filter(status=data["status"])
        if data.get("kind"):
            reports = reports.filter(kind=data["kind"])
        if data.get("ordering"):
            reports = reports.order_by(*DAMAGE_REPORT_ORDERINGS[data["ordering"]])
        return paginated(self, request, reports, DamageReportSerializer)


def _damage_report_for_staff(user, pk):
    return get_object_or_404(damage_reports_at_counters(locations=staff_locations(user)), pk=pk)


class DamageReportDetailApi(CounterStaffApi):
    """One damage report of the caller's counters (another counter's is 404); PATCH settles it
    through damage_report_settle, which sets the unit's status to match the resolution."""

    @extend_schema(responses={200: DamageReportSerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, pk):
        return Response(DamageReportSerializer(_damage_report_for_staff(request.user, pk)).data)

    @extend_schema(request=DamageReportSettleInputSerializer,
                   responses={200: DamageReportSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def patch(self, request, pk):
        report = _damage_report_for_staff(request.user, pk)
        data = valid_input(DamageReportSettleInputSerializer, request.data)
        try:
            damage_report_settle(report=report, actor=request.user, resolution=data["resolution"],
                                 compensation_amount=data["compensation_amount"])
        except BookingError as error:
            return booking_error_response(error)
        return Response(DamageReportSerializer(_damage_report_for_staff(request.user, pk)).data)

"""The counter: the day's agenda, the scan field, hand-over, take-back, walk-ins, extensions.

Only staff who work at a location open its counter (lending.selectors.counter_location_get:
403 for anyone else). Every page carries the scan field; whatever is scanned goes to `scan`,
which resolves it and sends the clerk to the booking or the unit. A refusal is shown on the page
the clerk was on, with the HTTP status of its code, and nothing is written.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role, User
from accounts.selectors import teachers_matching
from catalog.exceptions import CatalogError
from catalog.labels import label_base_url, label_sheet_pdf
from catalog.models import ItemType, Unit
from catalog.selectors import counter_days
from frontend.counter_forms import CounterLabelForm, DayForm, ExtendForm, TakeBackForm, TeacherSearchForm, WalkInForm
from lending.exceptions import BookingError
from lending.models import Fulfilment, Handover, ReservationStatus
from lending.scanning import scan_hosts
from lending.selectors import (
    desk_qualifications,
    UnitState,
    counter_agenda,
    counter_location_get,
    extension_return_days,
    reservation_get_for_user,
    reservation_handover_state,
    reservation_handovers,
    staff_locations,
    unit_history,
    unit_open_handover,
    walk_in_return_days,
    tour_stops_on,
    walk_in_tour_days,
)
from lending.services import (
    HANDOVERABLE_STATUSES,
    counter_scan,
    handover_assign_unit,
    handover_complete,
    reservation_create,
    reservation_extend,
    reservation_mark_no_show,
    takeback_unit,
)
from lending.at_risk import reservations_at_risk
from lending.slips import loan_slip_pdf
from notifications.services import booking_confirmation_resend

# How far ahead the agenda lists the bookings at risk from overdue loans.
AT_RISK_AHEAD_DAYS = 14
# How far the agenda's day navigation looks for the previous and next counter day.
DAY_SEARCH_DAYS = 60


def _location(request, slug):
    return counter_location_get(user=request.user, slug=slug)


def _posted(request):
    """The form data of a POST, or None for a GET (an empty POST is still a bound, invalid form)."""
    return request.POST if request.method == "POST" else None


def _refused(request, template, context, error):
    messages.error(request, error.message)
    context["error_code"] = error.code
    return render(request, template, context, status=error.http_status)


def _reservation(request, location, code):
    reservation = reservation_get_for_user(user=request.user, code=code)
    if reservation.location_id != location.pk:
        raise Http404
    return reservation


@login_required
@require_GET
def counter_index(request):
    locations = list(staff_locations(request.user))
    if not request.user.is_counter_staff:
        raise PermissionDenied
    if len(locations) == 1:
        return redirect("frontend:counter", location=locations[0].slug)
    return render(request, "counter/index.html", {"locations": locations})


# Agenda ----------------------------------------------------------------------------------------------


def _agenda_context(location, day, today):
    days = counter_days(
        location=location, first_day=day - datetime.timedelta(days=DAY_SEARCH_DAYS),
        last_day=day + datetime.timedelta(days=DAY_SEARCH_DAYS),
    )
    open_days = [counter_day.day for counter_day in days if counter_day.is_open]
    this_day = next((counter_day for counter_day in days if counter_day.day == day), None)
    at_risk = reservations_at_risk(today=today, location=location,
                                   pickup_until=today + datetime.timedelta(days=AT_RISK_AHEAD_DAYS))
    return {
        "at_risk": at_risk, "at_risk_ids": {reservation.pk for reservation in at_risk},
        "location": location, "today": today, "agenda": counter_agenda(location=location, day=day, today=today),
        "previous_day": max((other for other in open_days if other < day), default=None),
        "next_day": min((other for other in open_days if other > day), default=None),
        "is_open": bool(this_day and this_day.is_open),
        "closure_reason": this_day.closure_reason if this_day else None,
        "day_form": DayForm(initial={"tag": day}),
        "tour_stops": tour_stops_on(location=location, day=day) if location.delivers else 0,
    }


def _render_agenda(request, location, *, day=None, status=200, error_code=None):
    today = timezone.localdate()
    context = _agenda_context(location, day or today, today)
    context.update(error_code=error_code, scan_error=error_code is not None)
    return render(request, "counter/agenda.html", context, status=status)


@login_required
@require_GET
def agenda(request, location):
    location = _location(request, location)
    form = DayForm(request.GET)
    if not form.is_valid():
        messages.error(request, _("%(problem)s Showing today.") % {"problem": " ".join(form.errors["tag"])})
        return _render_agenda(request, location, status=400)
    return _render_agenda(request, location, day=form.cleaned_data["tag"])


# Scan ------------------------------------------------------------------------------------------------


def _scan_refused(request, location, error, *, raw, reservation, unit=None):
    shown = (raw or "").strip()
    shown = shown if len(shown) <= 60 else shown[:57] + "…"
    messages.error(request, _("“%(scanned)s”: %(message)s") % {"scanned": shown, "message": error.message}
                   if shown else error.message)
    if reservation is not None:
        return _render_booking(request, location, reservation, status=error.http_status, error_code=error.code,
                               scan_error=True, on_loan_elsewhere=unit if error.code == "unit_on_loan" else None)
    return _render_agenda(request, location, status=error.http_status, error_code=error.code)


@login_required
@require_POST
def scan(request, location):
    """Resolve a scan: a booking opens its hand-over; a unit joins the booking at the desk, or
    opens its take-back when it is out, or shows where it is."""
    location = _location(request, location)
    raw = request.POST.get("code", "")
    current = None
    if request.POST.get("booking"):
        current = _reservation(request, location, request.POST["booking"])
    try:
        outcome = counter_scan(actor=request.user, location=location, raw=raw, hosts=scan_hosts(request),
                               at_desk=current)
    except BookingError as error:
        return _scan_refused(request, location, error, raw=raw, reservation=current)
    if outcome.step == "hand_over":
        return redirect("frontend:counter_booking", location=location.slug, code=outcome.reservation.code)
    if outcome.step in ("take_back", "show_unit"):
        return redirect("frontend:counter_unit", location=location.slug, asset_tag=outcome.unit.asset_tag)
    unit = outcome.unit
    try:
        handover_assign_unit(reservation=current, unit=unit, actor=request.user)
    except BookingError as error:
        return _scan_refused(request, location, error, raw=raw, reservation=current, unit=unit)
    messages.success(request, _("%(unit)s (%(item)s) assigned.") % {"unit": unit.asset_tag, "item": unit.item_type.name})
    return redirect("frontend:counter_booking", location=location.slug, code=current.code)


# Hand-over -------------------------------------------------------------------------------------------


def _booking_context(location, reservation):
    handovers = reservation_handovers(reservation)
    out = [handover for handover in handovers if handover.is_open]
    lines = []
    for line in reservation.lines.all():
        assigned = [handover for handover in out if handover.unit.item_type_id == line.item_type_id]
        returned = [handover for handover in handovers
                    if not handover.is_open and handover.unit.item_type_id == line.item_type_id]
        # A unit that went out and came back was handed out all the same: it is not missing.
        went_out = len(assigned) + len(returned)
        lines.append({"line": line, "assigned": assigned, "returned": returned,
                      "missing": max(line.quantity - went_out, 0)})
    today = timezone.localdate()
    return {
        "location": location, "reservation": reservation, "lines": lines, "out": out,
        "back": [handover for handover in handovers if not handover.is_open],
        "state": reservation_handover_state(reservation), "today": today,
        "overdue": reservation.is_overdue(today),
        "can_assign": reservation.status in HANDOVERABLE_STATUSES and reservation.hold_first_day() <= today
        <= reservation.return_day and any(line["missing"] for line in lines),
        "can_confirm": reservation.status == ReservationStatus.CONFIRMED and bool(out),
        "can_extend": reservation.status in HANDOVERABLE_STATUSES,
        "can_mark_no_show": reservation.status == ReservationStatus.CONFIRMED and reservation.pickup_day <= today
        and not out,
        "has_slip": reservation.status in (ReservationStatus.HANDED_OUT, ReservationStatus.RETURNED),
        "qualifications": desk_qualifications(reservation, today=today),
        "events": reservation.events.select_related("actor").order_by("-at", "-id")[:30],
        "mails": reservation.mails.order_by("-created_at", "-pk")[:20],
    }


def _render_booking(request, location, reservation, *, status=200, error_code=None, scan_error=False,
                    on_loan_elsewhere=None):
    context = _booking_context(location, reservation)
    context.update(error_code=error_code, scan_error=scan_error, on_loan_elsewhere=on_loan_elsewhere)
    return render(request, "counter/booking.html", context, status=status)


@login_required
@require_GET
def booking(request, location, code):
    location = _location(request, location)
    return _render_booking(request, location, _reservation(request, location, code))


def _booking_action(request, location, code, service):
    """Call `service(reservation=..., actor=...)` on a booking of this counter: the location and
    booking on success, or the booking page with the refusal and its status."""
    location = _location(request, location)
    reservation = _reservation(request, location, code)
    try:
        service(reservation=reservation, actor=request.user)
    except BookingError as error:
        messages.error(request, error.message)
        return location, reservation, _render_booking(
            request, location, reservation, status=error.http_status, error_code=error.code
        )
    return location, reservation, None


@login_required
@require_POST
def resend_confirmation(request, location, code):
    location = _location(request, location)
    reservation = _reservation(request, location, code)
    booking_confirmation_resend(reservation=reservation, actor=request.user)
    messages.success(request, _("The confirmation is queued and goes out within a minute or so."))
    return redirect("frontend:counter_booking", location=location.slug, code=reservation.code)


@login_required
@require_POST
def handover_confirm(request, location, code):
    collected_by = request.POST.get("collected_by", "borrower")
    location, reservation, refused = _booking_action(
        request, location, code, lambda **arguments: handover_complete(**arguments, collected_by=collected_by))
    if refused:
        return refused
    if reservation.is_delivery:
        messages.success(request, _("Packed for the tour. The loan starts when the driver confirms the delivery."))
    else:
        messages.success(request, _("Handed out. Print the loan slip for the borrower to sign."))
    return redirect("frontend:counter_booking", location=location.slug, code=reservation.code)


def _booking_url(request, reservation):
    return f"{label_base_url(request=request)}{reverse('frontend:booking_scan', kwargs={'code': reservation.code})}"


@login_required
@require_GET
def loan_slip(request, location, code):
    location = _location(request, location)
    reservation = _reservation(request, location, code)
    # Every unit that went out on the booking, also after it came back: a slip can be printed again.
    handovers = reservation_handovers(reservation)
    if not handovers:
        messages.error(request, _("Nothing was handed out on this booking, so there is no loan slip."))
        return _render_booking(request, location, reservation, status=409, error_code="nothing_handed_out")
    pdf = loan_slip_pdf(reservation=reservation, handovers=handovers, booking_url=_booking_url(request, reservation))
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="leihschein-{reservation.code}.pdf"'
    return response


@login_required
@require_POST
def no_show(request, location, code):
    location, _reservation_, refused = _booking_action(request, location, code, reservation_mark_no_show)
    if refused:
        return refused
    messages.success(request, _("Marked as not picked up; its units are free again."))
    return redirect("frontend:counter", location=location.slug)


@login_required
@require_http_methods(["GET", "POST"])
def extend(request, location, code):
    location = _location(request, location)
    reservation = _reservation(request, location, code)
    return_days = extension_return_days(reservation=reservation, today=timezone.localdate())
    form = ExtendForm(_posted(request), return_days=return_days)
    context = {"location": location, "reservation": reservation, "form": form}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "counter/extend.html", context, status=400)
        try:
            reservation_extend(reservation=reservation, actor=request.user, return_day=form.cleaned_data["return_day"])
        except BookingError as error:
            return _refused(request, "counter/extend.html", context, error)
        messages.success(request, _("Extended until %(day)s.") % {
            "day": form.cleaned_data["return_day"].strftime("%d.%m.%Y")})
        return redirect("frontend:counter_booking", location=location.slug, code=reservation.code)
    return render(request, "counter/extend.html", context)


# Take-back ------------------------------------------------------------------------------------------


def _unit(location, asset_tag):
    return get_object_or_404(
        Unit.objects.select_related("item_type"), asset_tag=asset_tag, item_type__location=location
    )


@login_required
@require_http_methods(["GET", "POST"])
def unit(request, location, asset_tag):
    """A unit at the counter: where it is, its history, and its take-back when it is out."""
    location = _location(request, location)
    unit = _unit(location, asset_tag)
    open_handover = unit_open_handover(unit)
    form = None
    if open_handover:
        form = TakeBackForm(_posted(request), initial={"handover": open_handover.pk})
    today = timezone.localdate()
    reservation = open_handover.reservation if open_handover else None
    state = UnitState(stored_status=unit.status, reservation_status=reservation.status if reservation else None,
                      return_day=reservation.return_day if reservation else None, today=today)
    context = {"location": location, "unit": unit, "open_handover": open_handover, "form": form, "state": state,
               "history": unit_history(unit)[:50], "today": today}
    if request.method == "POST":
        if form is None:
            return _refused(request, "counter/unit.html", context, BookingError("unit_not_on_loan"))
        if not form.is_valid():
            return render(request, "counter/unit.html", context, status=400)
        try:
            handover = takeback_unit(unit=unit, actor=request.user, condition=form.cleaned_data["condition"],
                                     note=form.cleaned_data["note"], handover_id=form.cleaned_data["handover"])
        except BookingError as error:
            return _refused(request, "counter/unit.html", context, error)
        reservation = open_handover.reservation
        reservation.refresh_from_db()
        message = _("%(unit)s taken back (%(condition)s).") % {
            "unit": unit.asset_tag, "condition": Handover.Condition(form.cleaned_data["condition"]).label}
        if handover.returned_late:
            message += " " + _("It came back late.")
        if form.cleaned_data["condition"] != Handover.Condition.COMPLETE:
            message += " " + _("The unit is out of circulation and a damage report is open.")
        if reservation.status == ReservationStatus.RETURNED:
            message += " " + _("The booking is returned in full.")
        messages.success(request, message)
        return redirect("frontend:counter_booking", location=location.slug, code=reservation.code)
    return render(request, "counter/unit.html", context)


# Walk-in ---------------------------------------------------------------------------------------------


def _current_slot(location):
    """The slot the counter is in now: the last slot that has begun, or the first one."""
    now = timezone.localtime().time()
    slots = location.slot_times()
    begun = [slot for slot in slots if slot <= now]
    return begun[-1] if begun else slots[0]


@login_required
@require_http_methods(["GET", "POST"])
def walk_in(request, location):
    """Book for a teacher at the counter, with pickup now, then hand over at once."""
    location = _location(request, location)
    context = {"location": location}
    teacher = None
    teacher_id = request.POST.get("teacher") or request.GET.get("teacher")
    if teacher_id:
        if not (teacher_id.isascii() and teacher_id.isdigit()):
            raise Http404
        teacher = get_object_or_404(User.objects.filter(role=Role.TEACHER, is_active=True), pk=teacher_id)
    if teacher is None:
        search = TeacherSearchForm(request.GET or None)
        context.update(search=search, teachers=teachers_matching(search.cleaned_data["q"]) if search.is_valid() else None)
        return render(request, "counter/walk_in.html", context, status=400 if search.is_bound and not search.is_valid() else 200)
    today = timezone.localdate()
    item_types = list(ItemType.objects.filter(location=location).order_by("category__position", "name"))
    return_days = walk_in_return_days(location=location, item_types=item_types, today=today)
    form = WalkInForm(_posted(request), schools=teacher.schools.filter(active=True), return_days=return_days,
                      item_types=item_types, delivery_days=walk_in_tour_days(location=location, today=today))
    context.update(teacher=teacher, form=form)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "counter/walk_in.html", context, status=400)
        delivery_day = form.cleaned_data.get("delivery_day")
        try:
            reservation = reservation_create(
                borrower=teacher, school=form.cleaned_data["school"], pickup_day=delivery_day or today,
                pickup_slot=_current_slot(location), return_day=form.cleaned_data["return_day"],
                lines=form.lines(), actor=request.user, overrides=form.cleaned_data["overrides"],
                note=_("Walk-in at the counter"),
                fulfilment=Fulfilment.DELIVERY if delivery_day else Fulfilment.PICKUP,
            )
        except BookingError as error:
            return _refused(request, "counter/walk_in.html", context, error)
        if delivery_day:
            messages.success(request, _("Delivery booked for %(teacher)s; it is on the tour of its day.") % {
                "teacher": teacher})
        else:
            messages.success(request, _("Booked for %(teacher)s. Scan the units to hand them over.") % {
                "teacher": teacher})
        return redirect("frontend:counter_booking", location=location.slug, code=reservation.code)
    return render(request, "counter/walk_in.html", context)


# Labels ----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def labels(request, location):
    """Label sheets from the counter: all units of an item, or the asset tags listed."""
    location = _location(request, location)
    form = CounterLabelForm(_posted(request), item_types=ItemType.objects.filter(location=location),
                            hosts=scan_hosts(request))
    context = {"location": location, "form": form}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "counter/labels.html", context, status=400)
        units = Unit.objects.filter(item_type__location=location).select_related("item_type").order_by("asset_tag")
        if form.cleaned_data["item_type"]:
            units = units.filter(item_type=form.cleaned_data["item_type"])
        else:
            tags = form.cleaned_data["asset_tag_list"]
            units = units.filter(asset_tag__in=tags)
            unknown = sorted(set(tags) - {unit.asset_tag for unit in units})
            if unknown:
                form.add_error("asset_tags", _("Not units of this counter: %(tags)s") % {"tags": ", ".join(unknown[:20])})
                return render(request, "counter/labels.html", context, status=400)
        try:
            pdf = label_sheet_pdf(units=units, label_format=form.cleaned_data["label_format"],
                                  start_position=form.cleaned_data["start_position"],
                                  base_url=label_base_url(request=request))
        except CatalogError as error:
            form.add_error(None, error.message)
            return render(request, "counter/labels.html", context, status=400)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="etiketten-{timezone.localdate().isoformat()}.pdf"'
        return response
    return render(request, "counter/labels.html", context)

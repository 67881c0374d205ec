"""Pages for teachers. Thin: validate input, call one selector or service, render."""

import calendar
import datetime
import mimetypes
from pathlib import Path

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils._os import safe_join
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Qualification
from accounts.qualifications import qualification_grant_of
from catalog.models import ItemType, Unit
from catalog.selectors import counter_days, item_type_page_row, item_types_visible
from catalog.versions import cached, catalogue_version
from frontend.basket import Basket
from frontend.forms import (
    AddToBasketForm,
    BookingCancelForm,
    BookingChangeForm,
    BookingForm,
    CatalogueFilterForm,
    ColleagueForm,
    DeliveryBookingForm,
)
from frontend.page_cache import CSRF_MARK, filled, mark
from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import Fulfilment, ReservationStatus
from lending.selectors import (
    bookable_days,
    colleagues_of,
    delivery_days,
    item_types_free_between,
    reservation_get_for_user,
    reservation_handovers,
    reservations_of_borrower,
    slots_full,
    waitlist_of_borrower,
)
from lending.services import (
    HANDOVERABLE_STATUSES,
    may_modify,
    reservation_cancel,
    reservation_change,
    reservation_create,
    reservation_name_colleague,
)


# Refusals after which the teacher may join the waiting list (lending/waitlist.py).
WAITLIST_REASONS = ("not_enough_units", "slot_full")


def _booking_error_response(request, template, context, error):
    messages.error(request, error.message)
    context["error_code"] = error.code
    return render(request, template, context, status=error.http_status)


# Catalogue ---------------------------------------------------------------------------------------


# Cards per catalogue page: a phone scrolls through it in a few swipes, and one page renders in
# the same time whether the catalogue holds fifty items or fifty thousand.
CATALOGUE_PAGE_SIZE = 24
# The query parameters the catalogue reads; anything else (tracking tags) neither changes the
# page nor makes a new cache entry.
CATALOGUE_PARAMETERS = ("q", "category", "free_from", "free_to", "page")


@require_GET
def catalogue(request):
    query = {name: request.GET[name] for name in CATALOGUE_PARAMETERS if request.GET.get(name)}
    # The list is the same for everyone asking the same; it is rendered once per catalogue version.
    status, content = cached(
        "catalogue", catalogue_version(), urlencode(query), render=lambda: _catalogue_content(query)
    )
    return render(request, "frontend/catalogue.html", {"content": mark_safe(content)}, status=status)


def _catalogue_content(query):
    """(status, HTML) of the catalogue's search form, result count, cards and page links."""
    filters = {name: value for name, value in query.items() if name != "page"}
    form = CatalogueFilterForm(filters or None)
    item_types = item_types_visible()
    free_window = None
    if form.is_valid():
        data = form.cleaned_data
        item_types = item_types_visible(search=data["q"], category=data["category"])
        if data["free_from"]:
            free_window = (data["free_from"], data["free_to"])
    if free_window:
        item_types = item_types_free_between(
            list(item_types), first_day=free_window[0], last_day=free_window[1], today=timezone.localdate()
        )
    page = Paginator(item_types, CATALOGUE_PAGE_SIZE).get_page(query.get("page"))
    categories = {}
    for item_type in page:
        categories.setdefault(item_type.category, []).append(item_type)
    filter_query = urlencode(filters)
    status = 200 if form.is_valid() or not form.is_bound else 400
    return status, render_to_string("partials/catalogue_content.html", {
        "form": form, "categories": categories, "free_window": free_window, "page": page,
        "result_count": page.paginator.count, "filtered": bool(filters),
        "page_link": f"?{filter_query}&page=" if filter_query else "?page=",
    })


def _month_from(value, *, first, last):
    """The month named by `YYYY-MM`, kept between the first and last month that can be booked."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        chosen = datetime.date(year, month, 1)
    except ValueError:
        return first
    return min(max(chosen, first), last)


def _day_between(value, first, last):
    """The ISO date in `value` if it lies from first through last, else None."""
    try:
        day = datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day and first <= day <= last else None


@require_GET
def item_detail(request, slug):
    item = item_type_page_row(slug=slug)
    if item is None:
        raise Http404
    today = timezone.localdate()
    earliest = today + datetime.timedelta(days=item.min_lead_days)
    latest = today + datetime.timedelta(days=item.max_advance_days)
    latest_return = latest + datetime.timedelta(days=item.max_loan_days)
    month = _month_from(request.GET.get("month"), first=today.replace(day=1), last=latest_return.replace(day=1))
    pickup_day = _day_between(request.GET.get("pickup"), earliest, latest)
    return_day = None
    if pickup_day:
        return_day = _day_between(
            request.GET.get("return"), pickup_day, pickup_day + datetime.timedelta(days=item.max_loan_days)
        )

    def render_content():
        item_type = ItemType.objects.select_related("category", "location", "required_qualification").get(pk=item.pk)
        return render_to_string("partials/item_content.html", {
            **_month_calendar(item_type=item_type, month=month, today=today, pickup_day=pickup_day,
                              return_day=return_day),
            "form": AddToBasketForm(initial={"pickup_day": pickup_day, "return_day": return_day}),
            "csrf_token": CSRF_MARK, "qualification_mark": mark("qualification"),
        })

    # The page below the header is the same for everyone looking at the same month and choice;
    # it is rendered once per version of the item's counter (bookings, units, closures, rules).
    content = cached("item", item.pk, item.location_version, month, pickup_day, return_day,
                              render=render_content)
    personal = ""
    if item.required_qualification_id is not None:
        qualification = Qualification.objects.get(pk=item.required_qualification_id)
        personal = render_to_string("partials/qualification_status.html", {
            "qualification": qualification, "user": request.user,
            "qualification_grant": qualification_grant_of(user=request.user, qualification=qualification, today=today),
        })
    return render(request, "frontend/item_detail.html", {
        "title": item.name, "content": filled(request, content, qualification=personal),
    })


def _month_calendar(*, item_type, month, today, pickup_day, return_day):
    """The context of an item's month calendar: weeks of day cells with their state, free units
    and links for choosing the pickup and then the return day. Three queries."""
    earliest = today + datetime.timedelta(days=item_type.min_lead_days)
    latest = today + datetime.timedelta(days=item_type.max_advance_days)
    latest_return = latest + datetime.timedelta(days=item_type.max_loan_days)
    month_end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    days = counter_days(location=item_type.location, first_day=month, last_day=month_end)
    free = availability(item_type_ids=[item_type.pk], first_day=month, last_day=month_end, today=today)[item_type.pk]
    choosing_return = bool(pickup_day and not return_day)
    longest_return = pickup_day + datetime.timedelta(days=item_type.max_loan_days) if pickup_day else None

    def link(day):
        # The first click picks the pickup day, the second the return day, a third starts over.
        query = {"month": f"{month:%Y-%m}"}
        if choosing_return and day >= pickup_day:
            query.update(pickup=pickup_day.isoformat(), **{"return": day.isoformat()})
        else:
            query["pickup"] = day.isoformat()
        return "?" + "&".join(f"{key}={value}" for key, value in query.items())

    def why_not(day):
        """Why an open counter day cannot be chosen now, or None when it can. While the return
        day is chosen, a day before the pickup day picks a new pickup day instead."""
        if choosing_return and day >= pickup_day:
            return "too_long" if day > longest_return else None
        if day < earliest:
            return "too_soon"
        return "too_far_ahead" if day > latest else None

    weeks = []
    week = [None] * (month.isoweekday() - 1)
    for day in days:
        cell = {"day": day.day, "free": free.on(day.day).free, "loanable": free.loanable}
        if day.day < today:
            cell["state"] = "past"
        elif day.is_closed:
            cell["state"] = "closed"
            cell["reason"] = day.closure_reason
        elif not day.is_counter_weekday:
            cell["state"] = "no_counter"
        else:
            cell["state"] = "open"
            cell["not_selectable"] = why_not(day.day)
            cell["link"] = link(day.day)
        cell["is_pickup"] = day.day == pickup_day
        cell["is_return"] = day.day == return_day
        cell["selected"] = cell["is_pickup"] or cell["is_return"]
        cell["in_range"] = bool(pickup_day and return_day and pickup_day <= day.day <= return_day)
        week.append(cell)
        if len(week) == 7:
            weeks.append(week)
            week = []
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    # The closures of the month as runs of days with one reason, for the legend under the calendar
    # (a cell's title is out of reach on a phone, and a narrow cell shows only a mark).
    closures = []
    for cell in (cell for week in weeks for cell in week if cell):
        if cell["state"] != "closed":
            continue
        run = closures[-1] if closures else None
        if run and run["reason"] == cell["reason"] and run["last"] == cell["day"] - datetime.timedelta(days=1):
            run["last"] = cell["day"]
        else:
            closures.append({"first": cell["day"], "last": cell["day"], "reason": cell["reason"]})
    previous_month = (month - datetime.timedelta(days=1)).replace(day=1)
    next_month = month_end + datetime.timedelta(days=1)
    return {
        "item_type": item_type, "weeks": weeks, "month": month,
        "previous_month": previous_month if previous_month >= today.replace(day=1) else None,
        "next_month": next_month if next_month <= latest_return else None,
        "pickup_day": pickup_day, "return_day": return_day, "earliest": earliest, "latest": latest,
        "longest_return": longest_return,
        "reasons_in_month": {
            cell["not_selectable"] for week in weeks for cell in week if cell and cell.get("not_selectable")
        },
        "closures_in_month": closures,
        "weekdays": [(WEEKDAYS_ABBR[index], WEEKDAYS[index]) for index in range(7)],
    }


# Basket and booking ------------------------------------------------------------------------------


@require_POST
def basket_add(request, slug):
    item_type = get_object_or_404(ItemType, slug=slug)
    form = AddToBasketForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please enter a quantity between 1 and 500 and choose the days in the calendar."))
        return redirect("frontend:item_detail", slug=slug)
    basket = Basket(request.session)
    basket.set_line(item_type.pk, form.cleaned_data["quantity"])
    if form.cleaned_data["pickup_day"]:
        basket.set_days(form.cleaned_data["pickup_day"], form.cleaned_data["return_day"])
    messages.success(request, _("%(item)s is in your basket.") % {"item": item_type.name})
    return redirect("frontend:basket")


def _basket_context(request, basket, data=None):
    today = timezone.localdate()
    item_types = list(ItemType.objects.filter(pk__in=basket.lines).select_related("location", "category"))
    for gone in set(basket.lines) - {item_type.pk for item_type in item_types}:
        basket.set_line(gone, 0)  # an item type deleted since it was put in the basket
    locations = {item_type.location for item_type in item_types}
    context = {"basket": basket, "lines": [(item_type, basket.lines[item_type.pk]) for item_type in item_types]}
    if len(locations) > 1:
        context["mixed_locations"] = True
        return context
    if not item_types or not request.user.is_authenticated:
        return context
    location = locations.pop()
    pickup_days, return_days = bookable_days(location=location, item_types=item_types, today=today)
    initial = {}
    if basket.pickup_day:
        initial["pickup_day"] = basket.pickup_day.isoformat()
    if basket.return_day:
        initial["return_day"] = basket.return_day.isoformat()
    context["location"] = location
    full_slots = slots_full(location=location, day=basket.pickup_day) if basket.pickup_day in pickup_days else ()
    delivering = data is not None and data.get("delivery-fulfilment") == Fulfilment.DELIVERY
    schools = request.user.schools.filter(active=True).order_by("name")
    context["form"] = BookingForm(
        None if delivering else data, initial=initial, schools=schools, pickup_days=pickup_days,
        return_days=return_days, slot_times=location.slot_times(), full_slots=full_slots,
    )
    # Delivery to the school, where the counter's tour takes every item of the basket.
    if location.delivers:
        delivery, collection = delivery_days(location=location, item_types=item_types, today=today)
        context["pickup_only"] = [item_type for item_type in item_types if not item_type.deliverable]
        if delivery:
            context["delivery_form"] = DeliveryBookingForm(
                data if delivering else None, schools=schools, delivery_days=delivery,
                collection_days=collection, collection_by_tour=location.collection_by_tour,
            )
            context["delivery_schools"] = list(schools)
    context["delivering"] = delivering
    return context


@require_http_methods(["GET", "POST"])
def basket_page(request):
    basket = Basket(request.session)
    if request.method == "POST":
        # Quantity changes and removals; each line has its own field.
        for item_type_id in basket.lines:
            value = request.POST.get(f"quantity_{item_type_id}")
            if value is None:
                continue
            try:
                quantity = int(value)
            except ValueError:
                messages.error(request, _("Please enter whole numbers."))
                return redirect("frontend:basket")
            if not 0 <= quantity <= 500:
                messages.error(request, _("Please enter a quantity between 0 and 500."))
                return redirect("frontend:basket")
            basket.set_line(item_type_id, quantity)
        if "remove" in request.POST:
            try:
                basket.set_line(int(request.POST["remove"]), 0)
            except ValueError:
                pass
        messages.success(request, _("Your basket was updated."))
        return redirect("frontend:basket")
    return render(request, "frontend/basket.html", _basket_context(request, basket))


@login_required
@require_http_methods(["GET", "POST"])
def booking_create(request):
    if request.method == "GET":
        # Signing in again after the session ended comes back here with a GET.
        return redirect("frontend:basket")
    basket = Basket(request.session)
    if not basket.lines:
        messages.error(request, _("Your basket is empty."))
        return redirect("frontend:catalogue")
    context = _basket_context(request, basket, request.POST)
    form = context.get("delivery_form") if context.get("delivering") else context.get("form")
    if form is None and context.get("delivering") and context.get("form") is not None:
        # Delivery asked for items the tour does not take (or no tour day is left).
        return _booking_error_response(request, "frontend/basket.html", context, BookingError("not_deliverable"))
    if form is None:
        if not context["lines"]:
            messages.error(request, _("Your basket is empty."))
            return redirect("frontend:catalogue")
        return _booking_error_response(request, "frontend/basket.html", context, BookingError("mixed_locations"))
    if not form.is_valid():
        return render(request, "frontend/basket.html", context, status=400)
    data = form.cleaned_data
    delivering = context["delivering"]
    try:
        reservation = reservation_create(
            borrower=request.user, school=data["school"], pickup_day=data["pickup_day"],
            pickup_slot=data.get("pickup_slot"), return_day=data["return_day"], lines=basket.lines,
            note=data["note"], fulfilment=Fulfilment.DELIVERY if delivering else Fulfilment.PICKUP,
        )
    except BookingError as error:
        # The waiting list holds pickups; a delivery refused for lack of units can be picked up instead.
        if error.code in WAITLIST_REASONS and not delivering:
            # One click onto the waiting list: for the item refused, or for every line when the slot is full.
            refused = error.params.get("item_type")
            context["waitlist_request"] = {
                "lines": [(item_type, quantity) for item_type, quantity in context["lines"]
                          if refused is None or item_type.pk == refused],
                "school": data["school"].pk, "pickup_day": data["pickup_day"].isoformat(),
                "pickup_slot": data["pickup_slot"].strftime("%H:%M"), "return_day": data["return_day"].isoformat(),
            }
        return _booking_error_response(request, "frontend/basket.html", context, error)
    basket.clear()
    messages.success(request, _("Your booking is confirmed."))
    return redirect("frontend:booking_detail", code=reservation.code)


# My bookings -------------------------------------------------------------------------------------


@login_required
@require_GET
def my_bookings(request):
    return render_my_bookings(request)


def render_my_bookings(request, *, status=200):
    today = timezone.localdate()
    return render(request, "frontend/my_bookings.html", {
        "bookings": reservations_of_borrower(borrower=request.user, today=today), "today": today,
        "waitlist": waitlist_of_borrower(borrower=request.user), "now": timezone.now(),
    }, status=status)


def _can_modify(reservation, today):
    return reservation.status == ReservationStatus.CONFIRMED and reservation.pickup_day >= today


def _scan_url(request, reservation):
    path = reverse("frontend:booking_scan", kwargs={"code": reservation.code})
    return f"{settings.SITE_URL}{path}" if settings.SITE_URL else request.build_absolute_uri(path)


@login_required
@require_GET
def booking_detail(request, code):
    return _render_booking_detail(request, reservation_get_for_user(user=request.user, code=code))


def _as_colleague(request, reservation):
    """Whether the user sees this booking only as the colleague named to pick it up."""
    return not may_modify(reservation, request.user)


def _refuse_colleague(request, reservation):
    messages.error(request, BookingError("not_the_borrower").message)
    return redirect("frontend:booking_detail", code=reservation.code)


def _render_booking_detail(request, reservation, *, colleague_form=None, status=200):
    today = timezone.localdate()
    scan_url = _scan_url(request, reservation)
    as_colleague = _as_colleague(request, reservation)
    if colleague_form is None and not as_colleague and reservation.status in HANDOVERABLE_STATUSES:
        colleague_form = ColleagueForm(colleagues=colleagues_of(reservation),
                                       initial={"colleague": reservation.colleague_id})
    return render(request, "frontend/booking_detail.html", {
        "reservation": reservation, "can_modify": _can_modify(reservation, today) and not as_colleague,
        "as_colleague": as_colleague, "colleague_form": colleague_form,
        "overdue": reservation.is_overdue(today), "scan_url": scan_url, "qr_svg": _qr_svg(scan_url),
        # Every unit that went out: what the teacher has, and what came back when.
        "handovers": reservation_handovers(reservation)
        if reservation.status in (ReservationStatus.HANDED_OUT, ReservationStatus.RETURNED) else [],
    }, status=status)


@login_required
@require_POST
def booking_colleague(request, code):
    """The borrower names (or un-names) the colleague who may pick up and return the booking."""
    reservation = reservation_get_for_user(user=request.user, code=code)
    form = ColleagueForm(request.POST, colleagues=colleagues_of(reservation))
    if not form.is_valid():
        messages.error(request, BookingError("colleague_invalid").message)
        return _render_booking_detail(request, reservation, colleague_form=form, status=400)
    colleague = form.cleaned_data["colleague"]
    try:
        reservation_name_colleague(reservation=reservation, actor=request.user, colleague=colleague)
    except BookingError as error:
        messages.error(request, error.message)
        return _render_booking_detail(request, reservation, colleague_form=form, status=error.http_status)
    if colleague is None:
        messages.success(request, _("Nobody else is named to pick up this booking."))
    else:
        messages.success(request, _("%(name)s may now pick up and return this booking; they get an e-mail.")
                         % {"name": colleague.get_full_name() or colleague.username})
    return redirect("frontend:booking_detail", code=reservation.code)


def _qr_svg(data):
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    return image.to_string(encoding="unicode")


@login_required
@require_GET
def booking_qr(request, code):
    reservation = reservation_get_for_user(user=request.user, code=code)
    return HttpResponse(_qr_svg(_scan_url(request, reservation)), content_type="image/svg+xml")


@login_required
@require_GET
def booking_scan(request, code):
    """Where a booking's QR code points: staff of its counter get its hand-over, the borrower the booking."""
    reservation = reservation_get_for_user(user=request.user, code=code)
    if request.user.works_at(reservation.location):
        # A delivery on its way (packed, or at the school until collected) opens the driver's page.
        if reservation.is_delivery and reservation.status in HANDOVERABLE_STATUSES and (
                reservation.packed_at is not None or reservation.handovers.filter(returned_at__isnull=True).exists()):
            return redirect("frontend:tour_stop", location=reservation.location.slug, code=reservation.code)
        return redirect("frontend:counter_booking", location=reservation.location.slug, code=reservation.code)
    return redirect("frontend:booking_detail", code=reservation.code)


@login_required
@require_http_methods(["GET", "POST"])
def booking_change(request, code):
    reservation = reservation_get_for_user(user=request.user, code=code)
    if _as_colleague(request, reservation):
        return _refuse_colleague(request, reservation)
    today = timezone.localdate()
    if not _can_modify(reservation, today):
        messages.error(request, BookingError("not_changeable").message)
        return redirect("frontend:booking_detail", code=reservation.code)
    lines = list(reservation.lines.all())
    # A delivery moves to other tour days and has no slot to choose.
    days_of = delivery_days if reservation.is_delivery else bookable_days
    pickup_days, return_days = days_of(
        location=reservation.location, item_types=[line.item_type for line in lines], today=today
    )
    # The current days stay selectable even if the lead time has passed for a new booking.
    pickup_days = sorted(set(pickup_days) | {reservation.pickup_day})
    return_days = sorted(set(return_days) | {reservation.return_day})
    form = BookingChangeForm(
        request.POST or None, lines=lines, pickup_days=pickup_days, return_days=return_days,
        slot_times=[reservation.pickup_slot] if reservation.is_delivery else reservation.location.slot_times(),
        initial={"pickup_day": reservation.pickup_day.isoformat(), "return_day": reservation.return_day.isoformat(),
                 "pickup_slot": reservation.pickup_slot.strftime("%H:%M")},
        delivery=reservation.is_delivery, collection_by_tour=reservation.collection_by_tour,
    )
    context = {"reservation": reservation, "form": form}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "frontend/booking_change.html", context, status=400)
        try:
            reservation_change(
                reservation=reservation, actor=request.user, pickup_day=form.cleaned_data["pickup_day"],
                pickup_slot=form.cleaned_data["pickup_slot"], return_day=form.cleaned_data["return_day"],
                lines=form.quantities(),
            )
        except BookingError as error:
            return _booking_error_response(request, "frontend/booking_change.html", context, error)
        messages.success(request, _("Your booking was changed."))
        return redirect("frontend:booking_detail", code=reservation.code)
    return render(request, "frontend/booking_change.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def booking_cancel(request, code):
    reservation = reservation_get_for_user(user=request.user, code=code)
    if _as_colleague(request, reservation):
        return _refuse_colleague(request, reservation)
    # Staff cancelling someone else's booking say why; the borrower need not.
    for_someone_else = reservation.borrower_id != request.user.pk
    form = BookingCancelForm(request.POST if request.method == "POST" else None, reason_required=for_someone_else)
    context = {"reservation": reservation, "form": form, "for_someone_else": for_someone_else}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "frontend/booking_cancel.html", context, status=400)
        try:
            reservation_cancel(reservation=reservation, actor=request.user, reason=form.cleaned_data["reason"])
        except BookingError as error:
            if error.code == "cancel_reason_required":
                return _booking_error_response(request, "frontend/booking_cancel.html", context, error)
            messages.error(request, error.message)
            return redirect("frontend:booking_detail", code=reservation.code)
        if for_someone_else:
            messages.success(request, _("The booking was cancelled; the teacher is told why by e-mail."))
            return redirect("frontend:booking_detail", code=reservation.code)
        messages.success(request, _("Your booking was cancelled."))
        return redirect("frontend:my_bookings")
    if not _can_modify(reservation, timezone.localdate()):
        messages.error(request, BookingError("not_cancellable").message)
        return redirect("frontend:booking_detail", code=reservation.code)
    return render(request, "frontend/booking_cancel.html", context)


# Uploaded pictures -------------------------------------------------------------------------------


@require_GET
def media(request, path):
    """Serve uploaded item pictures from MEDIA_ROOT; the app serves every asset itself."""
    try:
        full_path = Path(safe_join(settings.MEDIA_ROOT, path))
    except Exception:  # SuspiciousFileOperation: a path outside MEDIA_ROOT
        raise Http404 from None
    if not full_path.is_file() or not path.startswith("item-types/"):
        raise Http404
    content_type = mimetypes.guess_type(full_path.name)[0] or "application/octet-stream"
    if not content_type.startswith("image/"):
        raise Http404
    response = FileResponse(full_path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico where a page names no icon (the admin, JSON, PDFs): the
    portal's icon (base.html links it), through its static URL, which changes with its content."""
    response = redirect(static("frontend/favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


# Unit labels -------------------------------------------------------------------------------------


@require_GET
def unit_scan(request, asset_tag):
    """Where a unit's QR label points. Staff of its counter see the unit at the counter (its
    status, loan, history and take-back); anyone else (a teacher's phone camera) is sent to the
    item's public page."""
    unit = get_object_or_404(Unit.objects.select_related("item_type", "item_type__location"), asset_tag=asset_tag)
    location = unit.item_type.location
    if request.user.is_authenticated and request.user.works_at(location):
        return redirect("frontend:counter_unit", location=location.slug, asset_tag=unit.asset_tag)
    return redirect("frontend:item_detail", slug=unit.item_type.slug)

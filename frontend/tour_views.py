"""The delivery tour: the tour list of a day (page and PDF sheets) and the driver's page of one
stop, where a delivery or a collection is confirmed on a phone at the school.

Staff of the counter only (counter_location_get). The driver reaches a stop's page by scanning its
sheet's QR code with the phone's camera (the booking's link, /r/<code>, which sends staff with a
delivery on its way here) or from the tour list.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from catalog.labels import label_base_url
from frontend.counter_forms import DayForm
from lending.exceptions import BookingError
from lending.models import Handover, ReservationStatus
from lending.scanning import UNIT, scan_hosts, scan_parse
from lending.selectors import counter_location_get, reservation_get_for_user, tour_days_ahead, tour_of
from lending.services import collection_confirm, delivery_confirm
from lending.tour_sheets import tour_sheets_pdf


def _day(request):
    form = DayForm(request.GET)
    if not form.is_valid():
        return None, " ".join(form.errors["tag"])
    return form.cleaned_data["tag"] or timezone.localdate(), None


@login_required
@require_GET
def tour(request, location):
    location = counter_location_get(user=request.user, slug=location)
    day, problem = _day(request)
    status = 200
    if problem:
        messages.error(request, _("%(problem)s Showing today.") % {"problem": problem})
        day, status = timezone.localdate(), 400
    today = timezone.localdate()
    return render(request, "counter/tour.html", {
        "location": location, "day": day, "stops": tour_of(location=location, day=day),
        "coming": tour_days_ahead(location=location, today=today), "today": today,
    }, status=status)


@login_required
@require_GET
def tour_pdf(request, location):
    location = counter_location_get(user=request.user, slug=location)
    day, problem = _day(request)
    if problem:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    base = label_base_url(request=request)
    pdf = tour_sheets_pdf(
        location=location, day=day, stops=tour_of(location=location, day=day),
        booking_url=lambda reservation: f"{base}{reverse('frontend:booking_scan', kwargs={'code': reservation.code})}",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="tour-{location.slug}-{day.isoformat()}.pdf"'
    return response


def _stop(request, location, code):
    location = counter_location_get(user=request.user, slug=location)
    reservation = reservation_get_for_user(user=request.user, code=code)
    if reservation.location_id != location.pk or not reservation.is_delivery:
        raise Http404
    return location, reservation


@login_required
@require_http_methods(["GET", "POST"])
def stop(request, location, code):
    """The driver's page of one delivery: *Zugestellt* with the recipient's name, then *Abgeholt*
    with the units ticked or scanned (a scan ticks its unit and shows the page again)."""
    location, reservation = _stop(request, location, code)
    out = list(Handover.objects.filter(reservation=reservation, returned_at__isnull=True)
               .select_related("unit__item_type").order_by("unit__item_type__name", "unit__asset_tag"))
    ticked = {value for value in request.POST.getlist("unit") if value.isascii() and value.isdigit()}
    context = {"location": location, "reservation": reservation, "out": out, "recipient": ""}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "delivered":
                context["recipient"] = request.POST.get("recipient", "")[:200]
                delivery_confirm(reservation=reservation, actor=request.user, recipient=context["recipient"])
                messages.success(request, _("Delivery confirmed. The loan has started."))
                return redirect("frontend:tour_stop", location=location.slug, code=reservation.code)
            if action == "collected":
                collection_confirm(reservation=reservation, actor=request.user, unit_ids=sorted(ticked))
                messages.success(request, _("Collection confirmed. Take the units back at the counter."))
                return redirect("frontend:tour_stop", location=location.slug, code=reservation.code)
            # A scan (the field, or the camera submitting the form): tick the unit it names.
            kind, value = scan_parse(request.POST.get("code", ""), hosts=scan_hosts(request))
            match = [handover for handover in out if kind in (UNIT, "code") and handover.unit.asset_tag == value]
            if not match:
                raise BookingError("collection_units_invalid")
            ticked.add(str(match[0].unit_id))
            messages.success(request, _("%(unit)s ticked.") % {"unit": value})
        except BookingError as error:
            messages.error(request, error.message)
            context["error_code"] = error.code
            status = error.http_status
        reservation.refresh_from_db()
    context["ticked"] = ticked
    # Units scanned in count as packed even if "packed" was not pressed at the counter.
    context["can_deliver"] = reservation.status == ReservationStatus.CONFIRMED and bool(out)
    context["can_collect"] = (reservation.status == ReservationStatus.HANDED_OUT and reservation.collection_by_tour
                              and reservation.collected_at is None)
    return render(request, "counter/tour_stop.html", context, status=status)

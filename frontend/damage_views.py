"""Damage reports by teachers, their follow-up by staff, and the yearly statistics."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from catalog.models import Unit
from frontend.damage_forms import DamageReportFilterForm, DamageReportForm, DamageSettleForm, StatisticsForm
from lending.exceptions import BookingError
from lending.models import DamageReport, ReservationLine, ReservationStatus
from lending.selectors import counter_location_get, reservation_get_for_user
from lending.services import damage_report_create, damage_report_settle
from lending.report_files import spreadsheet_text
from lending.statistics import damage_reports_at
from lending.statistics import damage_statistics as damage_statistics_of_year

REPORTS_PER_PAGE = 50


def _refused(request, template, context, error):
    messages.error(request, error.message)
    context["error_code"] = error.code
    return render(request, template, context, status=error.http_status)


# Teachers report online --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def damage_report_new(request, code):
    reservation = reservation_get_for_user(user=request.user, code=code)
    units_out = Unit.objects.filter(
        handovers__reservation=reservation, handovers__returned_at__isnull=True
    ).select_related("item_type").order_by("asset_tag")
    form = DamageReportForm(request.POST if request.method == "POST" else None, units=units_out)
    context = {"reservation": reservation, "form": form}
    template = "frontend/damage_report_new.html"
    if reservation.status != ReservationStatus.HANDED_OUT:
        # The service refuses too; this spares the teacher filling in a form that cannot be sent.
        context["form"] = None
        return _refused(request, template, context, BookingError("not_your_loan"))
    if request.method == "GET":
        return render(request, template, context)
    if not form.is_valid():
        return render(request, template, context, status=400)
    try:
        damage_report_create(
            reporter=request.user, reservation=reservation, unit_or_none=form.cleaned_data["unit"],
            kind=form.cleaned_data["kind"], description=form.cleaned_data["description"],
        )
    except BookingError as error:
        return _refused(request, template, context, error)
    messages.success(request, _("Thank you. Your report was sent to the media centre, which will get in touch."))
    return redirect("frontend:booking_detail", code=reservation.code)


# Staff follow-up ---------------------------------------------------------------------------------


@login_required
@require_GET
def damage_reports(request, location):
    location = counter_location_get(user=request.user, slug=location)
    form = DamageReportFilterForm(request.GET or None)
    reports = damage_reports_at(location=location).prefetch_related(
        Prefetch("reservation__lines", queryset=ReservationLine.objects.select_related("item_type"))
    )
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
    elif form.is_bound:
        if form.cleaned_data["status"]:
            reports = reports.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["kind"]:
            reports = reports.filter(kind=form.cleaned_data["kind"])
    page = Paginator(reports, REPORTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "frontend/damage_reports.html", {
        "location": location, "form": form, "page": page, "query": query.urlencode(),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def damage_report_detail(request, location, pk):
    location = counter_location_get(user=request.user, slug=location)
    report = damage_reports_at(location=location).filter(pk=pk).first()
    if report is None:
        raise Http404
    is_open = report.status == DamageReport.Status.OPEN
    form = DamageSettleForm(request.POST if request.method == "POST" else None) if is_open else None
    context = {"location": location, "report": report, "form": form}
    template = "frontend/damage_report_detail.html"
    if request.method == "GET":
        return render(request, template, context)
    if form is None:
        return _refused(request, template, context, BookingError("report_settled"))
    if not form.is_valid():
        return render(request, template, context, status=400)
    try:
        damage_report_settle(
            report=report, actor=request.user, resolution=form.cleaned_data["resolution"],
            compensation_amount=form.cleaned_data["compensation_amount"],
        )
    except BookingError as error:
        return _refused(request, template, context, error)
    messages.success(request, _("The damage report was settled."))
    return redirect("frontend:counter_damage_report", location=location.slug, pk=report.pk)


# Statistics --------------------------------------------------------------------------------------


def _number(value, decimals=0):
    """A number as the active language writes it, without thousands grouping (Excel reads it)."""
    if value is None:
        return ""
    return formats.number_format(value, decimals, use_l10n=True, force_grouping=False)


def _statistics_csv(statistics, location):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="schadensstatistik-{location.slug}-{statistics.year}.csv"'
    )
    response.write("\ufeff")  # the byte order mark makes Excel read UTF-8
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow([
        _("Year"), _("Item"), _("Units"), _("Damage cases"), _("Damage share (%)"), _("Thefts"), _("Losses"),
        _("Theft/loss"), _("Theft/loss share (%)"), _("Compensation cases"), _("Compensation (EUR)"),
    ])
    for row in statistics.all_rows:
        writer.writerow([
            statistics.year, spreadsheet_text(row.label), row.units if row.item_type or row.is_total else "",
            row.damage_cases, _number(row.damage_rate, 2), row.thefts, row.losses, row.theft_and_loss,
            _number(row.theft_loss_rate, 2), row.compensation_cases, _number(row.compensation_sum, 2),
        ])
    return response


@login_required
@require_GET
def damage_statistics(request, location):
    location = counter_location_get(user=request.user, slug=location)
    form = StatisticsForm(request.GET)
    if not form.is_valid():
        return render(request, "frontend/damage_statistics.html", {"location": location, "form": form}, status=400)
    year = form.cleaned_data["jahr"]
    statistics = damage_statistics_of_year(year=year, location=location)
    if form.cleaned_data["format"] == "csv":
        return _statistics_csv(statistics, location)
    return render(request, "frontend/damage_statistics.html", {
        "location": location, "form": form, "statistics": statistics,
        "previous_year": year - 1 if year > form.first_year else None,
        "next_year": year + 1 if year < form.last_year else None,
    })

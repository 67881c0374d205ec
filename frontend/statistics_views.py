"""The statistics section (Statistik): the dashboard of the annual report's figures, and every
table as CSV, XLSX and PDF. Administrators see every counter, counter staff their own."""

import datetime
from dataclasses import dataclass

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET

from frontend.charts import bars
from lending.figures import TABLE_KEYS, Period, Table, period_problem, statistics_report, statistics_scope
from lending.report_files import table_csv, tables_pdf, tables_xlsx

DATE_INPUTS = ["%Y-%m-%d", "%d.%m.%Y"]
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
# The tables the dashboard draws as charts, each next to its table.
UTILISATION_CHART_ROWS = 12
# Long tables show their first rows on the page, by their main figure; the files hold every row.
PAGE_ROWS = 25
RANKED_BY = {"by_item_type": "loans", "utilisation": "utilisation", "by_school": "loans", "damage": "damage_cases"}


class StatisticsFilterForm(forms.Form):
    """`?jahr=2026`, or `?von=2026-08-01&bis=2027-07-31`, and `&standort=<counter>` (empty: all
    the counters the user may see)."""

    jahr = forms.CharField(label=gettext_lazy("Year"), required=False)
    von = forms.DateField(label=pgettext_lazy("first day of a period", "From"), required=False,
                          input_formats=DATE_INPUTS)
    bis = forms.DateField(label=pgettext_lazy("last day of a period", "To"), required=False,
                          input_formats=DATE_INPUTS)
    standort = forms.ChoiceField(label=gettext_lazy("Location"), required=False)
    tabelle = forms.ChoiceField(required=False, choices=[("", "")] + [(key, key) for key in TABLE_KEYS])

    def __init__(self, *args, locations, all_label, **kwargs):
        super().__init__(*args, **kwargs)
        # Several counters: all of them, or one; a single counter is the only choice (an empty
        # value still means it).
        counters = [(location.slug, location.name) for location in locations]
        self.fields["standort"].choices = counters if len(counters) == 1 else [("", all_label), *counters]

    def clean_jahr(self):
        value = self.cleaned_data["jahr"].strip()
        if not value:
            return None
        if not (value.isascii() and value.isdigit() and len(value) == 4) or int(value) < 1000:
            raise ValidationError(_("Enter a year with four digits, e.g. %(year)s.") % {"year": timezone.localdate().year})
        return int(value)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        today = timezone.localdate()
        first_day, last_day = data.get("von"), data.get("bis")
        if first_day or last_day:
            if not (first_day and last_day):
                raise ValidationError(_("Give both days of the period, or a year."))
        else:
            year = today.year if data.get("jahr") is None else data["jahr"]
            first_day, last_day = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        problem = period_problem(first_day, last_day, today)
        if problem:
            raise ValidationError(problem)
        data["period"] = Period(first_day, last_day)
        return data


def _scope_and_form(request):
    """(form, locations, choices); the form is bound to the query and not yet checked."""
    _locations, choices = statistics_scope(user=request.user)
    form = StatisticsFilterForm(request.GET, locations=choices, all_label=_("All my counters") if len(choices) > 1
                                else choices[0].name)
    return form, choices


def _chosen_locations(request, form):
    locations, _choices = statistics_scope(user=request.user, slug=form.cleaned_data.get("standort") or "")
    return locations


def _heading(period, locations, choices):
    names = ", ".join(location.name for location in (locations or choices))
    return [[_("Period"), period.label()], [_("Counters"), names if locations is not None else _("All counters")]]


@dataclass
class ShownTable:
    """A table as the page shows it: the first PAGE_ROWS rows by its main figure when it is long."""

    table: Table
    rows: list
    hidden: int = 0

    def __getattr__(self, name):
        return getattr(self.table, name)

    @property
    def all_rows(self):
        return [*self.rows, self.table.total] if self.table.total is not None else list(self.rows)


def _shown(table):
    key = RANKED_BY.get(table.key)
    if key is None or len(table.rows) <= PAGE_ROWS:
        return ShownTable(table, table.rows)
    ranked = sorted(table.rows, key=lambda row: -(row[key] or 0))  # stable: ties keep the table's order
    return ShownTable(table, ranked[:PAGE_ROWS], hidden=len(table.rows) - PAGE_ROWS)


@login_required
@require_GET
def dashboard(request):
    form, choices = _scope_and_form(request)
    if not form.is_valid():
        return render(request, "frontend/statistics.html", {"form": form, "choices": choices}, status=400)
    period = form.cleaned_data["period"]
    locations = _chosen_locations(request, form)
    report = statistics_report(period=period, locations=locations)
    tables = {key: _shown(table) for key, table in report.tables.items()}
    query = request.GET.urlencode()
    return render(request, "frontend/statistics.html", {
        "form": form, "choices": choices, "report": report, "tables": tables, "query": query,
        "period": period, "location_names": _heading(period, locations, choices)[1][1],
        "month_chart": bars(tables["by_month"].rows, label="month", value="loans", kind="month"),
        "school_type_chart": bars(tables["by_school_type"].rows, label="school_type", value="loans"),
        "reach_chart": bars(tables["by_school_type"].rows, label="school_type", value="reach", kind="percent",
                            maximum=100),
        "utilisation_chart": bars(
            sorted(report.tables["utilisation"].rows, key=lambda row: -(row["utilisation"] or 0))[:UTILISATION_CHART_ROWS],
            label="item_type", value="utilisation", kind="percent", maximum=100),
        "utilisation_chart_rows": UTILISATION_CHART_ROWS,
        "secondary_tables": [tables[key] for key in (
            "by_item_type", "by_category", "by_school", "reliability", "cancellations", "damage", "qualifications",
            "qualifications_by_month")],
    })


@login_required
@require_GET
def download(request, fmt):
    """One table (`?tabelle=by_month`) or, for XLSX and PDF, all of them, for the dashboard's period."""
    form, choices = _scope_and_form(request)
    if fmt not in FORMATS:
        return HttpResponse(_("Choose CSV, XLSX or PDF."), status=404, content_type="text/plain; charset=utf-8")
    if not form.is_valid():
        return render(request, "frontend/statistics.html", {"form": form, "choices": choices}, status=400)
    key = form.cleaned_data.get("tabelle") or ""
    if fmt == "csv" and not key:
        return HttpResponse(_("A CSV file holds one table: choose it with ?tabelle=."), status=400,
                            content_type="text/plain; charset=utf-8")
    period = form.cleaned_data["period"]
    locations = _chosen_locations(request, form)
    report = statistics_report(period=period, locations=locations)
    tables = [report.tables[key]] if key else list(report.tables.values())
    heading = _heading(period, locations, choices)
    scope = "alle" if locations is None else locations[0].slug if len(locations) == 1 else "auswahl"
    name = f"statistik-{scope}-{period.first_day:%Y%m%d}-{period.last_day:%Y%m%d}{'-' + key if key else ''}.{fmt}"
    if fmt == "csv":
        body = table_csv(tables[0], heading=heading).encode("utf-8")
    elif fmt == "xlsx":
        body = tables_xlsx(tables, heading=heading)
    else:
        title = _("Statistics %(period)s") % {"period": period.label()}
        body = tables_pdf(tables, title=title if key == "" else f"{title}: {tables[0].title}", heading=heading)
    response = HttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

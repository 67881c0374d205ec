"""The statistics section (/statistik/): who may read which counters' figures, what a bad query
answers, what the dashboard shows, and what the CSV, XLSX and PDF files hold once read back by
the programs that read them (Python's csv module, openpyxl, pdfium).

Every figure is worked out by hand next to the data it comes from (the `year_2026` fixture).
Labels are taken from the report or from the catalogue (gettext), never written out here: the
German catalogue of the statistics is being filled in, and the tests must hold before and after.
"""

import csv
import datetime
import io
import re
import zipfile
from collections import Counter
from html.parser import HTMLParser

import openpyxl
import pypdfium2 as pdfium
import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext, ngettext

from accounts.models import Role, SchoolType
from lending.figures import TABLE_KEYS, Period, statistics_report
from lending.models import Handover, ReservationStatus
from tests import factories
from tests.lending.conftest import BERLIN, MONDAY

DASHBOARD = "frontend:statistics"
DOWNLOAD = "frontend:statistics_download"
BOM = "\ufeff"
FORMULAS = ('=HYPERLINK("http://evil","x")', "+SUM(1,2)", "@cmd", "-1+2")


@pytest.fixture(autouse=True)
def monday(time_machine):
    """Monday 1 March 2027: 2026 is over, the default year (2027) has no bookings yet."""
    time_machine.move_to(MONDAY, tick=False)


def at(day, hour=12):
    return datetime.datetime.combine(day, datetime.time(hour, 0), tzinfo=BERLIN)


def lend(*, location, school, units, pickup_day, return_day, borrower=None, status=ReservationStatus.RETURNED):
    """A booking of `units` handed out on its pickup day and, unless still out, brought back on
    its return day, written straight through the ORM."""
    reservation = factories.make_reservation(
        location=location, school=school, borrower=borrower, pickup_day=pickup_day, return_day=return_day,
        lines=dict(Counter(unit.item_type for unit in units)), status=status,
    )
    returned = status == ReservationStatus.RETURNED
    for unit in units:
        Handover.objects.create(
            reservation=reservation, unit=unit, handed_out_at=at(pickup_day, 9),
            returned_at=at(return_day) if returned else None, return_condition="complete" if returned else "",
        )
    return reservation


def d(month, day, year=2026):
    return datetime.date(year, month, day)


@pytest.fixture
def year_2026(location, neighbour_counter, school_a, school_b, teacher_a, teacher_b, item_type):
    """2026 at the counter mz-test (VR-Koffer, three units):

    - Gymnasium am Park (teacher A): 2 units 10.–17. March and 1 unit 8.–15. September, both
      returned; one booking 2 June not picked up; one booking 7 July cancelled.
    - Grundschule Nord (teacher B): 1 unit 5.–12. May, returned.

    So mz-test has 4 bookings (the cancelled one does not count), 3 loans, 4 units lent and
    4 × 8 = 32 loan days; 2 schools and 2 teachers reached. Loans by school type: Gymnasium 2
    (66,7 %), Grundschule 1 (33,3 %). Three active Gymnasien (two never borrowed): reach 33,3 %.
    Utilisation of the VR-Koffer: 32 unit-days on loan of 3 × 365 = 1095, 2,9 %.

    At the neighbouring counter mz-nachbar, which mz-test's staff must never see: Realschule
    Fremdort borrowed one "Beamer Fremdort" 10.–12. March (3 loan days).
    """
    factories.make_school(name="Gymnasium Süd")
    factories.make_school(name="Gymnasium Ost")
    vr = list(item_type.units.order_by("pk"))
    lend(location=location, school=school_a, borrower=teacher_a, units=vr[:2], pickup_day=d(3, 10), return_day=d(3, 17))
    lend(location=location, school=school_a, borrower=teacher_a, units=vr[2:], pickup_day=d(9, 8), return_day=d(9, 15))
    lend(location=location, school=school_b, borrower=teacher_b, units=vr[:1], pickup_day=d(5, 5), return_day=d(5, 12))
    factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                               pickup_day=d(6, 2), return_day=d(6, 9), status=ReservationStatus.NO_SHOW)
    factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                               pickup_day=d(7, 7), return_day=d(7, 14), status=ReservationStatus.CANCELLED)
    foreign_school = factories.make_school(name="Realschule Fremdort", school_type=SchoolType.REALSCHULE)
    beamer = factories.make_item_type(location=neighbour_counter, name="Beamer Fremdort", slug="beamer", units=2)
    lend(location=neighbour_counter, school=foreign_school, units=list(beamer.units.all()[:1]),
         pickup_day=d(3, 10), return_day=d(3, 12))


@pytest.fixture
def counter_pair(location, neighbour_counter):
    """Staff who work at both counters."""
    staff = factories.make_user(username="paula", role=Role.STAFF)
    staff.locations.add(location, neighbour_counter)
    return staff


def dashboard_url(**query):
    return reverse(DASHBOARD) + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


def download_url(fmt, **query):
    return reverse(DOWNLOAD, args=[fmt]) + ("?" + "&".join(f"{key}={value}" for key, value in query.items())
                                            if query else "")


def german(message, **values):
    """A message as the German pages write it (whether or not the catalogue has it yet)."""
    with translation.override("de"):
        text = gettext(message)
    return text % values if values else text


def page(response):
    return response.content.decode()


class _Page(HTMLParser):
    """The tables (by id: rows of cell texts), the standort options and the charts of a page."""

    def __init__(self):
        super().__init__()
        self.tables, self.options, self.figures = {}, [], {}
        self._table = self._row = self._cell = self._option = self._figure = None
        self._in_select = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "select" and attrs.get("name") == "standort":
            self._in_select = True
        elif tag == "option" and self._in_select:
            self._option = [attrs.get("value"), "", "selected" in attrs]
        elif tag == "figure":
            self._figure = self.figures.setdefault(attrs.get("aria-labelledby"), {"links": [], "bars": []})
        elif tag == "a" and self._figure is not None:
            self._figure["links"].append(attrs.get("href"))
        elif tag == "li" and self._figure is not None:
            self._figure["bars"].append({"label": "", "value": "", "width": None, "part": None})
        elif tag == "span" and self._figure is not None and self._figure["bars"]:
            self._figure["bars"][-1]["part"] = {"bar-label": "label", "bar-value": "value"}.get(attrs.get("class"))
        elif tag == "rect" and self._figure is not None:
            self._figure["bars"][-1]["width"] = float(attrs["width"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "select":
            self._in_select = False
        elif tag == "option" and self._option is not None:
            self.options.append(tuple(self._option))
            self._option = None
        elif tag == "figure":
            self._figure = None
        elif tag == "span" and self._figure is not None and self._figure["bars"]:
            self._figure["bars"][-1]["part"] = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._option is not None:
            self._option[1] += data
        if self._figure is not None and self._figure["bars"] and self._figure["bars"][-1]["part"]:
            self._figure["bars"][-1][self._figure["bars"][-1]["part"]] += data


def parsed(response):
    parser = _Page()
    parser.feed(page(response))
    return parser


def cell(response, key, row_label, column_key):
    """The text of a dashboard table's cell as the page shows it: the row by its first cell, the
    column by its key in the report."""
    rows = parsed(response).tables[f"table-{key}"]
    columns = [column.key for column in response.context["tables"][key].columns]
    assert rows[0] == [column.label for column in response.context["tables"][key].columns]
    [row] = [row for row in rows[1:] if row[0] == row_label]
    return row[columns.index(column_key)]


def options(response):
    """The counters to choose from: [(value, name)]."""
    return [(value, name) for value, name, _selected in parsed(response).options]


def school_type(value):
    with translation.override("de"):
        return str(SchoolType(value).label)


def headline(response):
    """The figure cards at the top: [(value, label)]."""
    return re.findall(r'<span class="figure-value">(.*?)</span> <span class="figure-label">(.*?)</span>', page(response))


# Who sees what ------------------------------------------------------------------------------------


ALL_URLS = [
    dashboard_url(jahr=2026),
    download_url("csv", jahr=2026, tabelle="by_month"),
    download_url("xlsx", jahr=2026),
    download_url("pdf", jahr=2026),
]


@pytest.mark.parametrize("url", ALL_URLS)
def test_signing_in_comes_first(client, url, location):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("url", ALL_URLS)
def test_teachers_and_staff_without_a_counter_get_403(client, url, teacher_a, stranger, location):
    counterless = factories.make_user(username="ohne-theke", role=Role.STAFF)
    for user in (teacher_a, stranger, counterless):
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_staff_choose_only_among_their_own_counter(client, clerk, year_2026):
    client.force_login(clerk)

    response = client.get(dashboard_url(jahr=2026))

    assert response.status_code == 200
    assert options(response) == [("mz-test", "Medienzentrum Test")]  # the one counter, once
    content = page(response)
    for foreign in ("Medienzentrum Nachbarkreis", "mz-nachbar", "Realschule Fremdort", "Beamer Fremdort"):
        assert foreign not in content


def test_staff_at_two_counters_choose_either_or_both(client, counter_pair, year_2026):
    client.force_login(counter_pair)

    response = client.get(dashboard_url(jahr=2026))

    assert options(response) == [
        ("", german("All my counters")), ("mz-nachbar", "Medienzentrum Nachbarkreis"), ("mz-test", "Medienzentrum Test"),
    ]
    # Both counters' figures: 4 bookings at mz-test, 1 at mz-nachbar.
    assert headline(response)[0][0] == "5"
    assert "Realschule Fremdort" in page(response)


def test_administrators_see_every_counter_and_all_of_them_together(client, admin_user, year_2026):
    factories.make_location(name="Außenstelle Aachen", slug="aachen")
    client.force_login(admin_user)

    response = client.get(dashboard_url(jahr=2026))

    assert response.status_code == 200
    assert options(response) == [
        ("", german("All my counters")), ("aachen", "Außenstelle Aachen"),
        ("mz-nachbar", "Medienzentrum Nachbarkreis"), ("mz-test", "Medienzentrum Test"),
    ]
    assert german("All counters") in page(response)
    # 4 bookings at mz-test and 1 at mz-nachbar; loans 3 + 1, units 4 + 1, loan days 32 + 3;
    # schools 2 + 1; teachers 2 (the neighbour's booking names nobody).
    assert [value for value, _label in headline(response)] == ["5", "4", "5", "35", "3", "2"]
    assert cell(response, "by_school_type", school_type("realschule"), "loans") == "1"


@pytest.mark.parametrize("url", [
    dashboard_url(jahr=2026, standort="mz-nachbar"),
    download_url("csv", jahr=2026, standort="mz-nachbar", tabelle="by_school"),
    download_url("xlsx", jahr=2026, standort="mz-nachbar"),
    download_url("pdf", jahr=2026, standort="mz-nachbar"),
    dashboard_url(jahr=2026, standort="gibt-es-nicht"),
])
def test_another_counter_or_an_unknown_one_is_400_and_shows_none_of_its_figures(client, clerk, year_2026, url):
    client.force_login(clerk)

    response = client.get(url)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "standort" in response.context["form"].errors
    content = page(response)
    assert 'id="id_standort_error" role="alert"' in content
    assert escape(response.context["form"].errors["standort"][0]) in content
    assert "report" not in response.context
    for foreign in ("Medienzentrum Nachbarkreis", "Realschule Fremdort", "Beamer Fremdort", 'id="table-'):
        assert foreign not in content


def test_a_counter_of_staff_at_two_counters_is_theirs_to_choose(client, counter_pair, year_2026):
    client.force_login(counter_pair)

    response = client.get(dashboard_url(jahr=2026, standort="mz-nachbar"))

    assert response.status_code == 200
    assert [value for value, _label in headline(response)][:4] == ["1", "1", "1", "3"]
    assert [value for value, _label, selected in parsed(response).options if selected] == ["mz-nachbar"]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_pages_only_answer_get(client, admin_user, method):
    client.force_login(admin_user)

    assert getattr(client, method)(reverse(DASHBOARD)).status_code == 405
    assert getattr(client, method)(download_url("xlsx")).status_code == 405


# Bad queries ----------------------------------------------------------------------------------------


YEAR_MESSAGE = ("Enter a year with four digits, e.g. %(year)s.", {"year": 2027})
BOTH_DAYS = ("Give both days of the period, or a year.", {})
ORDER = ("The last day must not be before the first day.", {})
RANGE = ("Choose days from %(first)s to two years ahead.", {"first": 2000})
TEN_YEARS = ("Choose at most ten years at a time.", {})

BAD_QUERIES = [
    pytest.param({"jahr": "abc"}, "jahr", YEAR_MESSAGE, id="year-not-a-number"),
    pytest.param({"jahr": "99999"}, "jahr", YEAR_MESSAGE, id="year-five-digits"),
    pytest.param({"jahr": "26"}, "jahr", YEAR_MESSAGE, id="year-two-digits"),
    pytest.param({"jahr": "-2026"}, "jahr", YEAR_MESSAGE, id="year-negative"),
    pytest.param({"jahr": "２０２６"}, "jahr", YEAR_MESSAGE, id="year-fullwidth-digits"),
    pytest.param({"jahr": "1999"}, None, RANGE, id="year-before-2000"),
    pytest.param({"jahr": "2030"}, None, RANGE, id="year-too-far-ahead"),
    pytest.param({"jahr": "0000"}, "jahr", YEAR_MESSAGE, id="year-zero"),
    pytest.param({"von": "2026-01-01"}, None, BOTH_DAYS, id="from-without-to"),
    pytest.param({"bis": "2026-12-31"}, None, BOTH_DAYS, id="to-without-from"),
    pytest.param({"von": "2026-12-31", "bis": "2026-01-01"}, None, ORDER, id="to-before-from"),
    pytest.param({"von": "2014-01-01", "bis": "2024-12-31"}, None, TEN_YEARS, id="eleven-years"),
    pytest.param({"von": "1999-12-01", "bis": "2000-01-31"}, None, RANGE, id="from-before-2000"),
    pytest.param({"von": "0001-01-01", "bis": "0001-12-31"}, None, RANGE, id="year-one"),
    pytest.param({"von": "2026-01-01", "bis": "9999-12-31"}, None, RANGE, id="to-far-ahead"),
]


@pytest.mark.parametrize("query, field, message", BAD_QUERIES)
def test_a_bad_period_is_400_with_a_clear_message(client, clerk, year_2026, query, field, message):
    client.force_login(clerk)
    text = german(message[0], **message[1])

    response = client.get(dashboard_url(**query))

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors[field or "__all__"] == [text]
    assert escape(text) in page(response)
    assert 'role="alert"' in page(response)
    assert "report" not in response.context


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
@pytest.mark.parametrize("query, field, message", [BAD_QUERIES[0], BAD_QUERIES[8], BAD_QUERIES[10], BAD_QUERIES[11]])
def test_a_bad_period_is_400_for_the_downloads_too(client, clerk, year_2026, fmt, query, field, message):
    client.force_login(clerk)

    response = client.get(download_url(fmt, tabelle="by_month", **query))

    assert response.status_code == 400
    assert "Content-Disposition" not in response
    assert escape(german(message[0], **message[1])) in page(response)


@pytest.mark.parametrize("query", [
    {"von": "2026-02-30", "bis": "2026-03-31"},
    {"von": "gestern", "bis": "2026-03-31"},
    {"von": "2026-01-01", "bis": "31.13.2026"},
])
def test_a_day_that_is_no_date_is_400_on_its_field(client, clerk, query):
    client.force_login(clerk)

    response = client.get(dashboard_url(**query))

    assert response.status_code == 400
    assert set(response.context["form"].errors) <= {"von", "bis"}
    assert response.context["form"].errors


def test_a_period_of_ten_years_and_german_dates_are_accepted(client, clerk, year_2026):
    client.force_login(clerk)

    ten_years = client.get(dashboard_url(von="2017-01-01", bis="2026-12-31"))
    school_year = client.get(dashboard_url(von="01.08.2025", bis="31.07.2026"))

    assert ten_years.status_code == 200
    assert len(ten_years.context["tables"]["by_month"].rows) == 120
    assert ten_years.context["tables"]["by_month"].total["loans"] == 3
    assert school_year.status_code == 200
    assert school_year.context["period"] == Period(d(8, 1, 2025), d(7, 31, 2026))
    assert "01.08.2025–31.07.2026" in page(school_year)
    # 10 March, 5 May: the loans of the first half of 2026.
    assert [value for value, _label in headline(school_year)][1] == "2"


@pytest.mark.parametrize("fmt", ["xlsx", "pdf", "csv"])
def test_an_unknown_table_is_400(client, clerk, fmt):
    client.force_login(clerk)

    response = client.get(download_url(fmt, jahr=2026, tabelle="passwords"))

    assert response.status_code == 400
    assert "tabelle" in response.context["form"].errors
    assert "Content-Disposition" not in response


def test_a_csv_without_a_table_is_400_and_says_how_to_choose_one(client, clerk):
    client.force_login(clerk)

    response = client.get(download_url("csv", jahr=2026))

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert page(response) == german("A CSV file holds one table: choose it with ?tabelle=.")
    assert "Content-Disposition" not in response


@pytest.mark.parametrize("fmt", ["docx", "CSV", "json", "csv.exe"])
def test_an_unknown_format_is_404(client, clerk, fmt):
    client.force_login(clerk)

    response = client.get(download_url(fmt, jahr=2026))

    assert response.status_code == 404
    assert page(response) == german("Choose CSV, XLSX or PDF.")


# The dashboard -------------------------------------------------------------------------------------


def test_the_dashboard_shows_the_figures_of_the_year(client, clerk, year_2026):
    client.force_login(clerk)

    response = client.get(dashboard_url(jahr=2026))

    assert response.status_code == 200
    content = page(response)
    assert "<h1>" in content and "2026</h1>" in content
    labels = [str(row["figure"]) for row in response.context["tables"]["overview"].rows[:6]]
    assert headline(response) == list(zip(["4", "3", "4", "32", "2", "2"], [escape(label) for label in labels]))
    gymnasium, grundschule = school_type("gymnasium"), school_type("grundschule")
    expected = {
        gymnasium: {"bookings": "3", "loans": "2", "units_lent": "3", "loan_days": "24", "loan_share": "66,7 %",
                    "schools": "1", "active_schools": "3", "reach": "33,3 %", "teachers": "1", "loans_before": "0",
                    "change": "–"},
        grundschule: {"bookings": "1", "loans": "1", "units_lent": "1", "loan_days": "8", "loan_share": "33,3 %",
                      "schools": "1", "active_schools": "1", "reach": "100,0 %", "teachers": "1"},
        school_type("realschule"): {"bookings": "0", "loans": "0", "active_schools": "1", "schools": "0"},
    }
    for row_label, columns in expected.items():
        for column, value in columns.items():
            assert cell(response, "by_school_type", row_label, column) == value, (row_label, column)
    total = german("Total")
    assert cell(response, "by_school_type", total, "loans") == "3"
    assert cell(response, "by_school_type", total, "teachers") == "2"  # each teacher once, whatever the types
    assert cell(response, "by_month", "März 2026", "units_lent") == "2"
    assert cell(response, "by_month", "Juni 2026", "bookings") == "1"  # the booking nobody picked up
    assert cell(response, "by_month", "Juli 2026", "bookings") == "0"  # the cancelled one
    assert cell(response, "by_month", total, "loan_days") == "32"
    assert cell(response, "utilisation", "VR-Koffer", "unit_days") == "1095"  # no thousands separator
    assert cell(response, "utilisation", "VR-Koffer", "days_on_loan") == "32"
    assert cell(response, "utilisation", "VR-Koffer", "utilisation") == "2,9 %"
    assert cell(response, "by_school", "Gymnasium am Park", "loans") == "2"
    assert "Gymnasium Süd" not in parsed(response).tables["table-by_school"][0]  # never borrowed


def test_every_table_of_the_report_is_on_the_dashboard_with_its_downloads(client, clerk, year_2026):
    client.force_login(clerk)

    response = client.get(dashboard_url(jahr=2026))

    content = page(response)
    assert set(parsed(response).tables) == {f"table-{key}" for key in TABLE_KEYS}
    for key in TABLE_KEYS:
        for fmt in ("csv", "xlsx", "pdf"):
            assert f'href="{reverse(DOWNLOAD, args=[fmt])}?jahr=2026&amp;tabelle={key}"' in content
    assert f'href="{reverse(DOWNLOAD, args=["xlsx"])}?jahr=2026"' in content
    assert f'href="{reverse(DOWNLOAD, args=["pdf"])}?jahr=2026"' in content


def test_the_charts_draw_the_figures_and_each_is_followed_by_its_table(client, clerk, year_2026):
    client.force_login(clerk)

    response = client.get(dashboard_url(jahr=2026))

    figures = parsed(response).figures
    assert set(figures) == {"chart-months", "chart-school-types", "chart-reach", "chart-utilisation"}
    content = page(response)
    for chart_id, table_key in [("months", "by_month"), ("school-types", "by_school_type"),
                                ("reach", "by_school_type"), ("utilisation", "utilisation")]:
        assert figures[f"chart-{chart_id}"]["links"] == [f"#table-{table_key}"]
        figure_end = content.index("</figure>", content.index(f'<figure class="bar-chart" aria-labelledby="chart-{chart_id}"'))
        next_table = re.search(r'<table class="statistics-table" id="([^"]+)"', content[figure_end:])
        assert next_table.group(1) == f"table-{table_key}", chart_id
        assert figures[f"chart-{chart_id}"]["bars"], chart_id

    months = {bar["label"]: (bar["value"], bar["width"]) for bar in figures["chart-months"]["bars"]}
    assert len(months) == 12
    assert months["März 2026"] == months["Mai 2026"] == months["September 2026"] == ("1", 100.0)
    assert months["Juni 2026"] == ("0", 0.0)
    school_types = {bar["label"]: (bar["value"], bar["width"]) for bar in figures["chart-school-types"]["bars"]}
    assert len(school_types) == len(SchoolType.choices)
    assert school_types[school_type("gymnasium")] == ("2", 100.0)
    assert school_types[school_type("grundschule")] == ("1", 50.0)
    reach = {bar["label"]: (bar["value"], bar["width"]) for bar in figures["chart-reach"]["bars"]}
    assert reach[school_type("gymnasium")] == ("33,3 %", 33.3)
    assert reach[school_type("grundschule")] == ("100,0 %", 100.0)
    assert reach[school_type("hauptschule")] == ("–", 0.0)  # no active Hauptschule: no share
    assert [(bar["label"], bar["value"]) for bar in figures["chart-utilisation"]["bars"]] == [("VR-Koffer", "2,9 %")]
    # The bars are decoration; the table says the same to screen readers.
    assert content.count('<ol class="bars" aria-hidden="true">') == 4


def test_the_dashboard_defaults_to_this_year_and_says_when_there_is_nothing(client, clerk, year_2026):
    client.force_login(clerk)

    response = client.get(reverse(DASHBOARD))

    assert response.status_code == 200
    assert response.context["period"] == Period.year(2027)
    assert [value for value, _label in headline(response)] == ["0"] * 6
    assert escape(german("Nothing in this period.")) in page(response)


def test_staff_figures_do_not_move_with_another_counters_bookings(client, clerk, neighbour_counter, school_a,
                                                                  teacher_a, year_2026):
    client.force_login(clerk)
    before = client.get(dashboard_url(jahr=2026))
    beamer = neighbour_counter.item_types.get()
    # Their own school and teacher, but at the other counter.
    lend(location=neighbour_counter, school=school_a, borrower=teacher_a, units=list(beamer.units.all()),
         pickup_day=d(3, 10), return_day=d(3, 20))

    after = client.get(dashboard_url(jahr=2026))

    assert headline(after) == headline(before)
    for key in TABLE_KEYS:
        assert parsed(after).tables[f"table-{key}"] == parsed(before).tables[f"table-{key}"], key
    assert "Beamer Fremdort" not in page(after)
    client.force_login(factories.make_user(username="chefin", role=Role.ADMIN))
    assert [value for value, _label in headline(client.get(dashboard_url(jahr=2026)))][:4] == ["6", "5", "7", "57"]


def test_an_administrator_choosing_a_counter_sees_only_that_counter(client, admin_user, year_2026):
    client.force_login(admin_user)

    test = client.get(dashboard_url(jahr=2026, standort="mz-test"))
    neighbour = client.get(dashboard_url(jahr=2026, standort="mz-nachbar"))

    assert [value for value, _label in headline(test)] == ["4", "3", "4", "32", "2", "2"]
    assert "Realschule Fremdort" not in page(test) and "Beamer Fremdort" not in page(test)
    assert [value for value, _label in headline(neighbour)] == ["1", "1", "1", "3", "1", "0"]
    assert cell(neighbour, "by_school_type", school_type("gymnasium"), "loans") == "0"
    assert cell(neighbour, "by_school_type", school_type("realschule"), "loans") == "1"
    assert [row[0] for row in parsed(neighbour).tables["table-utilisation"][1:]] == ["Beamer Fremdort", german("Total")]
    assert '<p class="meta">Medienzentrum Nachbarkreis</p>' in page(neighbour)


# The files ------------------------------------------------------------------------------------------


def csv_rows(response, **reader_options):
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:], newline=""), **reader_options))


def keyed(rows, key):
    """{first cell: {column key: value}} of a table's rows read back from a file."""
    columns = [column.key for column in statistics_report(period=Period.year(2026)).tables[key].columns]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


def german_report(**kwargs):
    with translation.override("de"):
        report = statistics_report(period=Period.year(2026), **kwargs)
        return {key: (str(table.title), [str(column.label) for column in table.columns])
                for key, table in report.tables.items()}


def test_a_table_as_csv_for_german_excel(client, clerk, location, year_2026):
    client.force_login(clerk)

    response = client.get(download_url("csv", jahr=2026, tabelle="by_school_type"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="statistik-mz-test-20260101-20261231-by_school_type.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(response, delimiter=";")
    _title, labels = german_report(locations=[location])["by_school_type"]
    assert rows[0][:2] == [german("Period"), "2026"] and not any(rows[0][2:])
    assert rows[1][:2] == [german("Counters"), "Medienzentrum Test"] and not any(rows[1][2:])
    assert len(rows[0]) == len(rows[2])  # the heading lines are as wide as the table
    assert rows[2] == labels
    by_type = keyed(rows[3:], "by_school_type")
    gymnasium = by_type[school_type("gymnasium")]
    assert (gymnasium["bookings"], gymnasium["loans"], gymnasium["units_lent"], gymnasium["loan_days"]) == \
        ("3", "2", "3", "24")
    assert (gymnasium["loan_share"], gymnasium["reach"], gymnasium["change"]) == ("66,7", "33,3", "")  # no % sign
    assert by_type[school_type("grundschule")]["reach"] == "100,0"
    assert by_type[german("Total")]["loans"] == "3"
    assert all(len(row) == len(labels) for row in rows[2:])
    assert b"\r\n" in response.content


def test_the_csv_reads_back_with_a_sniffed_and_a_registered_semicolon_dialect(client, clerk, year_2026):
    client.force_login(clerk)

    response = client.get(download_url("csv", jahr=2026, tabelle="utilisation"))

    text = response.content.decode("utf-8-sig")
    heading, table = text.split("\r\n", 2)[:2], text.split("\r\n", 2)[2]
    sniffer = csv.Sniffer()
    dialect = sniffer.sniff(table, delimiters=";,")
    assert dialect.delimiter == ";"
    assert sniffer.has_header(table)
    sniffed = list(csv.reader(io.StringIO(table, newline=""), dialect))
    csv.register_dialect("excel-de", delimiter=";", quotechar='"', lineterminator="\r\n")
    try:
        registered = list(csv.reader(io.StringIO(text, newline=""), dialect="excel-de"))
    finally:
        csv.unregister_dialect("excel-de")
    assert registered == csv_rows(response, delimiter=";")
    assert registered[:2] == [line.split(";") for line in heading]
    assert sniffed == registered[2:]
    vr = keyed(registered[3:], "utilisation")["VR-Koffer"]
    assert (vr["units"], vr["unit_days"], vr["days_on_loan"], vr["utilisation"]) == ("3", "1095", "32", "2,9")
    assert vr["location"] == "Medienzentrum Test"


def test_the_whole_csv_file_can_be_sniffed(client, clerk, year_2026):
    client.force_login(clerk)

    response = client.get(download_url("csv", jahr=2026, tabelle="utilisation"))

    assert csv.Sniffer().sniff(response.content.decode("utf-8-sig"), delimiters=";,").delimiter == ";"


def test_the_csv_writes_numbers_as_the_language_of_the_request_does(client, clerk, year_2026):
    client.force_login(clerk)

    english = client.get(download_url("csv", jahr=2026, tabelle="by_school_type"), HTTP_ACCEPT_LANGUAGE="en")

    rows = csv_rows(english, delimiter=";")
    with translation.override("en"):
        gymnasium_label = str(SchoolType("gymnasium").label)
    [gymnasium] = [row for row in rows if row[0] == gymnasium_label]
    assert "66.7" in gymnasium and "33.3" in gymnasium


def test_a_month_table_as_csv_names_the_months_in_german(client, admin_user, year_2026):
    client.force_login(admin_user)

    response = client.get(download_url("csv", jahr=2026, tabelle="by_month", standort="mz-nachbar"))

    assert response["Content-Disposition"] == 'attachment; filename="statistik-mz-nachbar-20260101-20261231-by_month.csv"'
    rows = csv_rows(response, delimiter=";")
    assert rows[1][:2] == [german("Counters"), "Medienzentrum Nachbarkreis"]
    assert not any(rows[1][2:])  # padded to the table's width
    months = [row[0] for row in rows[3:]]
    assert months == [f"{name} 2026" for name in ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli",
                                                   "August", "September", "Oktober", "November", "Dezember")] + \
        [german("Total")]
    assert rows[3 + 2][1:] == ["1", "1", "1", "3"]  # March: the neighbour's one Beamer, 10.–12.


def xlsx(response):
    return openpyxl.load_workbook(io.BytesIO(response.content))


def header_row(sheet, labels):
    """The number of the sheet's row that holds the column labels."""
    for row in sheet.iter_rows():
        if [cell.value for cell in row][:len(labels)] == labels:
            return row[0].row
    raise AssertionError(f"no header row {labels} in {sheet.title}")


def test_all_tables_as_xlsx_one_sheet_each_with_numbers_as_numbers(client, clerk, location, year_2026):
    client.force_login(clerk)

    response = client.get(download_url("xlsx", jahr=2026))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="statistik-mz-test-20260101-20261231.xlsx"'
    workbook = xlsx(response)
    expected = german_report(locations=[location])
    assert len(workbook.sheetnames) == len(TABLE_KEYS) == len({name.casefold() for name in workbook.sheetnames})
    for sheet, key in zip(workbook.worksheets, TABLE_KEYS):
        title, labels = expected[key]
        assert sheet.title == re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip()
        row = header_row(sheet, labels)
        assert all(sheet.cell(row=row, column=index).font.b for index in range(1, len(labels) + 1))

    sheet = workbook.worksheets[TABLE_KEYS.index("by_school_type")]
    start = header_row(sheet, expected["by_school_type"][1])
    rows = keyed(sheet.iter_rows(min_row=start + 1, values_only=True), "by_school_type")
    gymnasium = rows[school_type("gymnasium")]
    assert gymnasium["loans"] == 2 and isinstance(gymnasium["loans"], int)
    assert gymnasium["loan_days"] == 24
    assert gymnasium["loan_share"] == pytest.approx(66.7) and isinstance(gymnasium["loan_share"], float)
    assert gymnasium["reach"] == pytest.approx(33.3)
    assert gymnasium["change"] is None  # nothing a year earlier: an empty cell, not 0
    total = rows[german("Total")]
    assert total["loans"] == 3 and total["teachers"] == 2

    months = workbook.worksheets[TABLE_KEYS.index("by_month")]
    start = header_row(months, expected["by_month"][1])
    march = months.cell(row=start + 3, column=1)
    assert (march.value, march.data_type) == ("März 2026", "s")
    assert months.cell(row=start + 3, column=2).value == 1
    assert months.cell(row=start + 3, column=2).data_type == "n"


def test_each_xlsx_sheet_starts_with_the_title_the_period_and_the_counters(client, clerk, location, year_2026):
    client.force_login(clerk)

    workbook = xlsx(client.get(download_url("xlsx", jahr=2026)))

    expected = german_report(locations=[location])
    for sheet, key in zip(workbook.worksheets, TABLE_KEYS):
        title, labels = expected[key]
        assert sheet["A1"].value == title
        assert [sheet["A2"].value, sheet["B2"].value] == [german("Period"), "2026"]
        assert [sheet["A3"].value, sheet["B3"].value] == [german("Counters"), "Medienzentrum Test"]
        assert header_row(sheet, labels) == 5


def test_one_table_as_xlsx(client, clerk, year_2026):
    client.force_login(clerk)

    response = client.get(download_url("xlsx", jahr=2026, tabelle="utilisation"))

    assert response["Content-Disposition"] == 'attachment; filename="statistik-mz-test-20260101-20261231-utilisation.xlsx"'
    workbook = xlsx(response)
    assert len(workbook.sheetnames) == 1
    values = [row for row in workbook.active.iter_rows(values_only=True) if row[0] == "VR-Koffer"]
    assert values == [("VR-Koffer", values[0][1], "Medienzentrum Test", 3, 1095, 32, pytest.approx(2.9), 0, 0, 0, 0, 0)]


def pdf_text(response):
    document = pdfium.PdfDocument(response.content)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def squeezed(text):
    """Text without white space (a cell's text may wrap onto a second line)."""
    return re.sub(r"\s+", "", text)


def test_all_tables_as_pdf(client, clerk, location, year_2026):
    client.force_login(clerk)

    response = client.get(download_url("pdf", jahr=2026))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="statistik-mz-test-20260101-20261231.pdf"'
    assert response.content.startswith(b"%PDF-")
    text = squeezed(pdf_text(response))
    for title, _labels in german_report(locations=[location]).values():
        assert squeezed(title) in text
    assert "MedienzentrumTest" in text
    assert squeezed("Gymnasium am Park") in text
    assert "66,7%" in text and "1095" in text
    assert "Fremdort" not in text


def test_one_table_as_pdf_has_it_in_the_title(client, admin_user, year_2026):
    client.force_login(admin_user)

    response = client.get(download_url("pdf", jahr=2026, tabelle="by_school", standort="mz-nachbar"))

    assert response["Content-Disposition"] == 'attachment; filename="statistik-mz-nachbar-20260101-20261231-by_school.pdf"'
    document = pdfium.PdfDocument(response.content)
    with translation.override("de"):
        title = gettext("Statistics %(period)s") % {"period": "2026"}
        table_title = str(statistics_report(period=Period.year(2026)).tables["by_school"].title)
    assert document.get_metadata_dict()["Title"] == f"{title}: {table_title}"
    document.close()
    text = squeezed(pdf_text(response))
    assert squeezed("Realschule Fremdort") in text
    assert squeezed("Gymnasium am Park") not in text


# Formulas in names are text in every file -------------------------------------------------------


@pytest.fixture
def formulas(location, teacher_a):
    """A school and three items whose names a spreadsheet would run as formulas, each lent once in
    2026 at mz-test."""
    school = factories.make_school(name=FORMULAS[0])
    for name in FORMULAS[1:]:
        item_type = factories.make_item_type(location=location, name=name, units=1)
        lend(location=location, school=school, units=list(item_type.units.all()), pickup_day=d(4, 14),
             return_day=d(4, 21))
    return school


@pytest.mark.parametrize("table, name", [
    ("by_school", FORMULAS[0]), ("by_item_type", FORMULAS[1]), ("by_item_type", FORMULAS[2]),
    ("by_item_type", FORMULAS[3]), ("utilisation", FORMULAS[3]), ("damage", FORMULAS[1]),
])
def test_a_formula_in_a_name_starts_with_an_apostrophe_in_the_csv(client, clerk, formulas, table, name):
    client.force_login(clerk)

    response = client.get(download_url("csv", jahr=2026, tabelle=table))

    assert response.status_code == 200
    first_cells = [row[0] for row in csv_rows(response, delimiter=";")]
    assert "'" + name in first_cells
    assert name not in first_cells


def test_a_formula_in_a_name_is_a_string_in_the_xlsx(client, clerk, formulas):
    client.force_login(clerk)

    response = client.get(download_url("xlsx", jahr=2026))

    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    found = {}
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for xlsx_cell in row:
                if xlsx_cell.value in FORMULAS:
                    found.setdefault(xlsx_cell.value, set()).add(xlsx_cell.data_type)
                assert xlsx_cell.data_type != "f", (sheet.title, xlsx_cell.coordinate, xlsx_cell.value)
    assert found == {name: {"s"} for name in FORMULAS}
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/") and name.endswith(".xml")]
        assert len(sheets) == len(TABLE_KEYS)
        for name in sheets:
            xml = archive.read(name).decode()
            assert "<f>" not in xml and "<f " not in xml, name
        xml = "".join(archive.read(name).decode() for name in archive.namelist() if name.endswith(".xml"))
    # Stored as text: the string itself (quotes escaped as XML may), never a formula element.
    assert re.search(r'=HYPERLINK\((&quot;|")http://evil(&quot;|"),(&quot;|")x(&quot;|")\)', xml)


def test_a_formula_in_a_name_prints_as_itself_in_the_pdf(client, clerk, formulas):
    client.force_login(clerk)

    response = client.get(download_url("pdf", jahr=2026))

    text = squeezed(pdf_text(response))
    for name in FORMULAS:
        assert squeezed(name) in text
    assert squeezed("'" + FORMULAS[0]) not in text  # the apostrophe is the CSV's alone


def test_a_formula_in_a_name_is_escaped_on_the_dashboard(client, clerk, formulas):
    client.force_login(clerk)

    response = client.get(dashboard_url(jahr=2026))

    content = page(response)
    assert "=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)" in content
    assert FORMULAS[0] not in content
    assert [row[0] for row in parsed(response).tables["table-by_school"][1:]] == [FORMULAS[0], german("Total")]


def test_a_long_table_shows_its_busiest_rows_and_the_files_hold_every_row(client, clerk, location, school_a, teacher_a):
    """More items than the page shows (frontend.statistics_views.PAGE_ROWS): the page lists those
    lent most, says how many more there are; the XLSX has them all."""
    from frontend.statistics_views import PAGE_ROWS

    items = [factories.make_item_type(location=location, name=f"Kamera {number:02d}", slug=f"kamera-{number:02d}",
                                      units=3) for number in range(PAGE_ROWS + 3)]
    busiest = items[-1]  # the last by name, lent most
    for _ in range(3):
        lend(location=location, school=school_a, borrower=teacher_a, units=list(busiest.units.all()[:1]),
             pickup_day=d(3, 10), return_day=d(3, 11))
    for item in items[:-1]:
        lend(location=location, school=school_a, borrower=teacher_a, units=list(item.units.all()[:1]),
             pickup_day=d(4, 14), return_day=d(4, 15))
    client.force_login(clerk)

    response = client.get(dashboard_url(jahr=2026))

    shown = response.context["tables"]["by_item_type"]
    assert len(shown.rows) == PAGE_ROWS and shown.hidden == 3
    assert shown.rows[0]["item_type"] == busiest.name and shown.rows[0]["loans"] == 3
    assert shown.total["loans"] == 3 + PAGE_ROWS + 2  # the total counts every row, shown or not
    with translation.override("de"):
        note = ngettext("The %(shown)s rows with the highest figures are shown; %(count)s more row is in the files "
                        "below.", "The %(shown)s rows with the highest figures are shown; %(count)s more rows are in "
                        "the files below.", 3) % {"shown": PAGE_ROWS, "count": 3}
    assert note in page(response)
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(download_url("xlsx", jahr=2026,
                                                                          tabelle="by_item_type")).content))
    names = [row[0] for row in workbook.active.iter_rows(values_only=True)]
    assert all(item.name in names for item in items)

"""The statistics dashboard (/statistik/) in a real browser, over a small media centre written with
the ORM: two counters, three item types (one needs a qualification), schools of three types, loans
returned (one late) and one still out, a no-show, a cancellation and a qualification granted, this
year and the year before.

Counter staff open the dashboard in German (the default) and in English at 320 px, 390 px and
1280 px; on each it must hold, with the reflow test's checks (CHECK_LAYOUT, axe-core WCAG 2.1 AA),
that the page does not scroll sideways, nothing is cut off, and the headline figures are this
data's. Then: each bar chart is followed by its data table, and its "as a table" link brings the
table into view and the focus to it; every table's scroll region is reached with Tab; another
year chosen in the form shows that year's figures; a period that ends before it begins is refused
(HTTP 400, the message in role=alert); "All tables as XLSX" downloads a workbook openpyxl reads.
An administrator sees both counters together and can choose one.

Screenshots: test-results/e2e/<test>/NN-<step>.png (the suite's `screenshot` fixture, full page).
Every test in this folder is marked ``e2e`` by tests/e2e/conftest.py.
"""

import datetime
import io
import re
from dataclasses import dataclass

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role, SchoolType
from lending.models import Handover, ReservationEvent, ReservationStatus
from tests import factories
from tests.e2e.test_reflow import AXE, CHECK_LAYOUT, axe_violations, sign_in

PASSWORD = "correct-horse-battery"  # every factory user's
WIDTHS = (320, 390, 1280)
LANGUAGES = ("de", "en")
ZONE = timezone.get_default_timezone()
# The headline cards, in the overview's order: bookings, loans, units lent, loan days, schools
# reached, teachers reached.
CARD_LABELS_EN = ["Bookings", "Loans", "Units lent", "Loan days", "Schools reached", "Teachers reached"]


@dataclass
class Figures:
    year: int
    this_year: list  # the six cards' values at the clerk's counter
    year_before: list
    all_counters: list  # this year, both counters (what the administrator sees)
    other_counter: list  # this year, the counter the clerk does not work at


def at(day, hour=10):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=ZONE)


def loan(*, location, school, borrower, units, pickup_day, return_day, returned_on=None, late=False,
         clerk=None, status=None):
    """A booking of `units` (one line per item type) handed out on its pickup day, and taken back on
    `returned_on` (complete) unless None (still out)."""
    lines = {}
    for unit in units:
        lines[unit.item_type] = lines.get(unit.item_type, 0) + 1
    reservation = factories.make_reservation(
        location=location, school=school, borrower=borrower, lines=lines, pickup_day=pickup_day,
        return_day=return_day,
        status=status or (ReservationStatus.RETURNED if returned_on else ReservationStatus.HANDED_OUT))
    for unit in units:
        Handover.objects.create(
            reservation=reservation, unit=unit, handed_out_at=at(pickup_day, 9), handed_out_by=clerk,
            returned_at=at(returned_on, 12) if returned_on else None, returned_by=clerk if returned_on else None,
            return_condition=Handover.Condition.COMPLETE if returned_on else "", returned_late=late)
    return reservation


@pytest.fixture
def media_centre(db):
    """Counter Mitte (the clerk "tim" works there) and counter Nord; the figures they must show."""
    year = timezone.localdate().year
    mitte = factories.make_location(name="Medienzentrum Mitte", slug="mitte")
    nord = factories.make_location(name="Medienzentrum Nord", slug="nord")
    clerk = factories.make_user(username="tim", role=Role.STAFF, first_name="Tim", last_name="Becker")
    clerk.locations.add(mitte)

    park = factories.make_school(name="Gymnasium am Park", school_type=SchoolType.GYMNASIUM)
    north = factories.make_school(name="Grundschule Nord", school_type=SchoolType.GRUNDSCHULE)
    south = factories.make_school(name="Realschule Süd", school_type=SchoolType.REALSCHULE)
    alice = factories.make_user(username="alice", schools=[park], first_name="Alice", last_name="Adler")
    dora = factories.make_user(username="dora", schools=[park], first_name="Dora", last_name="Demir")
    bob = factories.make_user(username="bob", schools=[north], first_name="Bob", last_name="Berg")
    carla = factories.make_user(username="carla", schools=[south], first_name="Carla", last_name="Cruz")

    training = factories.make_qualification(name="3D-Druck-Einweisung")
    vr = factories.make_item_type(location=mitte, name="VR-Koffer mit 12 Brillen", slug="vr", units=2)
    robots = factories.make_item_type(location=mitte, name="Ozobot-Klassensatz", slug="ozobot", units=2)
    printer = factories.make_item_type(location=mitte, name="3D-Drucker", slug="3d-drucker", units=1,
                                       required_qualification=training)
    tablets = factories.make_item_type(location=nord, name="Tablet-Koffer", slug="tablets", units=1)
    vr_1, vr_2 = vr.units.all()
    robot_1, _robot_2 = robots.units.all()
    printer_1, tablet_1 = printer.units.get(), tablets.units.get()

    def day(month, day_of_month, in_year=year):
        return datetime.date(in_year, month, day_of_month)

    common = {"location": mitte, "clerk": clerk}
    # This year at Mitte.
    loan(**common, school=park, borrower=alice, units=[vr_1, vr_2], pickup_day=day(1, 6), return_day=day(1, 9),
         returned_on=day(1, 9))                                   # 2 units x 4 days
    loan(**common, school=north, borrower=bob, units=[robot_1], pickup_day=day(1, 13), return_day=day(1, 15),
         returned_on=day(1, 17), late=True)                       # 1 x 3 days, 2 days late
    loan(**common, school=south, borrower=carla, units=[printer_1], pickup_day=day(1, 20),
         return_day=day(1, 27))                                   # 1 x 8 days, still out
    factories.grant_qualification(user=carla, qualification=training, granted_on=day(1, 10))
    # Before Carla, Dora had the 3D printer for two days.
    dora_printer = factories.make_reservation(
        location=mitte, school=park, borrower=dora, lines={printer: 1}, pickup_day=day(1, 2), return_day=day(1, 3),
        status=ReservationStatus.RETURNED)                        # 1 x 2 days
    Handover.objects.create(reservation=dora_printer, unit=printer_1, handed_out_at=at(day(1, 2), 9),
                            returned_at=at(day(1, 3), 12), return_condition=Handover.Condition.COMPLETE)
    cancelled = factories.make_reservation(
        location=mitte, school=park, borrower=alice, lines={robots: 1}, pickup_day=day(2, 10), return_day=day(2, 12),
        status=ReservationStatus.CANCELLED)
    event = ReservationEvent.objects.create(reservation=cancelled, action=ReservationEvent.Action.CANCELLED,
                                            actor=alice)
    ReservationEvent.objects.filter(pk=event.pk).update(at=at(day(2, 3)))  # a week before its pickup day
    factories.make_reservation(location=mitte, school=north, borrower=bob, lines={vr: 1}, pickup_day=day(2, 17),
                               return_day=day(2, 18), status=ReservationStatus.NO_SHOW)
    # The year before at Mitte.
    before = year - 1
    loan(**common, school=park, borrower=alice, units=[vr_1], pickup_day=day(3, 10, before),
         return_day=day(3, 12, before), returned_on=day(3, 12, before))   # 1 x 3 days
    loan(**common, school=north, borrower=bob, units=[robot_1], pickup_day=day(4, 14, before),
         return_day=day(4, 15, before), returned_on=day(4, 15, before))   # 1 x 2 days
    factories.make_reservation(location=mitte, school=south, borrower=carla, lines={printer: 1},
                               pickup_day=day(5, 5, before), return_day=day(5, 8, before),
                               status=ReservationStatus.NO_SHOW)
    # This year at Nord, which the clerk does not see.
    loan(location=nord, school=south, borrower=carla, units=[tablet_1], pickup_day=day(3, 3), return_day=day(3, 5),
         returned_on=day(3, 5))                                   # 1 x 3 days

    return Figures(
        year=year,
        # Bookings (not cancelled), loans, units lent, loan days, schools reached, teachers reached.
        this_year=[5, 4, 5, 21, 3, 4],
        year_before=[3, 2, 2, 5, 2, 2],
        all_counters=[6, 5, 6, 24, 3, 4],
        other_counter=[1, 1, 1, 3, 1, 1],
    )


def switch_language(page, language):
    """As a user switches: the header's language form."""
    page.goto("/")
    page.locator("#language-select").select_option(language)
    page.locator("form.language-form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def card_values(page):
    cards = page.locator("ul.figure-cards > li")
    expect(cards).to_have_count(6)
    return [int(text.strip()) for text in cards.locator(".figure-value").all_inner_texts()]


def page_problems(page, where, axe):
    """The reflow test's layout findings and axe-core's WCAG 2.1 AA violations, each with `where`."""
    problems = [f"{where}: {problem}" for problem in page.evaluate(CHECK_LAYOUT)]
    return problems + [f"{where}: axe {violation}" for violation in axe_violations(page, axe)]


def assert_no_problems(problems):
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def submit(page):
    """Send the filter form; the answer (its response) once the new page has loaded, stylesheet and
    all, so the layout checks read the page as it is shown."""
    with page.expect_navigation(wait_until="load") as navigation:
        page.locator("form.filter-form button[type=submit]").click()
    return navigation.value


def open_dashboard(page, query=""):
    response = page.goto(f"/statistik/{query}")
    assert response is not None and response.status == 200, response and response.status
    return response


def test_the_dashboard_reflows_in_both_languages_and_shows_the_figures(page, screenshot, media_centre):
    figures = media_centre
    sign_in(page, "tim", PASSWORD, secret=factories.TOTP_SECRET)
    axe = AXE.read_text(encoding="utf-8")
    problems, pictures = [], []
    for language in LANGUAGES:
        switch_language(page, language)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            open_dashboard(page)
            where = f"/statistik/ at {width} px ({language})"
            assert page.evaluate("document.documentElement.lang") == language, where
            expect(page.locator("h1")).to_have_text(re.compile(rf"^Statisti(k|cs) {figures.year}$"))
            assert card_values(page) == figures.this_year, where
            # The clerk works at one counter only: hers is named, the other's loan is not counted.
            expect(page.locator("main p.meta")).to_have_text("Medienzentrum Mitte")
            changes = page.locator("ul.figure-cards .figure-change").all_inner_texts()
            decimal = "," if language == "de" else "."
            assert f"66{decimal}7 %" in changes[0] and "(3)" in changes[0], (where, changes[0])  # 5 against 3
            if language == "en":
                labels = page.locator("ul.figure-cards .figure-label").all_inner_texts()
                assert [label.strip() for label in labels] == CARD_LABELS_EN, labels
            # No sideways scrolling, nothing cut off, every scrolling table reachable and named, no
            # WCAG 2.1 A/AA violation.
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), where
            problems += page_problems(page, where, axe)
            pictures.append(screenshot(f"statistik-{width}-{language}"))
    for picture in pictures:
        assert picture.exists() and picture.stat().st_size > 1000, picture
    assert len({picture.parent for picture in pictures}) == 1 and len(pictures) == len(WIDTHS) * len(LANGUAGES)
    assert_no_problems(problems)


def test_each_chart_is_followed_by_its_table_and_links_to_it(page, screenshot, media_centre):
    sign_in(page, "tim", PASSWORD, secret=factories.TOTP_SECRET)
    page.set_viewport_size({"width": 390, "height": 800})
    open_dashboard(page)
    charts = page.locator("figure.bar-chart")
    expect(charts).to_have_count(4)  # months, school types, reach, utilisation
    for index in range(charts.count()):
        chart = charts.nth(index)
        link = chart.locator("a.chart-table-link")
        expect(link).to_have_text(re.compile(r"^(as a table|als Tabelle)$"))
        target = link.get_attribute("href")
        assert re.fullmatch(r"#table-[a-z_]+", target), target
        # The first data table after the chart in the document is the one its link names.
        following = chart.evaluate("""(figure) => {
            const tables = [...document.querySelectorAll("table.statistics-table")];
            const next = tables.find((table) => figure.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING);
            return next ? next.id : null;
        }""")
        assert f"#{following}" == target, (index, following, target)
        # Following the link scrolls the table into view and takes the focus there.
        page.evaluate("window.scrollTo(0, 0)")
        table = page.locator(target)
        expect(table).not_to_be_in_viewport()
        link.click()
        expect(page).to_have_url(re.compile(re.escape(target) + "$"))
        expect(table).to_be_in_viewport()
        focus = page.evaluate("""(id) => {
            const table = document.getElementById(id), active = document.activeElement;
            return {at: active.tagName + (active.id ? "#" + active.id : "") + "." + [...active.classList].join("."),
                    there: active === table || table.contains(active) || active === table.closest(".table-scroll")};
        }""", target[1:])
        assert focus["there"], f"after {target} the focus is on {focus['at']}"
        if index == 0:
            screenshot("after-as-a-table")


def test_every_table_region_is_reached_by_keyboard(page, screenshot, media_centre):
    sign_in(page, "tim", PASSWORD, secret=factories.TOTP_SECRET)
    page.set_viewport_size({"width": 320, "height": 800})
    open_dashboard(page)
    regions = page.locator(".table-scroll")
    names = regions.evaluate_all("(regions) => regions.map((region) => region.getAttribute('aria-labelledby'))")
    assert len(names) == 12, names  # every table of the report
    page.locator("body").focus()
    reached, wide = [], None
    for _press in range(300):
        page.keyboard.press("Tab")
        active = page.evaluate("""() => {
            const el = document.activeElement;
            if (!el.matches(".table-scroll")) return null;
            return {name: el.getAttribute("aria-labelledby"), role: el.getAttribute("role"),
                    wide: el.scrollWidth > el.clientWidth};
        }""")
        if active:
            assert active["role"] == "region", active
            if active["name"] not in reached:
                reached.append(active["name"])
            if active["wide"] and wide is None:
                wide = active["name"]
                # A focused region scrolls with the arrow keys.
                page.keyboard.press("ArrowRight")
                page.keyboard.press("ArrowRight")
                region = page.locator(f".table-scroll[aria-labelledby='{wide}']")
                expect(region).to_be_focused()
                page.wait_for_function("(el) => el.scrollLeft > 0", arg=region.element_handle())
                screenshot("table-region-focused-and-scrolled")
        if len(reached) == len(names):
            break
    assert reached == names, f"Tab reached {reached} of {names}"
    assert wide is not None, "at 320 px at least one table is wider than its region"


def test_another_year_and_an_invalid_period(page, screenshot, media_centre):
    figures = media_centre
    sign_in(page, "tim", PASSWORD, secret=factories.TOTP_SECRET)
    switch_language(page, "en")
    axe = AXE.read_text(encoding="utf-8")
    page.set_viewport_size({"width": 390, "height": 800})
    open_dashboard(page)
    assert card_values(page) == figures.this_year

    # The year before, through the form.
    page.get_by_label("Year", exact=True).fill(str(figures.year - 1))
    assert submit(page).status == 200
    expect(page).to_have_url(re.compile(rf"jahr={figures.year - 1}"))
    expect(page.locator("h1")).to_have_text(f"Statistics {figures.year - 1}")
    assert card_values(page) == figures.year_before
    expect(page.locator("ul.figure-cards .figure-change").first).to_have_text("a year earlier: 0")
    expect(page.get_by_label("Year", exact=True)).to_have_value(str(figures.year - 1))
    screenshot("year-before")

    # A period that ends before it begins: refused with the reason, and no figures.
    page.get_by_label("Year", exact=True).fill("")
    page.get_by_label("From", exact=True).fill(f"{figures.year}-03-01")
    page.get_by_label("To", exact=True).fill(f"{figures.year}-02-01")
    assert submit(page).status == 400
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("The last day must not be before the first day.")
    expect(page.locator("ul.figure-cards")).to_have_count(0)
    expect(page.get_by_label("From", exact=True)).to_have_value(f"{figures.year}-03-01")
    assert_no_problems(page_problems(page, "the invalid period at 390 px (en)", axe))
    screenshot("invalid-period")

    # The same in German, at 320 px.
    switch_language(page, "de")
    page.set_viewport_size({"width": 320, "height": 800})
    response = page.goto(f"/statistik/?von={figures.year}-03-01&bis={figures.year}-02-01")
    assert response.status == 400
    expect(page.get_by_role("alert")).not_to_be_empty()
    assert_no_problems(page_problems(page, "the invalid period at 320 px (de)", axe))
    screenshot("invalid-period-de-320")


def test_all_tables_download_as_one_workbook(page, media_centre):
    figures = media_centre
    sign_in(page, "tim", PASSWORD, secret=factories.TOTP_SECRET)
    open_dashboard(page)
    link = page.locator("main > p.downloads a[href*='download.xlsx']")
    expect(link).to_have_text(re.compile(r"^(All tables as XLSX|Alle Tabellen als XLSX)$"))
    with page.expect_download() as waiting:
        link.click()
    download = waiting.value
    assert download.failure() is None
    # Named after the counters and the period (the clerk's one counter: "mitte"; older: "alle").
    assert re.fullmatch(rf"statistik-(mitte|alle)-{figures.year}0101-{figures.year}1231\.xlsx",
                        download.suggested_filename), download.suggested_filename
    with open(download.path(), "rb") as file:
        body = file.read()
    assert body[:2] == b"PK"  # a zip container, as every XLSX
    workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    assert len(workbook.sheetnames) == 12, workbook.sheetnames  # one sheet per table
    # The overview sheet holds the cards' figures as numbers: this year, the year before.
    first_label = page.locator("ul.figure-cards .figure-label").first.inner_text().strip()
    rows = [tuple(row) for row in workbook[workbook.sheetnames[0]].iter_rows(values_only=True)]
    bookings = [row for row in rows if row and row[0] == first_label]
    assert bookings and tuple(bookings[0][1:3]) == (figures.this_year[0], figures.year_before[0]), rows


def test_an_administrator_sees_every_counter_and_can_choose_one(page, screenshot, media_centre, admin_user):
    figures = media_centre
    sign_in(page, "admin", PASSWORD, secret=factories.TOTP_SECRET)
    axe = AXE.read_text(encoding="utf-8")
    problems = []
    for width in (320, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        open_dashboard(page)
        assert card_values(page) == figures.all_counters
        problems += page_problems(page, f"/statistik/ as an administrator at {width} px", axe)
        picture = screenshot(f"all-counters-{width}")
        assert picture.exists() and picture.stat().st_size > 1000

    location = page.locator("select[name=standort]")
    expect(location.locator("option")).to_have_count(3)  # all, Mitte, Nord
    location.select_option("nord")
    assert submit(page).status == 200
    expect(page).to_have_url(re.compile(r"standort=nord"))
    expect(page.locator("main p.meta")).to_have_text("Medienzentrum Nord")
    assert card_values(page) == figures.other_counter
    problems += page_problems(page, "/statistik/?standort=nord as an administrator at 1280 px", axe)
    screenshot("counter-nord")
    assert_no_problems(problems)

"""The counter's scan field: what scan_parse makes of a string, and what counter_scan finds and logs."""

import pytest

from lending.exceptions import BookingError
from lending.models import ReservationEvent, UnitEvent
from lending.scanning import scan_parse
from lending.services import counter_scan
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY, refused_at_counter

# The host names our own links carry (what the view passes in from the request and settings).
HOSTS = ("verleih.example", "verleih.example:8000")
CODE = "ACDEFGHJKM"
TAG = "T-000123"

pytestmark = pytest.mark.usefixtures("monday")

refused = refused_at_counter


# scan_parse: no database --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, parsed",
    [
        pytest.param(CODE, ("code", CODE), id="bare booking code"),
        pytest.param("acde-fghj-km", ("code", "acde-fghj-km"), id="bare code typed lowercase with dashes"),
        pytest.param(TAG, ("code", TAG), id="bare asset tag"),
        pytest.param(f"https://verleih.example/r/{CODE}", ("booking", CODE), id="booking link"),
        pytest.param(f"https://verleih.example/r/{CODE}/", ("booking", CODE), id="booking link with trailing slash"),
        pytest.param("https://verleih.example/r/acde-fghj-km", ("booking", CODE), id="booking link normalised"),
        pytest.param(f"https://verleih.example/u/{TAG}", ("unit", TAG), id="label link"),
        pytest.param(f"https://verleih.example/u/{TAG}/", ("unit", TAG), id="label link with trailing slash"),
        pytest.param(f"http://verleih.example:8000/u/{TAG}", ("unit", TAG), id="our host with its port"),
        pytest.param(f"HTTPS://Verleih.Example/u/{TAG}", ("unit", TAG), id="scheme and host in capitals"),
        pytest.param("https://verleih.example/u/T%2D000123", ("unit", TAG), id="percent-encoded asset tag"),
        pytest.param(f"/u/{TAG}", ("unit", TAG), id="relative label path"),
        pytest.param(f"/r/{CODE}/", ("booking", CODE), id="relative booking path"),
        pytest.param(f"{TAG}\r\n", ("code", TAG), id="handheld scanner's CR LF"),
        pytest.param(f"  \thttps://verleih.example/r/{CODE}\r", ("booking", CODE), id="link with whitespace around"),
        pytest.param(f"{TAG:^400}", ("code", TAG), id="length counted after stripping"),
    ],
)
def test_it_reads_codes_and_our_own_links(raw, parsed):
    assert scan_parse(raw, hosts=HOSTS) == parsed


@pytest.mark.parametrize(
    "raw, code",
    [
        pytest.param(f"https://evil.example/r/{CODE}", "scan_foreign_url", id="foreign host"),
        pytest.param(f"https://verleih.example.evil.example/u/{TAG}", "scan_foreign_url", id="our name as a subdomain"),
        pytest.param(f"https://verleih.example@evil.example/u/{TAG}", "scan_foreign_url", id="our name as user info"),
        pytest.param(f"https://verleih.example:9999/u/{TAG}", "scan_foreign_url", id="our host on another port"),
        pytest.param("javascript:alert(1)", "scan_malformed", id="javascript scheme"),
        pytest.param(f"ftp://verleih.example/u/{TAG}", "scan_malformed", id="ftp scheme"),
        pytest.param(f"//evil.example/u/{TAG}", "scan_malformed", id="scheme-relative link"),
        pytest.param("https://verleih.example/admin/", "scan_malformed", id="neither /r/ nor /u/"),
        pytest.param(f"https://verleih.example/x/{TAG}", "scan_malformed", id="unknown one-letter path"),
        pytest.param(f"https://verleih.example/u/{TAG}/edit", "scan_malformed", id="more path after the tag"),
        pytest.param("https://verleih.example/r/", "scan_malformed", id="booking link without a code"),
        pytest.param("https://verleih.example/r/-/", "scan_malformed", id="booking link with only separators"),
        pytest.param(f"/r/{'A' * 17}", "scan_malformed", id="booking code longer than any of ours"),
        pytest.param("/u/T%2F1", "scan_malformed", id="percent-encoded slash in a tag"),
        pytest.param("/u/T 1", "scan_malformed", id="space in a tag"),
        pytest.param("T-000\x00123", "scan_malformed", id="NUL inside"),
        pytest.param(f"{TAG}\x1b", "scan_malformed", id="escape at the end"),
        pytest.param(f"{TAG}\x7f", "scan_malformed", id="DEL at the end"),
        pytest.param(f"/u/{TAG}%00", "scan_malformed", id="percent-encoded NUL"),
        pytest.param(f"/u/{TAG}%0A", "scan_malformed", id="percent-encoded newline"),
        pytest.param("-T000123", "scan_malformed", id="bare code starting with a dash"),
        pytest.param("T" * 41, "scan_malformed", id="bare code longer than an asset tag"),
        pytest.param("'; DROP TABLE lending_reservation; --", "scan_malformed", id="punctuation"),
        pytest.param("A" * 301, "scan_too_long", id="301 characters"),
        pytest.param(f"https://verleih.example/r/{'A' * 300}", "scan_too_long", id="long link"),
        pytest.param("", "scan_empty", id="empty"),
        pytest.param(None, "scan_empty", id="nothing at all"),
        pytest.param(" \t\r\n", "scan_empty", id="whitespace only"),
    ],
)
def test_it_refuses_what_is_not_a_code_or_one_of_our_links(raw, code):
    with pytest.raises(BookingError) as excinfo:
        scan_parse(raw, hosts=HOSTS)

    assert excinfo.value.code == code


def test_without_hosts_every_absolute_link_is_foreign_but_a_relative_path_is_read():
    with pytest.raises(BookingError) as excinfo:
        scan_parse(f"https://verleih.example/u/{TAG}")

    assert excinfo.value.code == "scan_foreign_url"
    assert scan_parse(f"/u/{TAG}") == ("unit", TAG)


# counter_scan: what it finds and what it logs ------------------------------------------------------


@pytest.fixture
def booking(location, school_a, teacher_a, item_type):
    return factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY,
    )


@pytest.fixture
def elsewhere(db):
    """Another media centre with a booking and a unit of its own."""
    location = factories.make_location(name="Medienzentrum Nachbarkreis", slug="mz-nachbar")
    item_type = factories.make_item_type(location=location, units=1)
    school = factories.make_school()
    borrower = factories.make_user(schools=[school])
    booking = factories.make_reservation(
        location=location, school=school, borrower=borrower, lines={item_type: 1},
        pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY,
    )
    return booking, item_type.units.get()


def dashed_lowercase(code):
    return f"{code[:5]}-{code[5:]}".lower()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(lambda code: code, id="bare code"),
        pytest.param(dashed_lowercase, id="typed lowercase with a dash"),
        pytest.param(lambda code: f"https://verleih.example/r/{code}/", id="link from the e-mail"),
        pytest.param(lambda code: f"/r/{code}\r\n", id="relative path from the handheld scanner"),
    ],
)
def test_a_scanned_booking_is_found_and_the_scan_logged_once_with_the_clerk(booking, location, clerk, raw):
    found = counter_scan(actor=clerk, location=location, raw=raw(booking.code), hosts=HOSTS)

    assert (found.step, found.reservation) == ("hand_over", booking)
    [event] = ReservationEvent.objects.all()
    assert (event.reservation, event.action, event.actor, event.data) == (
        booking, ReservationEvent.Action.SCANNED, clerk, {"location": "mz-test"}
    )
    assert not UnitEvent.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(lambda tag: tag, id="bare asset tag"),
        pytest.param(lambda tag: f"https://verleih.example/u/{tag}", id="label link"),
        pytest.param(lambda tag: f"https://verleih.example:8000/u/{tag.replace('-', '%2D')}/", id="encoded link"),
    ],
)
def test_a_scanned_unit_is_found_and_the_scan_logged_once_with_the_clerk(units, location, clerk, raw):
    unit = units[1]

    found = counter_scan(actor=clerk, location=location, raw=raw(unit.asset_tag), hosts=HOSTS)

    assert (found.step, found.unit) == ("show_unit", unit)
    [event] = UnitEvent.objects.all()
    assert (event.unit, event.action, event.actor, event.data) == (
        unit, UnitEvent.Action.SCANNED, clerk, {"location": "mz-test"}
    )
    assert not ReservationEvent.objects.exists()


def test_every_scan_is_logged_so_two_scans_write_two_events(booking, location, clerk):
    counter_scan(actor=clerk, location=location, raw=booking.code)
    counter_scan(actor=clerk, location=location, raw=booking.code)

    assert ReservationEvent.objects.filter(reservation=booking, action=ReservationEvent.Action.SCANNED).count() == 2


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("ACDEFGHJKM", id="bare code of nothing"),
        pytest.param("https://verleih.example/r/ACDEFGHJKM", id="link to no booking"),
        pytest.param("/u/T-999999", id="link to no unit"),
    ],
)
def test_an_unknown_code_is_refused_and_nothing_written(booking, units, location, clerk, raw):
    assert refused(counter_scan, actor=clerk, location=location, raw=raw, hosts=HOSTS) == "scan_unknown"


def test_a_label_link_does_not_find_a_booking_with_that_code(booking, location, clerk):
    assert refused(counter_scan, actor=clerk, location=location, raw=f"/u/{booking.code}") == "scan_unknown"


def test_a_booking_of_another_counter_is_refused_and_nothing_written(elsewhere, location, clerk):
    other_booking, _ = elsewhere

    assert refused(
        counter_scan, actor=clerk, location=location, raw=f"https://verleih.example/r/{other_booking.code}", hosts=HOSTS
    ) == "scan_other_location"


def test_a_unit_of_another_counter_is_refused_and_nothing_written(elsewhere, location, clerk):
    _, other_unit = elsewhere

    assert refused(counter_scan, actor=clerk, location=location, raw=other_unit.asset_tag) == "scan_other_location"


def test_a_link_to_another_site_is_refused_before_anything_is_looked_up(booking, location, clerk):
    raw = f"https://evil.example/r/{booking.code}"

    assert refused(counter_scan, actor=clerk, location=location, raw=raw, hosts=HOSTS) == "scan_foreign_url"

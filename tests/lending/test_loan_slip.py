"""The loan slip: read back from the real PDF, its text page by page and its QR code with a real decoder."""

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.utils.translation import gettext

from lending.models import Handover
from lending.services import handover_assign_unit, handover_complete
from lending.slips import DEFAULT_LENDING_TERMS, loan_slip_pdf
from tests import factories
from tests.lending.conftest import TUESDAY, travel_to

BOOKING_URL = "https://verleih.example.de/r/K7M2-X9QP"


@pytest.fixture(autouse=True)
def on_pickup_day(time_machine):
    travel_to(time_machine, TUESDAY)


def slip(reservation, booking_url=BOOKING_URL):
    handovers = list(
        Handover.objects.filter(reservation=reservation, returned_at__isnull=True)
        .select_related("unit", "unit__item_type")
    )
    return loan_slip_pdf(reservation=reservation, handovers=handovers, booking_url=booking_url)


def page_texts(pdf):
    """The text of every page, with runs of white space (line breaks in wrapped text) as one space."""
    return [" ".join(page.get_textpage().get_text_range().split()) for page in pdfium.PdfDocument(pdf)]


def qr_codes_on_first_page(pdf):
    image = pdfium.PdfDocument(pdf)[0].render(scale=2).to_pil()
    return [result.text for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_it_names_the_counter_the_booking_the_borrower_and_the_days(loan, location):
    location.address = "Königswall 18\n44137 Dortmund"
    location.save()
    loan.refresh_from_db()

    [text] = page_texts(slip(loan))

    for expected in (
        gettext("Loan slip"), "Medienzentrum Test", "Königswall 18", "44137 Dortmund", loan.code,
        "Alice Adler", "Gymnasium am Park", loan.school.number, "02.03.2027", "10.03.2027",
    ):
        assert expected in text


def test_it_lists_every_unit_with_its_item_serial_number_and_contents(loan, units):
    units[0].serial_number = "SN-4711"
    units[0].contents = "Brille\nController (2)\nLadekabel"
    units[0].save()

    [text] = page_texts(slip(loan))

    assert units[0].asset_tag in text and units[1].asset_tag in text
    assert units[2].asset_tag not in text  # booked but never handed out
    assert "SN-4711" in text
    assert "Brille, Controller (2), Ladekabel" in text
    assert "VR-Koffer" in text
    assert "Koffer, Ladekabel" in text  # the item type's contents when the unit has none of its own


def test_the_qr_code_reads_back_as_the_booking_url(loan):
    assert qr_codes_on_first_page(slip(loan)) == [BOOKING_URL]


def test_the_default_terms_and_both_signature_lines_are_printed(loan, clerk):
    clerk.first_name, clerk.last_name = "Clara", "Kranz"
    clerk.save()

    [text] = page_texts(slip(loan))

    assert gettext("Lending terms") in text
    assert " ".join(str(DEFAULT_LENDING_TERMS).split()) in text
    assert gettext("Date, signature of the borrower") in text
    assert gettext("Handed out by") in text
    assert "Clara Kranz" in text


def test_a_locations_own_terms_replace_the_default(loan, location):
    location.lending_terms = "Die Geräte sind pfleglich zu behandeln.\n\nVerlust & Schaden <sofort> melden."
    location.save()
    loan.refresh_from_db()

    [text] = page_texts(slip(loan))

    assert "Die Geräte sind pfleglich zu behandeln." in text
    assert "Verlust & Schaden <sofort> melden." in text
    assert " ".join(str(DEFAULT_LENDING_TERMS).split()) not in text


def test_a_removed_borrower_prints_the_placeholder(loan):
    loan.borrower = None
    loan.save()

    [text] = page_texts(slip(loan))

    assert gettext("(person removed)") in text
    assert "Alice" not in text


def test_umlauts_and_markup_characters_print_as_written(loan, teacher_a, school_a, units):
    teacher_a.first_name, teacher_a.last_name = "Jürgen <Jo>", "Müller & Söhne"
    teacher_a.save()
    school_a.name = "Schule am Bärenbach & Co <Süd>"
    school_a.save()
    units[0].serial_number = "Ä<&>ß"
    units[0].save()
    loan.refresh_from_db()

    [text] = page_texts(slip(loan))

    assert "Jürgen <Jo> Müller & Söhne" in text
    assert "Schule am Bärenbach & Co <Süd>" in text
    assert "Ä<&>ß" in text
    assert "&amp;" not in text and "&lt;" not in text


def test_turkish_and_polish_names_print_as_written(loan, teacher_a):
    teacher_a.first_name, teacher_a.last_name = "Şükrü Łukasz", "Yıldız-Öğüt"
    teacher_a.save()
    loan.refresh_from_db()

    [text] = page_texts(slip(loan))

    assert "Şükrü Łukasz Yıldız-Öğüt" in text


def test_forty_units_flow_onto_further_pages_each_unit_once(location, school_a, teacher_a, clerk):
    item_type = factories.make_item_type(location=location, name="iPad-Koffer", units=40)
    reservation = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 40},
        pickup_day=TUESDAY, return_day=TUESDAY,
    )
    for unit in item_type.units.all():
        handover_assign_unit(reservation=reservation, unit=unit, actor=clerk)
    handover_complete(reservation=reservation, actor=clerk)

    pdf = slip(reservation)
    pages = page_texts(pdf)

    assert len(pages) > 1
    everything = " ".join(pages)
    for unit in item_type.units.all():
        assert everything.count(unit.asset_tag) == 1
    # The table heading repeats and every page names the booking.
    assert all(gettext("Asset tag") in page and reservation.code in page for page in pages)
    assert gettext("Date, signature of the borrower") in pages[-1]
    assert qr_codes_on_first_page(pdf) == [BOOKING_URL]

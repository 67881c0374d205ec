"""Label sheets: every QR code in the PDF is read back with a real decoder at its expected place."""

import random

import pypdfium2 as pdfium
import pytest
import qrcode
import zxingcpp
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from qrcode import util
from qrcode.constants import ERROR_CORRECT_M

from catalog.exceptions import CatalogError
from catalog.labels import (
    LABEL_FORMATS,
    _packed,
    _penalty,
    _version_masks,
    label_base_url,
    label_sheet_pdf,
    qr_matrix,
    unit_label_url,
)
from catalog.models import Unit
from tests import factories

BASE_URL = "https://verleih.example.de"
POINTS_PER_MM = 72 / 25.4


def read_pages(pdf, *, scale):
    """Each page's QR codes as (text, centre x, centre y in mm from the top left) and its text."""
    document = pdfium.PdfDocument(pdf)
    pages = []
    for page in document:
        image = page.render(scale=scale).to_pil()
        codes = []
        for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
            corners = (result.position.top_left, result.position.top_right,
                       result.position.bottom_right, result.position.bottom_left)
            x = sum(corner.x for corner in corners) / 4 / scale / POINTS_PER_MM
            y = sum(corner.y for corner in corners) / 4 / scale / POINTS_PER_MM
            codes.append((result.text, x, y))
        pages.append({"codes": codes, "text": page.get_textpage().get_text_range()})
    return pages


def expected_place(layout, *, index, start_position):
    """Page and 0-based (column, row) of the index-th unit on sheets that start at start_position."""
    slot = start_position - 1 + index
    page, position = divmod(slot, layout.labels_per_sheet)
    return page, layout.cell(position + 1)


def cell_of(layout, x, y):
    return int((x - layout.left_margin) // layout.column_pitch), int((y - layout.top_margin) // layout.row_pitch)


@pytest.fixture
def units(location):
    item_type = factories.make_item_type(location=location, name="VR-Koffer mit 12 Brillen", units=30)
    return list(Unit.objects.filter(item_type=item_type).select_related("item_type").order_by("asset_tag"))


@pytest.mark.parametrize(("label_format", "scale", "per_page"), [
    ("3x8", 3, [20, 10]),
    ("2x4", 2, [4, 8, 8, 8, 2]),
])
def test_every_qr_code_reads_back_as_its_unit_url_in_its_label(units, label_format, scale, per_page):
    layout = LABEL_FORMATS[label_format]
    pdf = label_sheet_pdf(units=units, label_format=label_format, start_position=5, base_url=BASE_URL)

    pages = read_pages(pdf, scale=scale)

    assert [len(page["codes"]) for page in pages] == per_page
    decoded = [text for page in pages for text, _x, _y in page["codes"]]
    assert sorted(decoded) == sorted(f"{BASE_URL}/u/{unit.asset_tag}" for unit in units)
    for index, unit in enumerate(units):
        page_number, cell = expected_place(layout, index=index, start_position=5)
        page = pages[page_number]
        [(x, y)] = [(x, y) for text, x, y in page["codes"] if text.endswith(f"/u/{unit.asset_tag}")]
        assert cell_of(layout, x, y) == cell
        assert unit.asset_tag in page["text"]
    assert "VR-Koffer mit 12 Brillen" in " ".join(pages[0]["text"].split())  # the name may wrap


def test_the_first_code_sits_in_the_fifth_label_when_starting_at_five(units):
    pdf = label_sheet_pdf(units=units[:1], label_format="3x8", start_position=5, base_url=BASE_URL)

    [page] = read_pages(pdf, scale=3)

    [(text, x, y)] = page["codes"]
    assert text == f"{BASE_URL}/u/{units[0].asset_tag}"
    # Position 5 of 3 × 8 is the second label of the second row: 70–140 mm across, 37.5–74.5 mm down.
    assert 70 < x < 140 and 37.5 < y < 74.5


def test_a_long_name_and_a_long_tag_still_fit_and_read(location):
    item_type = factories.make_item_type(
        location=location, units=0,
        name="Digital Making Place: Maker-Koffer mit Calliope mini, Ozobots, Lötstation und sehr vielem Zubehör",
    )
    unit = Unit.objects.create(item_type=item_type, asset_tag="MZ-DORTMUND-MAKER-KOFFER-2025-000000001")

    [page] = read_pages(label_sheet_pdf(units=[unit], label_format="3x8", base_url=BASE_URL), scale=3)

    assert [text for text, _x, _y in page["codes"]] == [f"{BASE_URL}/u/{unit.asset_tag}"]
    assert unit.asset_tag in "".join(page["text"].split())
    assert "Digital Making Place" in page["text"]


def test_the_qr_code_is_large_enough_with_its_quiet_zone_on_the_small_labels():
    layout = LABEL_FORMATS["3x8"]
    modules = len(qr_matrix(f"{BASE_URL}/u/MZ-VR-0001"))

    module_mm = layout.qr_size / (modules + 8)

    assert modules * module_mm >= 22
    assert layout.padding + layout.qr_size < layout.label_width and layout.qr_size <= layout.label_height


def test_both_formats_fill_an_a4_page():
    for layout in LABEL_FORMATS.values():
        assert layout.left_margin * 2 + layout.columns * layout.column_pitch == pytest.approx(210)
        assert layout.top_margin * 2 + layout.rows * layout.row_pitch == pytest.approx(297)


def test_the_mask_is_the_one_qrcode_would_choose():
    chooser = random.Random(3)
    for _ in range(60):
        data = BASE_URL + "/u/" + "".join(chooser.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", k=chooser.randint(1, 90)))
        code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
        code.add_data(data)
        code.make(fit=True)
        assert qr_matrix(data) == code.modules


@pytest.mark.parametrize("version", [1, 3, 4, 7, 10])
def test_the_mask_penalty_equals_qrcodes(version):
    chooser = random.Random(version)
    count = version * 4 + 17
    for _ in range(20):
        dark_share = chooser.choice([0.2, 0.5, 0.8])
        modules = [[chooser.random() < dark_share for _ in range(count)] for _ in range(count)]
        assert _penalty(_packed(modules), _version_masks(version)) == util.lost_point(modules)


def test_the_unit_url_escapes_the_tag():
    assert unit_label_url(base_url=BASE_URL + "/", asset_tag="A B/1") == f"{BASE_URL}/u/A%20B%2F1"


def test_the_base_url_is_the_site_url_or_else_the_requests(settings, rf):
    settings.SITE_URL = "https://verleih.example.de/"
    assert label_base_url(request=None) == "https://verleih.example.de"
    settings.SITE_URL = ""
    assert label_base_url(request=rf.get("/admin/", HTTP_HOST="localhost")) == "http://localhost"


@pytest.mark.parametrize(("arguments", "code"), [
    ({"label_format": "9x9"}, "label_format_unknown"),
    ({"label_format": "3x8", "start_position": 0}, "label_start_invalid"),
    ({"label_format": "3x8", "start_position": 25}, "label_start_invalid"),
    ({"label_format": "2x4", "start_position": 9}, "label_start_invalid"),
    ({"label_format": "3x8", "start_position": "5"}, "label_start_invalid"),
])
def test_it_refuses_an_unknown_format_and_a_start_off_the_sheet(units, arguments, code):
    with pytest.raises(CatalogError) as refusal:
        label_sheet_pdf(units=units, base_url=BASE_URL, **arguments)
    assert refusal.value.code == code


def test_it_refuses_an_empty_selection(db):
    with pytest.raises(CatalogError) as refusal:
        label_sheet_pdf(units=Unit.objects.none(), label_format="3x8", base_url=BASE_URL)
    assert refusal.value.code == "no_units"


# --- the admin action ---------------------------------------------------------------------------

CHANGELIST = reverse("admin:catalog_unit_changelist")


def print_labels(client, units, **fields):
    return client.post(CHANGELIST, {"action": "print_labels", "_selected_action": [unit.pk for unit in units], **fields})


def test_the_admin_asks_for_format_and_start_then_downloads_the_pdf(client, admin_user, units):
    client.force_login(admin_user)
    chosen = units[:7]

    page = print_labels(client, chosen)

    assert page.status_code == 200
    assert "admin/catalog/unit/labels.html" in [template.name for template in page.templates]
    assert page.context["unit_count"] == 7

    response = print_labels(client, chosen, print="yes", label_format="3x8", start_position="23")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    filename = f"labels-{timezone.localdate().isoformat()}.pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    pages = read_pages(response.content, scale=3)
    assert [len(page["codes"]) for page in pages] == [2, 5]
    assert {text for page in pages for text, _x, _y in page["codes"]} == {
        f"http://testserver/u/{unit.asset_tag}" for unit in chosen
    }


def test_the_admin_prints_every_unit_when_all_are_selected(client, admin_user, units):
    client.force_login(admin_user)

    response = print_labels(client, units[:1], select_across="1", print="yes", label_format="2x4", start_position="1")

    assert response["Content-Type"] == "application/pdf"
    assert len(pdfium.PdfDocument(response.content)) == 4  # 30 units on sheets of 8


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"label_format": "3x8", "start_position": "25"}, "start_position", "label_start_invalid"),
    ({"label_format": "2x4", "start_position": "9"}, "start_position", "label_start_invalid"),
    ({"label_format": "3x8", "start_position": "0"}, "start_position", "min_value"),
    ({"label_format": "3x8", "start_position": "fünf"}, "start_position", "invalid"),
    ({"label_format": "9x9", "start_position": "1"}, "label_format", "invalid_choice"),
])
def test_the_admin_answers_bad_input_with_a_form_error_and_no_pdf(client, admin_user, units, fields, field, code):
    client.force_login(admin_user)

    response = print_labels(client, units[:3], print="yes", **fields)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert [error.code for error in response.context["form"].errors.as_data()[field]] == [code]


def test_people_who_are_not_staff_cannot_print_labels(client, clerk, units):
    client.force_login(clerk)

    response = print_labels(client, units[:3], print="yes", label_format="3x8", start_position="1")

    assert response.status_code == 302
    assert "application/pdf" not in response.get("Content-Type", "")


@pytest.mark.parametrize("tag", ["VR_01", "MZ.VR.01", "-VR", "VR 01", "VR-01\n"])
def test_asset_tags_the_scan_field_could_not_read_are_refused(item_type, tag):
    unit = Unit(item_type=item_type, asset_tag=tag)
    with pytest.raises(ValidationError) as refused:
        unit.full_clean()
    assert "asset_tag" in refused.value.message_dict

"""Label sheets: one QR label per unit on A4 sheets of self-adhesive labels, as a PDF.

Every label carries the QR code of the unit's absolute URL `<base_url>/u/<asset tag>`, the asset
tag in plain text (for the clerk when a code will not scan) and the item type's name.

The QR codes are drawn as vector rectangles, never as pictures, so they stay sharp on any printer
and a sheet of 1,000 labels stays small and fast to make (the target is under 3 s).
"""

import dataclasses
import functools
import io
from pathlib import Path
from urllib.parse import quote

import qrcode
import reportlab
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from qrcode.constants import ERROR_CORRECT_M
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import registerFont, registerFontFamily, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from catalog.exceptions import CatalogError

# ReportLab wraps compressed streams in ASCII85 by default, a relic of 7-bit mail that makes files
# a quarter larger and, without ReportLab's optional C accelerator, costs a third of the time of a
# large sheet. Every PDF reader reads plain binary streams.
rl_config.useA85 = 0

MAX_LABELS = 5000  # one request, about five seconds: larger runs are split by item
QUIET_ZONE_MODULES = 4  # the light margin around a QR symbol that ISO/IEC 18004 asks for

# Bitstream Vera, which ships with ReportLab, embedded in the PDF. The PDF standard fonts
# (Helvetica) know Latin-1 only and would print Turkish and Polish names (Ş, ı, ğ, ł) as boxes.
_VERA = Path(reportlab.__file__).parent / "fonts"
registerFont(TTFont("Vera", _VERA / "Vera.ttf"))
registerFont(TTFont("Vera-Bold", _VERA / "VeraBd.ttf"))
registerFont(TTFont("Vera-Italic", _VERA / "VeraIt.ttf"))
registerFont(TTFont("Vera-BoldItalic", _VERA / "VeraBI.ttf"))
registerFontFamily("Vera", normal="Vera", bold="Vera-Bold", italic="Vera-Italic", boldItalic="Vera-BoldItalic")
TAG_FONT = "Vera-Bold"
NAME_FONT = "Vera"


@dataclasses.dataclass(frozen=True)
class LabelFormat:
    """One sheet layout. Lengths are in millimetres, measured from the top left corner of A4.

    `qr_size` is the square the QR code takes including its quiet zone; the text fills the rest.
    """

    key: str
    name: str
    columns: int
    rows: int
    label_width: float
    label_height: float
    left_margin: float
    top_margin: float
    column_pitch: float
    row_pitch: float
    padding: float
    qr_size: float
    tag_font_size: float
    tag_min_font_size: float
    name_font_size: float
    name_max_lines: int

    @property
    def labels_per_sheet(self):
        return self.columns * self.rows

    def cell(self, position):
        """The label at a 1-based position, counted left to right, top to bottom: (column, row), 0-based."""
        return (position - 1) % self.columns, (position - 1) // self.columns


# Both layouts have no gaps between labels and fill the width of A4; the half millimetre left over
# at the top and bottom is the sheets' own margin.
LABEL_FORMATS = {
    label_format.key: label_format
    for label_format in (
        # The common 24-label sheet (for example Avery Zweckform 3474 and its many equivalents).
        LabelFormat(
            key="3x8", name=_("A4, 3 × 8 labels of 70 × 37 mm"), columns=3, rows=8,
            label_width=70, label_height=37, left_margin=0, top_margin=(297 - 8 * 37) / 2,
            column_pitch=70, row_pitch=37, padding=1.5, qr_size=34,
            tag_font_size=15, tag_min_font_size=8, name_font_size=8.5, name_max_lines=4,
        ),
        # A quarter of an A5 page each, for cases and boxes (for example Avery Zweckform 3427).
        LabelFormat(
            key="2x4", name=_("A4, 2 × 4 labels of 105 × 74 mm"), columns=2, rows=4,
            label_width=105, label_height=74, left_margin=0, top_margin=(297 - 4 * 74) / 2,
            column_pitch=105, row_pitch=74, padding=3, qr_size=54,
            tag_font_size=24, tag_min_font_size=10, name_font_size=12, name_max_lines=6,
        ),
    )
}
DEFAULT_LABEL_FORMAT = "3x8"


def label_format_get(key):
    """The label format for `key`; refuses an unknown one with `label_format_unknown`."""
    try:
        return LABEL_FORMATS[key]
    except (KeyError, TypeError):
        raise CatalogError("label_format_unknown", label_format=key, choices=", ".join(LABEL_FORMATS)) from None


def label_base_url(*, request=None):
    """The public address QR codes point to: SITE_URL, or else the address of this request."""
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/")
    if request is None:
        raise ValueError("SITE_URL is not set, so the base URL needs the request")
    return request.build_absolute_uri("/").rstrip("/")


def unit_label_url(*, base_url, asset_tag):
    """The absolute URL a unit's QR code encodes."""
    return f"{base_url.rstrip('/')}/u/{quote(asset_tag, safe='')}"


def label_sheet_pdf(*, units, label_format, start_position=1, base_url):
    """Label sheets for `units` in their given order, as PDF bytes.

    units: units with `asset_tag` and `item_type.name` (select the item type along with them).
    label_format: a key of LABEL_FORMATS.
    start_position: the first free label on the first sheet (1-based, left to right, top to
        bottom), so a half-used sheet can go through the printer again; later sheets start at 1.
    base_url: the public address the QR codes point to, see `label_base_url`.

    Error codes (CatalogError): label_format_unknown, label_start_invalid, no_units,
    too_many_labels (more than MAX_LABELS).
    """
    layout = label_format_get(label_format)
    if isinstance(start_position, bool) or not isinstance(start_position, int) \
            or not 1 <= start_position <= layout.labels_per_sheet:
        raise CatalogError("label_start_invalid", last=layout.labels_per_sheet)
    units = list(units[:MAX_LABELS + 1])
    if not units:
        raise CatalogError("no_units")
    if len(units) > MAX_LABELS:
        raise CatalogError("too_many_labels", limit=MAX_LABELS)

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(str(_("Labels")))
    canvas.setCreator("Technikverleih")
    name_lines = functools.lru_cache(maxsize=None)(
        lambda name, width, max_lines: _wrap(name, NAME_FONT, layout.name_font_size, width, max_lines)
    )
    position = start_position
    for unit in units:
        if position > layout.labels_per_sheet:
            canvas.showPage()
            position = 1
        column, row = layout.cell(position)
        left = (layout.left_margin + column * layout.column_pitch) * mm
        top = A4[1] - (layout.top_margin + row * layout.row_pitch) * mm
        _draw_label(
            canvas, layout, left, top, url=unit_label_url(base_url=base_url, asset_tag=unit.asset_tag),
            asset_tag=unit.asset_tag, item_name=unit.item_type.name, name_lines=name_lines,
        )
        position += 1
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_label(canvas, layout, left, top, *, url, asset_tag, item_name, name_lines):
    height = layout.label_height * mm
    padding = layout.padding * mm
    qr_size = layout.qr_size * mm
    draw_qr(canvas, qr_matrix(url), left=left + padding, top=top - (height - qr_size) / 2, size=qr_size)

    # The text column starts where the QR code's quiet zone ends.
    text_left = left + padding + qr_size
    text_width = layout.label_width * mm - padding * 2 - qr_size
    tag_size, tag_lines = _fit_tag(asset_tag, text_width, layout)
    tag_leading = tag_size * 1.15
    name_size = layout.name_font_size
    name_leading = name_size * 1.2
    gap = name_size * 0.6
    room = height - padding * 2 - len(tag_lines) * tag_leading - gap
    max_name_lines = max(0, min(layout.name_max_lines, int(room // name_leading)))
    names = name_lines(item_name, text_width, max_name_lines) if max_name_lines else ()

    # The block of text sits in the middle of the label's height.
    block = len(tag_lines) * tag_leading + (gap + len(names) * name_leading if names else 0)
    y = top - (height - block) / 2
    canvas.setFont(TAG_FONT, tag_size)
    for line in tag_lines:
        y -= tag_leading
        canvas.drawString(text_left, y + (tag_leading - tag_size) / 2 + tag_size * 0.2, line)
    y -= gap
    canvas.setFont(NAME_FONT, name_size)
    for line in names:
        y -= name_leading
        canvas.drawString(text_left, y + name_size * 0.25, line)


def draw_qr(canvas, matrix, *, left, top, size):
    """The symbol as one filled path of rectangles, one per run of dark modules in a row."""
    count = len(matrix)
    module = size / (count + 2 * QUIET_ZONE_MODULES)
    origin_x = left + QUIET_ZONE_MODULES * module
    origin_y = top - QUIET_ZONE_MODULES * module
    # Draw in module units with the y axis pointing down, so every coordinate is a small integer.
    operators = [f"q 0 g {module:.4f} 0 0 {-module:.4f} {origin_x:.3f} {origin_y:.3f} cm"]
    for row_index, row in enumerate(matrix):
        column = 0
        while column < count:
            if row[column]:
                start = column
                while column < count and row[column]:
                    column += 1
                operators.append(f"{start} {row_index} {column - start} 1 re")
            else:
                column += 1
    operators.append("f Q")
    canvas.addLiteral("\n".join(operators))


def _fit_tag(asset_tag, width, layout):
    """The largest font size that fits the tag on one line; a very long tag is broken, never cut."""
    size = layout.tag_font_size
    while size >= layout.tag_min_font_size:
        if stringWidth(asset_tag, TAG_FONT, size) <= width:
            return size, [asset_tag]
        size -= 0.5
    size = layout.tag_min_font_size
    return size, _break_word(asset_tag, TAG_FONT, size, width)


def _break_word(word, font, size, width):
    lines, line = [], ""
    for character in word:
        if line and stringWidth(line + character, font, size) > width:
            lines.append(line)
            line = ""
        line += character
    return [*lines, line]


def _wrap(text, font, size, width, max_lines):
    """Words on at most `max_lines` lines of `width`; what does not fit ends in an ellipsis."""
    lines = []
    for word in text.split():
        pieces = _break_word(word, font, size, width) if stringWidth(word, font, size) > width else [word]
        for piece in pieces:
            candidate = f"{lines[-1]} {piece}" if lines and piece is pieces[0] else None
            if candidate is not None and stringWidth(candidate, font, size) <= width:
                lines[-1] = candidate
            else:
                lines.append(piece)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and stringWidth(last + "…", font, size) > width:
            last = last[:-1].rstrip()
        lines = [*lines[:max_lines - 1], last + "…"]
    return lines


# --- QR codes --------------------------------------------------------------------------------
#
# qrcode chooses the mask by building the symbol eight times and scoring each in pure Python,
# about 4 ms a code: 4 s for 1,000 labels. Here the symbol is built once with mask 0 and packed
# into one integer (rows, then columns). Between two masks the data modules differ in the same
# places for every symbol of a version, so the other seven candidates are one XOR each with
# differences learnt once per version, and each is scored with a few big-integer operations.
# The score is ISO/IEC 18004's, exactly as qrcode computes it, so the chosen mask is qrcode's too
# (tests/catalog/test_labels.py compares them); then the symbol is built for real with that mask.

_BITS = bytes.maketrans(b"\x00\x01", b"01")


def qr_matrix(data):
    """The modules of the QR code for `data` (error correction M), without quiet zone: rows of bools."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.best_fit()
    # In test mode the format information is left light, so the masks differ in data modules only.
    code.makeImpl(True, 0)
    first = _packed(code.modules)
    version = _version_masks(code.version)
    scores = [_penalty(first ^ flip, version) for flip in version.flips]
    code.makeImpl(False, scores.index(min(scores)))
    return code.modules


def _packed(modules):
    """Rows, then columns, as one binary number; a 0 between two lines keeps runs and patterns apart."""
    rows = [bytes(row).translate(_BITS) for row in modules]
    columns = [bytes(column).translate(_BITS) for column in zip(*modules)]
    return int(b"0".join(rows + columns), 2)


@dataclasses.dataclass(frozen=True)
class _VersionMasks:
    count: int  # modules per side
    flips: tuple  # per mask: the bits that differ from mask 0 in every symbol of this version
    pairs: int  # bits whose higher neighbour is in the same line
    blocks: int  # pair bits of rows that have a row above them (higher bits)
    pattern_starts: int  # bits where 11 bits up to the higher end of the line still fit


@functools.lru_cache(maxsize=40)
def _version_masks(version):
    code = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, border=0)
    code.add_data("")
    masked = []
    for mask in range(8):
        code.makeImpl(True, mask)
        masked.append(_packed(code.modules))
    count = len(code.modules)

    # Masks are written in text as the packed number is: the first row is the highest bits.
    def lines(row_lines, column_lines):
        return int("0".join(row_lines + column_lines), 2)

    pair = "0" + "1" * (count - 1)
    return _VersionMasks(
        count=count,
        flips=tuple(packed ^ masked[0] for packed in masked),
        pairs=lines([pair] * count, [pair] * count),
        blocks=lines(["0" * count] + [pair] * (count - 1), ["0" * count] * count),
        pattern_starts=lines(["0" * 10 + "1" * (count - 10)] * count, ["0" * 10 + "1" * (count - 10)] * count),
    )


def _penalty(packed, version):
    """ISO/IEC 18004 mask penalty of a symbol packed by `_packed`; bit p+1 is p's neighbour in a line."""
    # Runs of five or more modules of one colour: 3, plus 1 for each module beyond five. A run of
    # n modules is n - 1 neighbours alike; windows of four alike neighbours count n - 4 per run.
    alike = ~(packed ^ (packed >> 1)) & version.pairs
    windows = alike & (alike >> 1) & (alike >> 2) & (alike >> 3)
    run_ends = windows & ~(windows >> 1)
    penalty = windows.bit_count() + 2 * run_ends.bit_count()
    # Blocks of 2 × 2 modules of one colour, in rows only.
    above = packed >> (version.count + 1)
    blocks = ~(packed ^ above) & alike & ~(above ^ (above >> 1)) & version.blocks
    penalty += 3 * blocks.bit_count()
    # 1:1:3:1:1 finder-like patterns with four light modules on one side: 40 each.
    light = ~packed
    core = packed & (light >> 1) & (packed >> 2) & (packed >> 3) & (packed >> 4) & (light >> 5) & (packed >> 6)
    four_light = light & (light >> 1) & (light >> 2) & (light >> 3)
    patterns = ((core & (four_light >> 7)) | (four_light & (core >> 4))) & version.pattern_starts
    penalty += 40 * patterns.bit_count()
    # Balance of dark and light modules (each module is in the number twice): 10 per 5 % from half.
    dark = packed.bit_count() // 2
    penalty += int(abs(float(dark) / version.count**2 * 100 - 50) / 5) * 10
    return penalty

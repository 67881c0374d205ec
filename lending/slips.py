"""The loan slip (Leihschein): the A4 sheet counter staff print or download when they hand out a booking.

It names the counter, the booking (with the QR code of its page, so the return can be scanned from
the slip), the borrower and school, the pickup and return day, every unit handed out with its
contents, the lending terms and room for two signatures. A long list of units flows onto further
pages, where the table heading repeats and the footer names the booking again.

The QR code is drawn with catalog.labels' vector drawing, so it stays sharp on any printer.
"""

import functools
import io
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from catalog.labels import NAME_FONT, TAG_FONT, draw_qr, qr_matrix

# Used when the location has not entered its own terms (Location.lending_terms).
DEFAULT_LENDING_TERMS = gettext_lazy(
    "The borrower is responsible for the equipment from the hand-over until it is returned. "
    "Please return it complete, with all parts listed above, on the return day during counter hours. "
    "Report damage, theft or loss immediately, online or at the counter. "
    "Compensation may be claimed for damage caused wilfully or by gross negligence."
)

MARGIN = 18 * mm
QR_SIZE = 34 * mm  # including the quiet zone, as on the labels
CONTENT_WIDTH = A4[0] - 2 * MARGIN
UNIT_COLUMN_WIDTHS = (36 * mm, 46 * mm, 32 * mm, CONTENT_WIDTH - 114 * mm)
SIGNATURE_SPACE = 20 * mm
GREY = colors.Color(0.45, 0.45, 0.45)

BODY = ParagraphStyle("body", fontName=NAME_FONT, fontSize=10, leading=13)
BOLD = ParagraphStyle("bold", parent=BODY, fontName=TAG_FONT)
CODE = ParagraphStyle("code", parent=BOLD, alignment=TA_CENTER)
TERMS = ParagraphStyle("terms", parent=BODY, spaceAfter=2 * mm)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=9, leading=11)
CELL_HEADING = ParagraphStyle("cell_heading", parent=CELL, fontName=TAG_FONT)
CAPTION = ParagraphStyle("caption", parent=BODY, fontSize=8.5, leading=11, textColor=GREY)
TITLE = ParagraphStyle("title", parent=BODY, fontName=TAG_FONT, fontSize=22, leading=27, spaceAfter=3 * mm)
HEADING = ParagraphStyle(
    "heading", parent=BODY, fontName=TAG_FONT, fontSize=12, leading=15, spaceBefore=6 * mm, spaceAfter=2 * mm
)


def loan_slip_pdf(*, reservation, handovers, booking_url):
    """The loan slip of a handed-out booking, as PDF bytes.

    reservation: the booking, with its location and school (borrower may be None once the link to
        the person has been removed).
    handovers: its open Handover rows, with unit and unit__item_type selected; handed_out_by costs
        one query per staff member unless it is selected too.
    booking_url: the absolute URL of the booking's page, encoded in the QR code.
    """
    buffer = io.BytesIO()
    title = f"{_('Loan slip')} {reservation.code}"
    document = BaseDocTemplate(buffer, pagesize=A4, title=title, creator="Technikverleih", pageCompression=1)
    document.addPageTemplates([PageTemplate(frames=[_frame()], onPage=functools.partial(_footer, title=title))])
    handovers = sorted(handovers, key=lambda handover: (handover.unit.item_type.name, handover.unit.asset_tag))
    story = [
        _header(reservation.location, code=reservation.code, booking_url=booking_url),
        _booking_details(reservation),
        *_units(handovers),
        KeepTogether([
            Paragraph(_text(_("Lending terms")), HEADING),
            *_terms(reservation.location.lending_terms or str(DEFAULT_LENDING_TERMS)),
            Spacer(0, 4 * mm),
            _signatures(_staff_names(handovers)),
        ]),
    ]
    document.build(story)
    return buffer.getvalue()


class QrCode(Flowable):
    """A QR code as vector rectangles; `size` includes its quiet zone."""

    def __init__(self, data, *, size):
        super().__init__()
        self.matrix = qr_matrix(data)
        self.width = self.height = size

    def draw(self):
        draw_qr(self.canv, self.matrix, left=0, top=self.height, size=self.width)


def _frame():
    # Without the frame's default padding, text and table edges line up on the margins.
    return Frame(
        MARGIN, MARGIN, CONTENT_WIDTH, A4[1] - 2 * MARGIN,
        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0,
    )


def _footer(canvas, document, *, title):
    """The booking on every page, so the sheets of a long slip stay together."""
    canvas.saveState()
    canvas.setFont(NAME_FONT, 8)
    canvas.setFillColor(GREY)
    canvas.drawString(MARGIN, MARGIN / 2, title)
    canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, _("Page %(number)d") % {"number": document.page})
    canvas.restoreState()


def _text(value):
    """Plain text as Paragraph markup: `<` and `&` print as themselves, line breaks stay."""
    return escape(str(value)).replace("\n", "<br/>")


def _date(day):
    return f"{day:%d.%m.%Y}"


def _header(location, *, code, booking_url):
    """Title and counter on the left; the booking's QR code and code on the right."""
    counter = [
        Paragraph(_text(_("Loan slip")), TITLE),
        Paragraph(_text(location.name), BOLD),
        Paragraph(_text(location.address.strip()), BODY),
    ]
    booking = [QrCode(booking_url, size=QR_SIZE), Paragraph(_text(code), CODE)]
    table = Table([[counter, booking]], colWidths=(CONTENT_WIDTH - QR_SIZE, QR_SIZE))
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ]))
    return table


def _collected_by(reservation):
    """A row naming the colleague when the hand-over says they came instead of the borrower."""
    handed_out = reservation.events.filter(action="handed_out").order_by("-at", "-id").first()
    if handed_out is None or handed_out.data.get("collected_by") != "colleague" or reservation.colleague is None:
        return []
    colleague = reservation.colleague.get_full_name() or reservation.colleague.username
    return [(_("Picked up by"), Paragraph(_text(_("%(name)s (colleague, for the borrower)") % {"name": colleague}),
                                          BODY))]


def _booking_details(reservation):
    school = reservation.school
    borrower = str(reservation.borrower) if reservation.borrower else _("(person removed)")
    rows = [
        (_("Booking code"), Paragraph(_text(reservation.code), BOLD)),
        (_("Borrower"), Paragraph(_text(borrower), BODY)),
        *_collected_by(reservation),
        (_("School"), Paragraph(_text(f"{school.name} ({_('school number')} {school.number})"), BODY)),
        (_("Delivery day") if reservation.is_delivery else _("Pickup day"),
         Paragraph(_date(reservation.pickup_day), BODY)),
        (_("Collection day") if reservation.is_delivery and reservation.collection_by_tour else _("Return day"),
         Paragraph(_date(reservation.return_day), BOLD)),
    ]
    table = Table(
        [[Paragraph(_text(label), BODY), value] for label, value in rows],
        colWidths=(40 * mm, CONTENT_WIDTH - 40 * mm),
    )
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
    ]))
    return table


def _units(handovers):
    """A heading with the count, then one row per unit; the table's heading row repeats on every page."""
    count = ngettext("%(count)d unit handed out", "%(count)d units handed out", len(handovers)) % {
        "count": len(handovers)
    }
    heading = [Paragraph(_text(label), CELL_HEADING)
               for label in (_("Asset tag"), _("Item"), _("Serial number"), _("Contents"))]
    rows = [
        [Paragraph(_text(cell or "–"), CELL) for cell in (
            handover.unit.asset_tag, handover.unit.item_type.name, handover.unit.serial_number,
            ", ".join(handover.unit.contents_list),
        )]
        for handover in handovers
    ]
    table = Table([heading, *rows], colWidths=UNIT_COLUMN_WIDTHS, repeatRows=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
    ]))
    return [Paragraph(_text(count), HEADING), table]


def _terms(terms):
    """A paragraph for each block of text that a blank line separates."""
    blocks = [block.strip() for block in terms.replace("\r\n", "\n").split("\n\n") if block.strip()]
    return [Paragraph(_text(block), TERMS) for block in blocks]


def _staff_names(handovers):
    """Who handed the units out, each name once (one user fetched per staff member, not per unit)."""
    handover_by_staff = {handover.handed_out_by_id: handover for handover in handovers if handover.handed_out_by_id}
    return ", ".join(str(handover.handed_out_by) for handover in handover_by_staff.values())


def _signatures(staff_names):
    """Two lines to sign on: the borrower's left, the staff member's right with the name printed."""
    gap = 12 * mm
    column = (CONTENT_WIDTH - gap) / 2
    table = Table(
        [
            ["", "", Paragraph(_text(staff_names), BODY)],
            [Paragraph(_text(_("Date, signature of the borrower")), CAPTION), "",
             Paragraph(_text(_("Handed out by")), CAPTION)],
        ],
        colWidths=(column, gap, column), rowHeights=[SIGNATURE_SPACE, None],
    )
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("LINEABOVE", (0, 1), (0, 1), 0.75, colors.black),
        ("LINEABOVE", (2, 1), (2, 1), 0.75, colors.black),
    ]))
    return table

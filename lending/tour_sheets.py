"""The tour sheets (Tourenliste): one A4 sheet per stop of a delivery tour day, for the driver.

Each sheet names the stop (its number on the day's tour, delivery or collection), the school with
its address, office phone and the notes for the driver, the booking with the teacher, the items
booked and the units packed or out, a box for the recipient's name and signature, and the QR code
of the booking's link: scanned with the phone's camera, it opens the driver's page, where the
delivery or the collection is confirmed. The drawing is the loan slip's (lending.slips).
"""

import functools
import io

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, PageBreak, PageTemplate, Paragraph, Spacer, Table, TableStyle

from lending.selectors import TourStop
from lending.slips import (
    BODY,
    BOLD,
    CAPTION,
    CELL,
    CELL_HEADING,
    CODE,
    CONTENT_WIDTH,
    HEADING,
    QR_SIZE,
    SIGNATURE_SPACE,
    TITLE,
    QrCode,
    _date,
    _footer,
    _frame,
    _text,
)


def tour_sheets_pdf(*, location, day, stops, booking_url):
    """The sheets of one tour day as PDF bytes: one page per stop in the tour's order (see
    lending.selectors.tour_of), or one page saying there is nothing to drive.

    booking_url: a function of a reservation giving the absolute URL its QR code encodes.
    """
    buffer = io.BytesIO()
    title = _("Tour of %(day)s, %(counter)s") % {"day": _date(day), "counter": location.name}
    document = BaseDocTemplate(buffer, pagesize=A4, title=title, creator="Technikverleih", pageCompression=1)
    document.addPageTemplates([PageTemplate(frames=[_frame()], onPage=functools.partial(_footer, title=title))])
    story = []
    for number, stop in enumerate(stops, start=1):
        if story:
            story.append(PageBreak())
        story.extend(_sheet(stop, number=number, count=len(stops), day=day, location=location,
                            url=booking_url(stop.reservation)))
    if not story:
        story = [Paragraph(_text(title), TITLE), Paragraph(_text(_("No deliveries or collections on this day.")), BODY)]
    document.build(story)
    return buffer.getvalue()


def _sheet(stop, *, number, count, day, location, url):
    reservation, school = stop.reservation, stop.school
    kind = _("Delivery") if stop.kind == TourStop.DELIVERY else _("Collection")
    heading = [
        Paragraph(_text(_("Stop %(number)d of %(count)d: %(kind)s") % {"number": number, "count": count, "kind": kind}),
                  TITLE),
        Paragraph(_text(f"{_date(day)} · {location.name}"), BOLD),
    ]
    booking = [QrCode(url, size=QR_SIZE), Paragraph(_text(reservation.code), CODE)]
    top = Table([[heading, booking]], colWidths=(CONTENT_WIDTH - QR_SIZE, QR_SIZE))
    top.setStyle(_plain())
    borrower = str(reservation.borrower) if reservation.borrower else _("(person removed)")
    rows = [
        (_("School"), Paragraph(_text("\n".join(school.delivery_address_lines()) or school.name), BOLD)),
        (_("School office"), Paragraph(_text(school.office_phone or "–"), BODY)),
        (_("Notes for the driver"), Paragraph(_text(school.delivery_notes or "–"), BODY)),
        (_("Booked by"), Paragraph(_text(borrower), BODY)),
        (_("Delivery day"), Paragraph(_date(reservation.pickup_day), BODY)),
        (_("Collection day") if reservation.collection_by_tour else _("Return day at the counter"),
         Paragraph(_date(reservation.return_day), BODY)),
    ]
    if reservation.note:
        rows.append((_("Note"), Paragraph(_text(reservation.note), BODY)))
    details = Table([[Paragraph(_text(label), BODY), value] for label, value in rows],
                    colWidths=(45 * mm, CONTENT_WIDTH - 45 * mm))
    details.setStyle(TableStyle([*_plain_commands(), ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
    items = Table(
        [[Paragraph(_text(_("Item")), CELL_HEADING), Paragraph(_text(_("Booked")), CELL_HEADING),
          Paragraph(_text(_("Units")), CELL_HEADING)]]
        + [[Paragraph(_text(line.item_type.name), CELL), Paragraph(str(line.quantity), CELL),
            Paragraph(_text(", ".join(_units_of(stop, line.item_type_id)) or "–"), CELL)]
           for line in reservation.lines.all()],
        colWidths=(CONTENT_WIDTH - 95 * mm, 20 * mm, 75 * mm), repeatRows=1,
    )
    items.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
    ]))
    receipt = _("Received at the school by (name, signature)") if stop.kind == TourStop.DELIVERY else _(
        "Handed back at the school by (name, signature)")
    signature = Table([[""], [Paragraph(_text(receipt), CAPTION)]], colWidths=(CONTENT_WIDTH,),
                      rowHeights=[SIGNATURE_SPACE, None])
    signature.setStyle(TableStyle([*_plain_commands(), ("BOX", (0, 0), (0, 0), 0.75, colors.black)]))
    return [
        top, Spacer(0, 4 * mm), details,
        Paragraph(_text(_("Items and units")), HEADING), items,
        Spacer(0, 8 * mm), signature,
        Spacer(0, 3 * mm),
        Paragraph(_text(_("Scan the QR code with the phone to confirm this stop on the driver's page.")), CAPTION),
    ]


def _units_of(stop, item_type_id):
    return [handover.unit.asset_tag for handover in stop.reservation.open_handovers
            if handover.unit.item_type_id == item_type_id]


def _plain_commands():
    return [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0)]


def _plain():
    return TableStyle(_plain_commands())

"""The statistics tables (lending.figures) as files: CSV for German Excel, XLSX workbooks and a
printable PDF for the annual report's annex.

- CSV: UTF-8 with a byte order mark, semicolons, numbers as the active language writes them
  (decimal comma in German), no thousands separator.
- XLSX (openpyxl): one sheet per table, numbers as numbers, a bold header row.
- PDF (reportlab): A4 landscape, one table after another, the heading row repeated on each page.

No text a user wrote (a school's or an item's name, a note) can run as a formula: in a CSV a
cell starting with = + - @ or a tab or carriage return gets a leading apostrophe, as Excel's own
"text" marker; in an XLSX every text cell is stored as a string, never as a formula.
"""

import csv
import functools
import io
from decimal import Decimal

from django.utils import formats
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle

from lending.slips import BODY, CAPTION, CELL, CELL_HEADING, HEADING, MARGIN, TITLE, _text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAGE = landscape(A4)
PDF_WIDTH = PAGE[0] - 2 * MARGIN
NUMBER = ParagraphStyle("number", parent=CELL, alignment=TA_RIGHT)
NUMBER_TOTAL = ParagraphStyle("number_total", parent=CELL_HEADING, alignment=TA_RIGHT)


def spreadsheet_text(value):
    """Text for a spreadsheet cell that Excel will not run as a formula (CSV injection)."""
    value = str(value)
    return f"'{value}" if value[:1] in FORMULA_STARTS else value


def _month(value):
    return date_format(value, "F Y") if hasattr(value, "year") else str(value)


def cell_text(value, kind, *, unit_signs=False):
    """A value as the pages, the CSV and the PDF write it; '' for none."""
    if value is None:
        return ""
    if kind == "month":
        return _month(value)
    if kind == "text":
        return str(value)
    if isinstance(value, Decimal) or kind in ("percent", "decimal", "money"):
        places = 2 if kind == "money" else 1
        if kind == "decimal" and Decimal(value) == Decimal(value).to_integral_value():
            places = 0  # a count in a column that also holds a median
        text = formats.number_format(value, places, use_l10n=True, force_grouping=False)
        if unit_signs:
            text += " %" if kind == "percent" else " €" if kind == "money" else ""
        return text
    return str(value)


def table_csv(table, *, heading=()):
    """One table as CSV text (with the byte order mark). `heading`: rows written before it
    (the period, the counters)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # the byte order mark makes Excel read UTF-8
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in heading:
        # As wide as the table, so that readers guessing the delimiter see the same count per line.
        cells = [spreadsheet_text(value) for value in row]
        writer.writerow(cells + [""] * (len(table.columns) - len(cells)))
    writer.writerow([spreadsheet_text(column.label) for column in table.columns])
    for row in table.all_rows:
        writer.writerow([
            spreadsheet_text(cell_text(row.get(column.key), column.kind)) if column.kind in ("text", "month")
            else cell_text(row.get(column.key), column.kind)
            for column in table.columns
        ])
    return buffer.getvalue()


def _sheet_title(title, taken):
    # Excel: at most 31 characters, none of []:*?/\ and unique in the workbook.
    clean = "".join(" " if char in "[]:*?/\\" else char for char in str(title))[:31].strip() or "Tabelle"
    candidate, number = clean, 2
    while candidate.casefold() in taken:
        suffix = f" {number}"
        candidate, number = clean[:31 - len(suffix)] + suffix, number + 1
    taken.add(candidate.casefold())
    return candidate


def tables_xlsx(tables, *, heading=()):
    """The tables as an XLSX workbook (bytes), one sheet each; `heading` rows above each table."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    taken = set()
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, taken))
        lines = [[str(table.title)], *heading, []]
        for row_number, row in enumerate(lines, start=1):
            for index, value in enumerate(row, start=1):
                _text_cell(sheet.cell(row=row_number, column=index), value)
        sheet.cell(row=1, column=1).font = bold
        header_row = len(lines) + 1
        for index, column in enumerate(table.columns, start=1):
            cell = _text_cell(sheet.cell(row=header_row, column=index), column.label)
            cell.font = bold
            sheet.column_dimensions[get_column_letter(index)].width = 34 if column.kind == "text" else 16
        for row_number, row in enumerate(table.all_rows, start=header_row + 1):
            for index, column in enumerate(table.columns, start=1):
                value = row.get(column.key)
                cell = sheet.cell(row=row_number, column=index)
                if value is None:
                    continue
                if column.kind in ("text", "month") or not isinstance(value, (int, Decimal)):
                    _text_cell(cell, cell_text(value, column.kind))
                else:
                    cell.value = value if isinstance(value, int) else float(value)
                    cell.number_format = "0" if isinstance(value, int) else "0.00" if column.kind == "money" else "0.0"
            if row is table.total:
                for index in range(1, len(table.columns) + 1):
                    sheet.cell(row=row_number, column=index).font = bold
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text_cell(cell, value):
    """A string cell, never a formula: openpyxl would take a text starting with "=" for one."""
    # Control characters (Word's line break \x0b pasted into a name) are not allowed in XLSX.
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell.data_type = "s"
    return cell


def tables_pdf(tables, *, title, heading=()):
    """The tables as a PDF (bytes) for the report's annex: the title and `heading` lines (period,
    counters) on top, each table with its caption and note, headings repeated across pages."""
    buffer = io.BytesIO()
    document = BaseDocTemplate(buffer, pagesize=PAGE, title=title, creator="Technikverleih", pageCompression=1)
    frame = Frame(MARGIN, MARGIN, PDF_WIDTH, PAGE[1] - 2 * MARGIN, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    document.addPageTemplates([PageTemplate(frames=[frame], onPage=functools.partial(_footer, title=title))])
    story = [Paragraph(_text(title), TITLE)]
    story += [Paragraph(_text(" ".join(str(value) for value in line)), BODY) for line in heading]
    for table in tables:
        story.append(Paragraph(_text(table.title), HEADING))
        story.append(_pdf_table(table))
        if table.note:
            story += [Spacer(0, 1.5 * mm), Paragraph(_text(table.note), CAPTION)]
    document.build(story)
    return buffer.getvalue()


def _pdf_table(table):
    # The page's width shared out: a text column takes three shares, a month two, a number one.
    weights = [3 if column.kind == "text" else 2 if column.kind == "month" else 1 for column in table.columns]
    widths = [PDF_WIDTH * weight / sum(weights) for weight in weights]
    def style_of(column, total):
        if column.kind in ("text", "month"):
            return CELL_HEADING if total else CELL
        return NUMBER_TOTAL if total else NUMBER

    rows = [[Paragraph(_text(column.label), style_of(column, True)) for column in table.columns]]
    for row in table.all_rows:
        rows.append([Paragraph(_text(cell_text(row.get(column.key), column.kind, unit_signs=True) or "–"),
                               style_of(column, row is table.total))
                     for column in table.columns])
    if len(rows) == 1:
        rows.append([Paragraph(_text(_("Nothing in this period.")), CELL)] + [""] * (len(table.columns) - 1))
    pdf_table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.Color(0.6, 0.6, 0.6)),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    pdf_table.setStyle(TableStyle(style))
    return pdf_table


def _footer(canvas, document, *, title):
    canvas.saveState()
    canvas.setFont(BODY.fontName, 8)
    canvas.setFillColor(colors.Color(0.45, 0.45, 0.45))
    canvas.drawString(MARGIN, MARGIN / 2, title)
    canvas.drawRightString(PAGE[0] - MARGIN, MARGIN / 2, _("Page %(number)d") % {"number": document.page})
    canvas.restoreState()

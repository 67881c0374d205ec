from django import template

from lending.report_files import cell_text

register = template.Library()


@register.simple_tag
def stat_cell(row, column):
    """A table cell of the statistics as the page shows it: with % and €, a dash for nothing."""
    return cell_text(row.get(column.key), column.kind, unit_signs=True) or "–"

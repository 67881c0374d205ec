"""Bar charts drawn on our side: each bar is a small inline SVG beside its label and value in
HTML, so the text reflows and stays readable on a phone and the bars need no script, no library
and no CDN. A chart repeats its data table, which stands next to it for screen readers and
keyboards; the bars themselves are hidden from assistive technology (see statistics.html)."""

from dataclasses import dataclass

from lending.report_files import cell_text


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    width: float  # 0–100, the share of the chart's width


def bars(rows, *, label, value, kind="int", maximum=None):
    """The bars of `rows` (dicts): `label` and `value` name their keys; the longest bar is
    `maximum` (default: the largest value). Rows without a value get an empty bar."""
    values = [row.get(value) or 0 for row in rows]
    top = maximum or max(values, default=0) or 1
    return [
        Bar(label=cell_text(row.get(label), "month" if kind == "month" else "text"),
            value=cell_text(row.get(value), "int" if kind == "month" else kind, unit_signs=True) or "–",
            width=round(min(float(amount) / float(top), 1) * 100, 1))
        for row, amount in zip(rows, values)
    ]

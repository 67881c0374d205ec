"""Plain text with a little structure, rendered to safe HTML for the legal pages.

Everything is escaped first; only the structure below becomes markup. Admins write the text, but
the pages are public and legally required, so no HTML from the database reaches a browser.

- An empty line separates blocks; single line breaks inside a paragraph are kept.
- "## Heading" (or "# ") is a heading below the page's own <h1>, "### " one level lower.
- Lines starting with "- " or "* " form a list.
- Web addresses (https://…, www.…) and e-mail addresses become links (Django's urlize).
"""

import re

from django.utils.html import escape, urlize
from django.utils.safestring import mark_safe

HEADING = re.compile(r"^(#{1,3})\s+(.+)$")
LIST_ITEM = re.compile(r"^[-*]\s+(.+)$")


def _inline(text):
    # urlize escapes the text around the links itself when told to (autoescape=True).
    return urlize(text, nofollow=True, autoescape=True)


def render_body(text):
    """`text` as safe HTML: headings, lists, paragraphs with line breaks, links."""
    blocks = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").replace("\r", "\n").strip())
    html = []
    for block in blocks:
        lines = [line.rstrip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        paragraph, items = [], []

        def flush():
            if paragraph:
                html.append("<p>" + "<br>".join(_inline(line) for line in paragraph) + "</p>")
                paragraph.clear()
            if items:
                html.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
                items.clear()

        for line in lines:
            heading = HEADING.match(line.strip())
            item = LIST_ITEM.match(line.strip())
            if heading:
                flush()
                level = 3 if len(heading.group(1)) == 3 else 2  # the page title is the only h1
                html.append(f"<h{level}>{escape(heading.group(2).strip())}</h{level}>")
            elif item:
                if paragraph:
                    flush()
                items.append(item.group(1))
            else:
                if items:
                    flush()
                paragraph.append(line)
        flush()
    return mark_safe("\n".join(html))

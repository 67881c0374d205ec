"""The header and footer of every page, rendered once per process and kind of visitor.

They are most of what a cached page still renders on each request (two dozen links and
translated words), yet they depend on nothing in the database: only the language, whether and
as whom someone is signed in, the section of the site and the basket count. Each combination is
rendered once per process and kept in memory (a deploy starts new processes); the CSRF token
and the page's own path, which differ per request, are filled into the rendered text.
"""

import functools
from urllib.parse import quote

from django import template
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from frontend.page_cache import CSRF_MARK, filled, mark

register = template.Library()
# The url names under which a header link is marked as the current page.
SECTIONS = {"catalogue": "catalogue", "basket": "basket", "my_bookings": "my_bookings", "statistics": "statistics"}


def _section(request):
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.namespace == "profile":
        return "profile"
    if (match.url_name or "").startswith("counter"):
        return "counter"
    return SECTIONS.get(match.url_name, "")


@functools.lru_cache(maxsize=512)
def _header(language, signed_in, counter_staff, is_staff, section, basket_count):
    # The language is an argument only to key the memo: rendering uses the active one.
    return render_to_string("partials/site_header.html", {
        "LANGUAGE_CODE": language, "signed_in": signed_in, "counter_staff": counter_staff,
        "is_staff": is_staff, "section": section, "basket_count": basket_count,
        "csrf_mark": CSRF_MARK, "next_mark": mark("next"), "next_query_mark": mark("next_query"),
    })


@functools.lru_cache(maxsize=16)
def _footer(language):
    return render_to_string("partials/site_footer.html", {})


@register.simple_tag(takes_context=True)
def site_header(context):
    request = context["request"]
    user = context.get("user") or request.user
    signed_in = user.is_authenticated
    html = _header(
        get_language(), signed_in, signed_in and user.is_counter_staff, signed_in and user.is_staff,
        _section(request), context.get("basket_count") or 0,
    )
    path = request.get_full_path()
    return filled(request, html, next=escape(path), next_query=escape(quote(path, safe="/")))


@register.simple_tag
def site_footer():
    return mark_safe(_footer(get_language()))  # our template, nothing from the request

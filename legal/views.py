"""The Impressum, the privacy notice and the accessibility statement with its contact form.

Public pages: anyone may read them, signed in or not. A page an administrator has not written
yet shows a default text that says so.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.lockout import client_ip
from legal.forms import AccessibilityContactForm
from legal.markup import render_body
from legal.models import LegalPage
from legal.services import accessibility_feedback_send

logger = logging.getLogger(__name__)

TITLES = {
    LegalPage.Slug.IMPRESSUM: gettext_lazy("Legal notice"),
    LegalPage.Slug.PRIVACY: gettext_lazy("Privacy notice"),
    LegalPage.Slug.ACCESSIBILITY: gettext_lazy("Accessibility statement"),
}

# A person reporting barriers writes a few messages at most; more from one address in an hour is
# a script. Counted per visitor address in the cache (a script can drop its session cookie).
CONTACT_LIMIT = 5
CONTACT_WINDOW_SECONDS = 3600


def _page_context(slug):
    page = LegalPage.objects.filter(slug=slug).first()
    written = page is not None and page.body.strip()
    return {
        "slug": slug,
        "title": (page.title if page and page.title else TITLES[slug]),
        "page": page if written else None,
        "body": render_body(page.body) if written else None,
        "default_template": f"legal/default_{slug}.html",
        "retention_days": settings.PERSONAL_DATA_RETENTION_DAYS,
    }


@require_GET
def impressum(request):
    return render(request, "legal/page.html", _page_context(LegalPage.Slug.IMPRESSUM))


@require_GET
def privacy(request):
    return render(request, "legal/page.html", _page_context(LegalPage.Slug.PRIVACY))


def _contact_key(request):
    return f"legal-contact:{client_ip(request)}"


def _contact_count(request):
    return cache.get(_contact_key(request), 0)


def _contact_counted(request):
    key = _contact_key(request)
    cache.add(key, 0, CONTACT_WINDOW_SECONDS)
    cache.incr(key)


@require_http_methods(["GET", "POST"])
def accessibility(request):
    context = _page_context(LegalPage.Slug.ACCESSIBILITY)
    status = 200
    if request.method == "POST":
        form = AccessibilityContactForm(request.POST)
        if _contact_count(request) >= CONTACT_LIMIT:
            messages.error(request, _("You have sent several messages in the last hour. Please try again later "
                                      "or write to us by e-mail."))
            status = 429
        elif not form.is_valid():
            messages.error(request, _("Please correct the marked fields."))
            status = 400
        else:
            data = form.cleaned_data
            try:
                accessibility_feedback_send(name=data["name"], email=data["email"], message=data["message"])
            except OSError:
                logger.exception("accessibility report could not be sent")
                messages.error(request, _("Your message could not be sent just now. Please try again later."))
                status = 503
            else:
                _contact_counted(request)
                messages.success(request, _("Thank you for your message. We will answer you as soon as we can."))
                return redirect(reverse("legal:accessibility") + "#contact")
    else:
        form = AccessibilityContactForm()
    context["form"] = form
    context["contact_email"] = settings.ACCESSIBILITY_CONTACT_EMAIL
    return render(request, "legal/page.html", context, status=status)

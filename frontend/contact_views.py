"""Asking a teacher once for a contact e-mail after the first sign-on."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.services import account_contact_update


class ContactEmailForm(forms.Form):
    contact_email = forms.EmailField(label=gettext_lazy("Contact e-mail"), required=False)


def _next(request):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


@login_required
@require_http_methods(["GET", "POST"])
def contact_email(request):
    """The sign-on's address may be a pseudonym (VIDIS: <uuid>@vidis.schule): ask once where
    booking confirmations and reminders should go. Skipping keeps the sign-on's address."""
    user = request.user
    form = ContactEmailForm(request.POST if request.method == "POST" else None,
                            initial={"contact_email": user.contact_email})
    if request.method == "POST":
        if "skip" not in request.POST and not form.is_valid():
            return render(request, "account/contact_email.html", {"form": form, "next": _next(request)}, status=400)
        contact_email = user.contact_email if "skip" in request.POST else form.cleaned_data["contact_email"]
        account_contact_update(user=user, contact_email=contact_email, language=user.language)
        if user.contact_email:
            messages.success(request, _("Thank you. We will write to %(email)s.") % {"email": user.contact_email})
        return redirect(_next(request))
    return render(request, "account/contact_email.html", {"form": form, "next": _next(request)})

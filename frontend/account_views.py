"""The account page: contact address and e-mail language, qualifications, the calendar link, API
tokens for staff, a download of one's own data (DSGVO art. 15 and 20) and deleting one's account
(art. 17). Thin: validate, call one selector or service, render."""

import json
import time

from allauth.account import app_settings as allauth_settings
from allauth.account.authentication import get_authentication_records
from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import api_tokens
from accounts.qualifications import qualifications_of
from accounts.selectors import personal_data_export, qualifications_required_not_held
from accounts.services import (
    ACCOUNT_ERRORS,
    AccountError,
    account_bookings_to_cancel,
    account_contact_update,
    account_delete,
    account_deletion_refusal,
)
from frontend.account_forms import ApiTokenForm, ContactSettingsForm
from frontend.calendar_views import calendar_feed_links
from lending.calendar_tokens import calendar_token_rotate
from lending.models import CalendarToken
from lending.selectors import staff_locations
from notifications.services import mail_undeliverable_to


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    # Calendar link: only its hash is stored, so the new URLs can be shown only in the answer to
    # the POST that made them. They are rendered here directly rather than kept in the session
    # (which lives in the database) for a redirect; reloading the page asks before posting again.
    if request.method == "POST" and "calendar_link" in request.POST:
        replaced = CalendarToken.objects.filter(user=user).exists()
        links = calendar_feed_links(request, user=user, token=calendar_token_rotate(user=user))
        return _render_profile(request, calendar_links=links, calendar_link_replaced=replaced)
    if request.method == "POST":
        form = ContactSettingsForm(request.POST, staff=user.is_counter_staff)
        if form.is_valid():
            account_contact_update(user=user, contact_email=form.cleaned_data["contact_email"],
                                   language=form.cleaned_data["language"],
                                   mail_reminders=form.cleaned_data["mail_reminders"],
                                   mail_digest=form.cleaned_data.get("mail_digest"))
            messages.success(request, _("Your contact settings were saved."))
            return redirect("profile:show")
        return _render_profile(request, form=form, status=400)
    return _render_profile(request)


@login_required
@require_POST
@reauthentication_required
def api_token_create(request):
    """A new API token, shown once in this answer (like the calendar link: only its hash is kept).

    A token outlives the session, so whoever creates one proves it is them first: allauth asks
    for the password or the one-time code again (even right after signing in) and then replays
    this request. Staff who sign in only through the single sign-on have neither; for them the
    sign-on itself must be recent (allauth would let them through unasked)."""
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _render_profile(request, api_token_form=form, status=400)
    if not _confirmed_recently(request):
        form.add_error(None, _("For a new token, sign out and in again through your school login, then create "
                               "it within five minutes."))
        return _render_profile(request, api_token_form=form, status=403)
    try:
        token, raw = api_tokens.api_token_create(user=request.user, name=form.cleaned_data["name"],
                                                 scope=form.cleaned_data["scope"],
                                                 valid_days=form.cleaned_data["valid_for"])
    except AccountError as error:
        form.add_error(None, error.message)
        return _render_profile(request, api_token_form=form, status=error.http_status)
    return _render_profile(request, new_api_token=(token, raw))


@login_required
@require_POST
def api_token_revoke(request, pk):
    if api_tokens.api_token_revoke(user=request.user, token_id=pk):
        messages.success(request, _("The API token was revoked. Scripts using it are refused from now on."))
    return redirect(f"{reverse('profile:show')}#api-tokens")


def _confirmed_recently(request):
    """Whether the person at the keyboard proved who they are within allauth's re-authentication
    window: a confirmation (password or code), or a single sign-on at the provider."""
    now = time.time()
    return any(
        (record.get("reauthenticated") or record.get("method") == "socialaccount")
        and now - record.get("at", 0) < allauth_settings.REAUTHENTICATION_TIMEOUT
        for record in get_authentication_records(request, request.user)
    )


def _render_profile(request, *, form=None, api_token_form=None, status=200, calendar_links=None,
                    calendar_link_replaced=False, new_api_token=None):
    user = request.user
    today = timezone.localdate()
    context = {
        "form": form or ContactSettingsForm(initial={
            "contact_email": user.contact_email, "language": user.language, "mail_reminders": user.mail_reminders,
            "mail_digest": user.mail_digest}, staff=user.is_counter_staff),
        "schools": user.schools.order_by("name"),
        "grants": qualifications_of(user, today=today),
        "qualifications_missing": qualifications_required_not_held(user=user, today=today),
        "is_staff_account": account_deletion_refusal(user=user) == "staff_account",
        "calendar_links": calendar_links,
        "calendar_link_replaced": calendar_link_replaced,
        "has_calendar_link": CalendarToken.objects.filter(user=user).exists(),
        "calendar_counters": staff_locations(user).order_by("name"),
        "api_tokens": user.api_tokens.all() if user.is_counter_staff else None,
        "api_token_form": api_token_form or ApiTokenForm(),
        "new_api_token": new_api_token,
        "api_docs_url": reverse("api_docs"),
        "unreachable": mail_undeliverable_to(user),
    }
    response = render(request, "account/profile.html", context, status=status)
    if calendar_links is not None or new_api_token is not None:
        # The page holds a secret: no copy of it in the browser's cache.
        add_never_cache_headers(response)
    return response


@never_cache
@login_required
@require_GET
def personal_data(request):
    data = personal_data_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    filename = f"technikverleih-meine-daten-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete(request):
    user = request.user
    if request.method == "POST":
        try:
            account_delete(user=user)
        except AccountError as error:
            return _render_delete(request, refusal=error.code, status=error.http_status)
        logout(request)
        messages.success(request, _("Your account has been deleted."))
        return redirect("frontend:catalogue")
    return _render_delete(request, refusal=account_deletion_refusal(user=user))


def _render_delete(request, *, refusal, status=200):
    bookings = []
    if refusal is None:
        bookings = (
            account_bookings_to_cancel(user=request.user, today=timezone.localdate())
            .select_related("location").prefetch_related("lines__item_type").order_by("pickup_day", "pk")
        )
    context = {
        "refusal": refusal,
        "refusal_message": ACCOUNT_ERRORS[refusal][0] if refusal else None,
        "bookings_to_cancel": bookings,
    }
    return render(request, "account/profile_delete.html", context, status=status)

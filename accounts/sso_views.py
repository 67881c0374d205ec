"""The OpenID Connect sign-in and sign-out around allauth's views.

allauth's callback decodes the ID token but keeps no copy of it; signing out at the provider
(RP-initiated logout) needs it as `id_token_hint`. These views use allauth's own flow with an
adapter that also keeps the raw ID token and the provider in the session, and sign out locally
and then at the provider's `end_session_endpoint` when it has one.
"""

import logging
from urllib.parse import urlencode

from allauth.account.internal.decorators import login_not_required
from allauth.account.views import LogoutView
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse

from accounts.adapters import SSO_PENDING_KEY, SSO_SESSION_KEY

logger = logging.getLogger(__name__)


class KeepingIdTokenAdapter(OpenIDConnectOAuth2Adapter):
    def complete_login(self, request, app, token, **kwargs):
        login = super().complete_login(request, app, token, **kwargs)
        # Only the provider and the token: what sign-out needs. Django keeps the session data
        # across the session key change at sign-in.
        # Pending until the sign-in has happened (AccountAdapter.post_login moves it).
        request.session[SSO_PENDING_KEY] = {
            "provider": self.provider_id, "id_token": kwargs["response"].get("id_token", ""),
        }
        return login


@login_not_required
def login(request, provider_id):
    if request.POST.get("process", request.GET.get("process", "login")) != "login":
        return HttpResponseBadRequest("A school account can only be used to sign in.")
    try:
        return OAuth2LoginView.adapter_view(KeepingIdTokenAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None


@login_not_required
def callback(request, provider_id):
    try:
        return OAuth2CallbackView.adapter_view(KeepingIdTokenAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None


def _end_session_url(request, sso):
    """The provider's sign-out address for this session, or None if it offers none."""
    try:
        adapter = OpenIDConnectOAuth2Adapter(request, sso["provider"])
        endpoint = adapter.openid_config.get("end_session_endpoint")
        client_id = adapter.get_provider().app.client_id
    except Exception:  # provider gone from the settings, or unreachable: sign out here only
        logger.warning("no sign-out at provider %s", sso.get("provider"), exc_info=True)
        return None
    if not endpoint:
        return None
    query = {"post_logout_redirect_uri": request.build_absolute_uri(reverse("frontend:catalogue")),
             "client_id": client_id}
    if sso.get("id_token"):
        query["id_token_hint"] = sso["id_token"]
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(query)}"


class SsoLogoutView(LogoutView):
    """allauth's sign-out (POST only), then the provider's end-session endpoint if any."""

    def post(self, *args, **kwargs):
        sso = self.request.session.get(SSO_SESSION_KEY)
        response = super().post(*args, **kwargs)
        if sso:
            url = _end_session_url(self.request, sso)
            if url:
                return HttpResponseRedirect(url)
        return response


logout = SsoLogoutView.as_view()

"""How the API knows who calls and how often: personal tokens next to the session, read-only
tokens kept to reading, and rate limits for anonymous and token clients.

Wired in settings.REST_FRAMEWORK. The session (with DRF's CSRF check) serves the web app; a
token (`Authorization: Bearer tv_…`) serves scripts, which send no cookies and so need no CSRF
token.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.settings import api_settings

from accounts.api_tokens import api_token_lookup
from accounts.lockout import client_ip
from accounts.models import ApiToken

KEYWORD = "Bearer"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: the token's user, with the token as `request.auth`."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() != KEYWORD.lower():
            return None  # no token: the session may still authenticate
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as “Authorization: Bearer <token>”."))
        token = api_token_lookup(header[1].decode(errors="replace"))
        if token is None:
            raise exceptions.AuthenticationFailed(_("This API token is not valid (anymore)."))
        return token.user, token

    def authenticate_header(self, request):
        return KEYWORD


class TokenScope(permissions.BasePermission):
    """A read-only token may read and nothing else; sessions and read-write tokens pass. A view
    that only looks something up through a POST says so with `lookup_only = True` (the counter
    scan: it changes nothing but the unit's or booking's "scanned" history)."""

    message = _("This API token may only read. Create a read-and-write token for changes.")
    code = "token_read_only"

    def has_permission(self, request, view):
        token = request.auth
        if isinstance(token, ApiToken) and not token.can_write:
            return request.method in permissions.SAFE_METHODS or getattr(view, "lookup_only", False)
        return True


class _LiveRates:
    """Rates read from the settings at each request, not once at import (tests change them)."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonymousThrottle(_LiveRates, throttling.AnonRateThrottle):
    """Anonymous callers (the public catalogue and availability), per address behind our proxies."""

    def get_ident(self, request):
        return client_ip(request)


class TokenThrottle(_LiveRates, throttling.SimpleRateThrottle):
    """Token callers, per token: one runaway script does not slow the counter down. Sessions are
    people clicking and are not limited here."""

    scope = "token"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The token in the OpenAPI schema, so the docs page and generated clients know to send it."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=KEYWORD)

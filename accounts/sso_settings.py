"""allauth's provider settings built from OIDC_PROVIDERS (one place, used by config/settings.py and the tests).

Kept free of Django imports at module level: config/settings.py calls it while the settings
are being read.
"""

import json
import re


def socialaccount_providers(oidc_providers):
    """SOCIALACCOUNT_PROVIDERS for the OIDC_PROVIDERS list: one allauth `openid_connect` app per entry.

    Each entry is {"id", "name", "issuer", "client_id", "secret", "mapping", ...}; optional
    "fetch_userinfo" (default True) and "scope" (default openid, profile, email). PKCE (S256) is
    always on.
    """
    return {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": provider["id"],
                    "name": provider["name"],
                    "client_id": provider["client_id"],
                    "secret": provider.get("secret", ""),
                    "settings": {
                        "server_url": provider["issuer"].rstrip("/") + "/.well-known/openid-configuration",
                        "oauth_pkce_enabled": True,
                        "fetch_userinfo": provider.get("fetch_userinfo", True),
                        "scope": provider.get("scope", ["openid", "profile", "email"]),
                    },
                }
                for provider in oidc_providers
            ],
        }
    }


REQUIRED_KEYS = ("id", "name", "issuer", "client_id")
MAPPING_NAMES = ("vidis", "iserv", "generic")  # accounts.sso.MAPPINGS


def oidc_providers_from(text):
    """OIDC_PROVIDERS from its JSON text, checked so a typo stops the start with a clear message."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        providers = json.loads(text or "[]")
    except ValueError as error:
        raise ImproperlyConfigured(f"OIDC_PROVIDERS is not valid JSON: {error}") from None
    if not isinstance(providers, list) or not all(isinstance(entry, dict) for entry in providers):
        raise ImproperlyConfigured("OIDC_PROVIDERS must be a JSON list of objects (see the README).")
    seen = set()
    for number, entry in enumerate(providers, start=1):
        missing = [key for key in REQUIRED_KEYS if not entry.get(key)]
        if missing:
            raise ImproperlyConfigured(f"OIDC_PROVIDERS entry {number} lacks {', '.join(missing)}.")
        if entry.get("mapping", "generic") not in MAPPING_NAMES:
            raise ImproperlyConfigured(
                f"OIDC_PROVIDERS entry {number}: mapping must be one of {', '.join(MAPPING_NAMES)}."
            )
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", entry["id"]):
            raise ImproperlyConfigured(f"OIDC_PROVIDERS entry {number}: id must be lower-case letters, digits, hyphens.")
        if entry["id"] in seen:
            raise ImproperlyConfigured(f"OIDC_PROVIDERS: the id {entry['id']!r} is used twice.")
        seen.add(entry["id"])
    return providers

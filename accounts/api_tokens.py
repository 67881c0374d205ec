"""Personal API tokens: `tv_` and 256 random bits, shown once; only their SHA-256 is stored.

Created and revoked on the account page by counter staff and administrators for their
integrations. A token authenticates as its user (accounts.api_auth), so every object-level rule
of the API applies to it unchanged.
"""

import datetime
import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.services import AccountError

PREFIX = "tv_"
TOKEN_BYTES = 32
MAX_TOKENS_PER_USER = 20
# `last_used_at` is written at most this often per token, not on every request.
LAST_USED_PRECISION = datetime.timedelta(minutes=5)


def _hash(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user, name, scope):
    """A new token for `user`. Returns (token, raw): the raw token is shown once and never stored.

    Raises AccountError with one of: api_tokens_staff_only, api_token_limit.
    """
    if not user.is_counter_staff:
        raise AccountError("api_tokens_staff_only")
    if scope not in ApiToken.Scope.values:
        raise ValueError(f"unknown scope {scope!r}")
    raw = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        # Serialises one user's creations, so two tabs cannot pass the limit together.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
            raise AccountError("api_token_limit")
        token = ApiToken.objects.create(user=user, name=name, scope=scope, prefix=raw[:len(PREFIX) + 6],
                                        token_hash=_hash(raw))
    return token, raw


def api_token_revoke(*, user, token_id):
    """Revoke one of `user`'s own tokens; it stops at once. Returns whether there was one."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)


def api_token_lookup(raw):
    """The token `raw` stands for if its user may still use it, else None (wrong, revoked,
    deactivated account, or no longer counter staff). Notes the day it was last used."""
    if not raw or len(raw) > 100 or not raw.startswith(PREFIX):
        return None
    digest = _hash(raw)
    token = ApiToken.objects.select_related("user").filter(token_hash=digest).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if not token.user.is_active or not token.user.is_counter_staff:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token

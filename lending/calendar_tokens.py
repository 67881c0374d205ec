"""Calendar feed tokens: 192 random bits in the URL, only their SHA-256 in the database."""

import hashlib
import hmac
import secrets

from django.db import transaction

from lending.models import CalendarToken

TOKEN_BYTES = 24  # 192 bits; the issue asks for at least 128


def _hash(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def calendar_token_rotate(*, user):
    """A new feed token for `user`, replacing any earlier one (its URLs stop at once).
    Returns the raw token: it is shown once, in the feed URL, and never stored."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        CalendarToken.objects.update_or_create(user=user, defaults={"token_hash": _hash(raw)})
    return raw


def calendar_token_user(raw):
    """The active user whose feed `raw` opens, or None for a wrong, replaced or deactivated one.
    The stored hash is compared in constant time after the lookup."""
    if not raw or len(raw) > 100:
        return None
    digest = _hash(raw)
    token = CalendarToken.objects.select_related("user").filter(token_hash=digest).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest) or not token.user.is_active:
        return None
    return token.user

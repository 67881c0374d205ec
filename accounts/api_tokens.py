"""Personal API tokens: `tv_` and 256 random bits, shown once; only their SHA-256 is stored.

Created and revoked on the account page by counter staff and administrators for their
integrations. A token authenticates as its user (accounts.api_auth), so every object-level rule
of the API applies to it unchanged.
"""

import datetime
import hashlib
import hmac
import logging
import secrets

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.services import AccountError

logger = logging.getLogger(__name__)

PREFIX = "tv_"
TOKEN_BYTES = 32
MAX_TOKENS_PER_USER = 20
# `last_used_at` is written at most this often per token, not on every request.
LAST_USED_PRECISION = datetime.timedelta(minutes=5)


def _hash(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user, name, scope, valid_days=None):
    """A new token for `user`, valid for `valid_days` days (None: until revoked). Returns
    (token, raw): the raw token is shown once and never stored.

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
        if ApiToken.objects.filter(user=user).exclude(expires_at__lte=timezone.now()).count() >= MAX_TOKENS_PER_USER:
            raise AccountError("api_token_limit")
        expires_at = timezone.now() + datetime.timedelta(days=valid_days) if valid_days else None
        token = ApiToken.objects.create(user=user, name=name, scope=scope, prefix=raw[:len(PREFIX) + 6],
                                        token_hash=_hash(raw), expires_at=expires_at)
    logger.info("API token %s (%s, %s) created by user %s", token.pk, token.prefix, scope, user.pk)
    return token, raw


def api_token_revoke(*, user, token_id):
    """Revoke one of `user`'s own tokens; it stops at once. Returns whether there was one."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if deleted:
        logger.info("API token %s revoked by user %s", token_id, user.pk)
    return bool(deleted)


def api_tokens_purge_expired(*, now, dry_run=False):
    """Delete tokens that have expired (they no longer open anything); for the daily purge.
    Returns how many."""
    expired = ApiToken.objects.filter(expires_at__lte=now)
    if dry_run:
        return expired.count()
    deleted, _ = expired.delete()
    return deleted


def api_tokens_revoke_all(*, user, reason):
    """Revoke every token of `user` (their credentials changed). Returns how many there were."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    if deleted:
        logger.info("%s API token(s) of user %s revoked: %s", deleted, user.pk, reason)
    return deleted


# Receivers, connected in AccountsConfig.ready(): a token is as good as the credentials it was
# created with. Whoever changes a password or removes a second factor (perhaps because someone
# else knew it) should not have to remember the tokens as well.


def revoke_on_password_change(sender, instance, update_fields=None, raw=False, **kwargs):
    """pre_save of User: a new password, however it was set (account page, reset link, admin,
    `changepassword`: all go through set_password, which keeps the new password in `_password`
    until the save). Not a new hash of the same password (Django rehashes at sign-in after an
    upgrade, with `_password` cleared), nor the single sign-on's unusable password renewed at
    every sign-in (set_unusable_password leaves `_password` alone)."""
    new_password = getattr(instance, "_password", None)
    if raw or instance.pk is None or new_password is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return
    stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and not check_password(new_password, stored):
        api_tokens_revoke_all(user=instance, reason="password changed")


def revoke_on_second_factor_removed(sender, user, **kwargs):
    """allauth.mfa's authenticator_removed."""
    api_tokens_revoke_all(user=user, reason="second factor removed")


def api_token_lookup(raw):
    """The token `raw` stands for if its user may still use it, else None (wrong, expired,
    revoked, deactivated account, or no longer counter staff). Notes when it was last used."""
    if not raw or len(raw) > 100 or not raw.startswith(PREFIX):
        return None
    digest = _hash(raw)
    token = ApiToken.objects.select_related("user").filter(token_hash=digest).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.is_active or not token.user.is_counter_staff:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token

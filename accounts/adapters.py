"""allauth adapters: no self-registration; teachers come from their school's single sign-on."""

import hashlib
import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from accounts.models import Role
from accounts.sso import SsoRefusal, provider_config, sso_identity

logger = logging.getLogger(__name__)

# The session key under which the sign-on remembers its provider and ID token (for sign-out),
# and where the callback keeps them until the sign-in has really happened.
SSO_SESSION_KEY = "sso"
SSO_PENDING_KEY = "sso_pending"


def signed_on(request, user):
    """Whether `user` signed in to this session through a single sign-on (allauth records how
    each sign-in of a session happened; a leftover session key proves nothing)."""
    return any(record.get("method") == "socialaccount" for record in get_authentication_records(request, user))


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Teachers come from their school's single sign-on (or are created by staff); an open
        # sign-up form would let anyone claim to be a teacher.
        return False

    def pre_login(self, request, user, **kwargs):
        # With a sign-on configured, teachers use it: a local password (set through a reset,
        # say) would skip the role and school check that every sign-on makes.
        by_sign_on = "sociallogin" in (kwargs.get("signal_kwargs") or {})
        if settings.OIDC_PROVIDERS and user.role == Role.TEACHER and not by_sign_on:
            raise ImmediateHttpResponse(render(request, "account/sso_only.html", status=403))
        return super().pre_login(request, user, **kwargs)

    def post_login(self, request, user, **kwargs):
        pending = request.session.pop(SSO_PENDING_KEY, None)
        by_sign_on = "sociallogin" in (kwargs.get("signal_kwargs") or {})
        if by_sign_on and pending:
            request.session[SSO_SESSION_KEY] = pending
        response = super().post_login(request, user, **kwargs)
        if by_sign_on and user.role == Role.TEACHER and not user.contact_email_asked and response.status_code == 302:
            # Once, after the first sign-on: the address it sent may be a pseudonym.
            query = urlencode({"next": response["Location"]})
            response["Location"] = f"{reverse('frontend:contact_email')}?{query}"
        return response


def sso_claims(sociallogin):
    """The claims of the ID token with those of the userinfo endpoint on top."""
    data = sociallogin.account.extra_data or {}
    return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}


def _identity(sociallogin):
    """The role and schools of this sign-on (an SsoIdentity), or its SsoRefusal; worked out once.

    allauth asks for the new user's fields (populate_user) while it decodes the response, before
    the sign-in is checked (pre_social_login), so both ask here."""
    if not hasattr(sociallogin, "sso_result"):
        config = provider_config(sociallogin.account.provider)
        try:
            if config is None:
                raise SsoRefusal("provider_unknown")
            sociallogin.sso_result = sso_identity(claims=sso_claims(sociallogin), config=config)
        except SsoRefusal as refusal:
            sociallogin.sso_result = refusal
    return sociallogin.sso_result


def _pseudonymous_username(provider_id, sub):
    # A user name that says nothing about the person; the account is found by (provider, sub).
    return f"{provider_id}-{hashlib.sha256(sub.encode()).hexdigest()[:16]}"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Maps the sign-on's claims to a role and schools (accounts.sso), at every sign-in."""

    def pre_social_login(self, request, sociallogin):
        provider_id = sociallogin.account.provider
        config = provider_config(provider_id)
        identity = _identity(sociallogin)
        if sociallogin.state.get("process", "login") != "login":
            # Connecting a sign-on identity to an existing account would let anyone signed in
            # take over (or be taken over by) a teacher's identity; sign-ons only sign in.
            identity = SsoRefusal("process_refused")
        if isinstance(identity, SsoRefusal):
            refusal = identity
            # Logged without personal data: the provider, the code and a hash of the subject.
            subject = hashlib.sha256(str(sociallogin.account.uid).encode()).hexdigest()[:12]
            logger.warning("single sign-on refused: provider=%s code=%s subject=%s details=%s",
                           provider_id, refusal.code, subject, refusal.details)
            request.session.pop(SSO_SESSION_KEY, None)
            raise ImmediateHttpResponse(render(request, "account/sso_refused.html", {
                "refusal": refusal, "provider_name": (config or {}).get("name", provider_id),
                "existing": sociallogin.is_existing,
            }, status=403))
        if sociallogin.is_existing:
            user = sociallogin.user
            user.role = identity.role
            if user.has_usable_password():
                user.set_unusable_password()  # the sign-on is the only way in
            user.save(update_fields=["role", "password"])
            user.schools.set(identity.schools)

    def is_open_for_signup(self, request, sociallogin):
        return True  # pre_social_login has checked role, school and state

    def is_auto_signup_allowed(self, request, sociallogin):
        # Never ask for a sign-up form: the account is keyed on (provider, sub), and an e-mail
        # address that another account has too (a pseudonym, a shared school address) is fine.
        return True

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.username = _pseudonymous_username(sociallogin.account.provider, str(sociallogin.account.uid))
        identity = _identity(sociallogin)
        # A refused sign-on never gets this far (pre_social_login); the default is never saved.
        user.role = identity.role if not isinstance(identity, SsoRefusal) else Role.TEACHER
        # No EmailAddress rows: sign-in is through the provider, never by this address.
        sociallogin.email_addresses = []
        return user

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        user.schools.set(_identity(sociallogin).schools)
        logger.info("single sign-on created user %s (provider %s)", user.pk, sociallogin.account.provider)
        return user

"""allauth adapters: no self-registration; teachers come from their school's single sign-on."""

import hashlib
import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.shortcuts import render
from django.urls import reverse

from accounts.models import Role
from accounts.sso import SsoRefusal, provider_config, sso_identity

logger = logging.getLogger(__name__)

# The session key under which the sign-on remembers its provider and ID token (for sign-out).
SSO_SESSION_KEY = "sso"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Teachers come from their school's single sign-on (or are created by staff); an open
        # sign-up form would let anyone claim to be a teacher.
        return False

    def get_login_redirect_url(self, request):
        user = request.user
        if user.is_authenticated and user.role == Role.TEACHER and not user.contact_email_asked:
            # Once, after the first sign-in: the address from the sign-on may be a pseudonym.
            return reverse("frontend:contact_email") + "?next=" + super().get_login_redirect_url(request)
        return super().get_login_redirect_url(request)


def sso_claims(sociallogin):
    """The claims of the ID token with those of the userinfo endpoint on top."""
    data = sociallogin.account.extra_data or {}
    return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}


def _pseudonymous_username(provider_id, sub):
    # A user name that says nothing about the person; the account is found by (provider, sub).
    return f"{provider_id}-{hashlib.sha256(sub.encode()).hexdigest()[:16]}"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Maps the sign-on's claims to a role and schools (accounts.sso), at every sign-in."""

    def pre_social_login(self, request, sociallogin):
        provider_id = sociallogin.account.provider
        config = provider_config(provider_id)
        try:
            if config is None:
                raise SsoRefusal("provider_unknown")
            identity = sso_identity(claims=sso_claims(sociallogin), config=config)
        except SsoRefusal as refusal:
            # Logged without personal data: the provider, the code and a hash of the subject.
            subject = hashlib.sha256(str(sociallogin.account.uid).encode()).hexdigest()[:12]
            logger.warning("single sign-on refused: provider=%s code=%s subject=%s details=%s",
                           provider_id, refusal.code, subject, refusal.details)
            request.session.pop(SSO_SESSION_KEY, None)
            raise ImmediateHttpResponse(render(request, "account/sso_refused.html", {
                "refusal": refusal, "provider_name": (config or {}).get("name", provider_id),
            }, status=403)) from None
        sociallogin.sso_identity = identity
        if sociallogin.is_existing:
            user = sociallogin.user
            user.role = identity.role
            user.save(update_fields=["role"])
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
        user.role = sociallogin.sso_identity.role
        # No EmailAddress rows: sign-in is through the provider, never by this address.
        sociallogin.email_addresses = []
        return user

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        user.schools.set(sociallogin.sso_identity.schools)
        logger.info("single sign-on created user %s (provider %s)", user.pk, sociallogin.account.provider)
        return user

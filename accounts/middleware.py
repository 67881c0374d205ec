"""Staff and administrators must use a second factor (a TOTP app) for their local accounts."""

from allauth.mfa.models import Authenticator
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts.adapters import signed_on

# What a staff member without a second factor may still open: setting one up (allauth asks for
# the password again before it, at /konto/reauthenticate/), signing out, switching the language,
# and the app's own files.
ALLOWED_PREFIXES = ("/konto/2fa/", "/konto/reauthenticate/", "/konto/logout/", "/i18n/", "/static/", "/media/")


class StaffNeedTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated
                # By role, and any Django admin account (createsuperuser leaves the role alone).
                and (user.is_counter_staff or user.is_staff or user.is_superuser)
                and not request.path.startswith(ALLOWED_PREFIXES)
                # Signed in through a single sign-on: the provider checks the second factor.
                and not signed_on(request, user)
                and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()):
            return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

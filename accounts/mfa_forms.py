"""allauth's one-time code forms, telling a code used a moment ago apart from a wrong one.

allauth accepts each TOTP code once (it remembers used codes in the cache for one period) and
refuses a second use with the same "Incorrect code." as a mistyped one. A clerk who signs in twice
within 30 seconds, in two browsers, then believes the app or the phone is wrong. The code is still
refused; only the message says what happened and what to do (MFA_FORMS in the settings).
"""

from allauth.mfa.base import forms as allauth_forms
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, validate_totp_code
from allauth.mfa.utils import decrypt
from django import forms
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

CODE_USED = _("This code has just been used. Wait for the next code in your authenticator app (a new one "
              "comes every 30 seconds) and enter that one.")


def code_just_used(user, code):
    """Whether `code` is a right code of the user's TOTP app that was used within its period."""
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None or not code:
        return False
    totp = TOTP(authenticator)
    return (cache.get(totp._get_used_cache_key(code)) is not None
            and validate_totp_code(decrypt(authenticator.data["secret"]), code))


class _TellsUsedCodes:
    def clean_code(self):
        try:
            return super().clean_code()
        except forms.ValidationError:
            if code_just_used(self.user, self.cleaned_data.get("code")):
                raise forms.ValidationError(CODE_USED, code="code_used") from None
            raise


class AuthenticateForm(_TellsUsedCodes, allauth_forms.AuthenticateForm):
    pass


class ReauthenticateForm(_TellsUsedCodes, allauth_forms.ReauthenticateForm):
    pass

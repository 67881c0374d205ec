from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and schools")

    def ready(self):
        from allauth.mfa.signals import authenticator_removed
        from django.db.models.signals import pre_save

        from accounts import api_tokens
        from accounts.models import User

        pre_save.connect(api_tokens.revoke_on_password_change, sender=User, dispatch_uid="api_tokens_password")
        authenticator_removed.connect(api_tokens.revoke_on_second_factor_removed, dispatch_uid="api_tokens_mfa")

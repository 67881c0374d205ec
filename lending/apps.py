from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LendingConfig(AppConfig):
    name = "lending"
    verbose_name = _("Lending")

    def ready(self):
        from lending import signals  # noqa: F401 - connects the receivers

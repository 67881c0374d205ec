from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ContactSettingsForm(forms.Form):
    """Where the portal writes to a user and in which language; account_contact_update decides."""

    contact_email = forms.EmailField(
        label=_("Contact e-mail"), max_length=254, required=False,
        help_text=_("Empty: we write to the address of your sign-in account."),
    )
    language = forms.ChoiceField(
        label=_("Language of e-mails"), required=False,
        choices=[("", _("The portal's default"))] + list(settings.LANGUAGES),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_email"].widget.attrs["autocomplete"] = "email"

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken


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
    mail_reminders = forms.BooleanField(
        label=_("Remind me by e-mail before pickups and returns"), required=False,
        help_text=_("Confirmations, changes, cancellations and overdue notices always come."),
    )
    mail_digest = forms.BooleanField(
        label=_("Send me the digest of each counter day the evening before"), required=False,
        help_text=_("Pickups by slot, returns due, overdue loans and new damage reports of your counters."),
    )

    def __init__(self, *args, staff=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not staff:
            del self.fields["mail_digest"]
        self.fields["contact_email"].widget.attrs["autocomplete"] = "email"


class ApiTokenForm(forms.Form):
    field_order = ["name", "scope", "valid_for"]
    name = forms.CharField(label=_("What is the token for?"), max_length=100,
                           help_text=_("E.g. “Kiosk counter 1”, so you know which one to revoke later."))
    valid_for = forms.TypedChoiceField(
        label=_("Valid for"), coerce=int, empty_value=None, initial="365", required=False,
        choices=[("30", _("30 days")), ("90", _("90 days")), ("365", _("one year")), ("", _("until revoked"))],
        help_text=_("A script that runs for good (a kiosk) may need a token without expiry; revoke it when "
                    "the script is retired."),
    )
    scope = forms.ChoiceField(label=_("Access"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ,
                              widget=forms.RadioSelect,
                              help_text=_("Read only is enough for looking up bookings, units and schools and for resolving scans."))

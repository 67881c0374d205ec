from django import forms
from django.utils.translation import gettext_lazy as _

MESSAGE_MAX_LENGTH = 5000


class AccessibilityContactForm(forms.Form):
    """Reporting a barrier (BITV NRW): only an address to answer to is required besides the message."""

    name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    email = forms.EmailField(
        label=_("Your e-mail address"), max_length=254,
        help_text=_("So that we can answer you. We use it for nothing else."),
    )
    message = forms.CharField(
        label=_("Your message"), max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Which page or function is hard to use, and what happens?"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["name"].widget.attrs["autocomplete"] = "name"

    def clean_name(self):
        # One line: a name with line breaks could pose as further header lines in the mail body.
        return " ".join(self.cleaned_data["name"].split())

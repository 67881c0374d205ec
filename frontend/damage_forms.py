"""Forms of the damage pages: the teacher's report, the staff's settlement, the report filter and
the statistics year."""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lending.models import DamageReport
from lending.services import COMPENSATION_LIMIT
from lending.statistics import FIRST_YEAR


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, unit):
        return f"{unit.asset_tag} – {unit.item_type.name}"


class DamageReportForm(forms.Form):
    """What happened to a loan: the teacher picks the kind, optionally the unit, and describes it."""

    kind = forms.ChoiceField(label=_("What happened?"), choices=DamageReport.Kind.choices, widget=forms.RadioSelect)
    unit = UnitChoiceField(
        label=_("Which unit?"), queryset=None, required=False, empty_label=_("Not sure / the whole loan"),
        help_text=_("The asset tag is on the label of the unit."),
    )
    description = forms.CharField(
        label=_("Description"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What happened, when and where? For a theft, please give the police report number if there is one."),
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units

    def clean_description(self):
        description = self.cleaned_data["description"].strip()
        if not description:
            raise ValidationError(_("Please describe what happened."))
        return description


class EuroAmountField(forms.DecimalField):
    """An amount in euros as staff type it: "12,50", "12.50", "1.234,50", "12 €".

    A comma is the decimal separator wherever it appears (dots before it group thousands); without
    a comma, a dot is the decimal separator. More than two decimals is an error rather than a
    guess ("1.234" is refused: 1,234 € or 1234 €?).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 8)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("max_value", COMPENSATION_LIMIT)
        super().__init__(**kwargs)
        self.widget.input_type = "text"
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        self.widget.attrs.pop("step", None)

    def to_python(self, value):
        if isinstance(value, str):
            value = re.sub(r"[\s\u00a0€]|EUR", "", value, flags=re.IGNORECASE)
            if "," in value:
                integer_part, _comma, decimals = value.rpartition(",")
                value = integer_part.replace(".", "") + "." + decimals
        return super().to_python(value)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        for key in ("min", "max", "step"):
            attrs.pop(key, None)
        return attrs


class DamageSettleForm(forms.Form):
    resolution = forms.ChoiceField(
        label=_("How was it settled?"), choices=DamageReport.Resolution.choices, widget=forms.RadioSelect,
        help_text=_("Repaired or replaced: the unit is available again. Written off: it is retired."),
    )
    compensation_amount = EuroAmountField(
        label=_("Compensation (EUR)"), required=False,
        help_text=_("Only if the borrower pays for the damage, e.g. 12,50."),
    )


class DamageReportFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + DamageReport.Status.choices
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All"))] + DamageReport.Kind.choices)


class StatisticsForm(forms.Form):
    """`?jahr=2026` and `&format=csv`; the year defaults to the current one."""

    jahr = forms.CharField(label=_("Year"), required=False)
    format = forms.ChoiceField(required=False, choices=[("", "HTML"), ("html", "HTML"), ("csv", "CSV")])

    first_year = FIRST_YEAR

    @property
    def last_year(self):
        return timezone.localdate().year

    def clean_jahr(self):
        value = self.cleaned_data["jahr"].strip()
        if not value:
            return self.last_year
        year = int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else None
        if year is None or not self.first_year <= year <= self.last_year:
            raise ValidationError(
                _("Enter a year from %(first)s to %(last)s.") % {"first": self.first_year, "last": self.last_year}
            )
        return year

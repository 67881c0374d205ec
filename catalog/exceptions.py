"""Refusals of the catalogue services: one stable code each, one translated message each."""

from django.utils.translation import gettext_lazy as _

CATALOG_ERRORS = {
    "unknown_state": _("Unknown German state %(state)s. Use one of: %(choices)s."),
    "year_out_of_range": _("The year must be between %(first)s and %(last)s."),
    "label_format_unknown": _("Unknown label format %(label_format)s. Use one of: %(choices)s."),
    "label_start_invalid": _("The start position must be between 1 and %(last)s on this label sheet."),
    "no_units": _("Choose at least one unit to print labels for."),
    "too_many_labels": _("At most %(limit)s labels at a time. Print them in parts, for example item by item."),
}


class CatalogError(Exception):
    """A refusal by a catalogue service. `code` is stable; `params` fill in the message."""

    def __init__(self, code, **params):
        if code not in CATALOG_ERRORS:
            raise ValueError(f"unknown catalogue error code {code!r}")
        self.code = code
        self.params = params
        super().__init__(code)

    @property
    def message(self):
        return CATALOG_ERRORS[self.code] % self.params

    def __str__(self):
        return str(self.message)

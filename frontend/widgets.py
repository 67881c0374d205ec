"""Form widgets shared by the pages."""

from django import forms

ISO_DATE = "%Y-%m-%d"


class DateInput(forms.DateInput):
    """`<input type="date">` with its value as ISO 8601 (2026-12-05) in every language: the only
    form the HTML standard allows there. Django would write the language's format (05.12.2026),
    which browsers show as an empty field. The field reads ISO in every language too."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_DATE)


class HiddenDateInput(DateInput):
    """A day carried along in a form, as ISO 8601 whatever the language."""

    input_type = "hidden"

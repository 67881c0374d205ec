"""Forms of the catalogue used by the admin."""

from django import forms
from django.contrib.admin.widgets import AdminFileWidget
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from catalog.labels import DEFAULT_LABEL_FORMAT, LABEL_FORMATS
from catalog.models import ItemType
from catalog.pictures import picture_clean


class ItemTypeAdminForm(forms.ModelForm):
    """The item type form of the admin; an uploaded picture is checked and re-encoded.

    The picture is a plain FileField here, not Django's ImageField: Django's field would open the
    upload with Pillow once more before our checks and answer a too large or too big picture with
    its generic "not a valid image" message, while `picture_clean` says what is wrong.
    """

    class Meta:
        model = ItemType
        fields = "__all__"
        field_classes = {"picture": forms.FileField}
        widgets = {"picture": AdminFileWidget(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"})}

    def clean_picture(self):
        picture = self.cleaned_data.get("picture")
        # Only a new upload is checked; the stored picture (or False for "clear") passes as it is.
        if isinstance(picture, UploadedFile):
            return picture_clean(picture)
        return picture


class LabelSheetForm(forms.Form):
    """Format and first free label for printing label sheets; the service checks the range."""

    label_format = forms.ChoiceField(label=_("Label sheet"))
    start_position = forms.IntegerField(
        label=_("Start at label"), min_value=1, initial=1,
        help_text=_("The first free label on the first sheet, counted left to right, top to bottom."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label_format"].choices = [(key, layout.name) for key, layout in LABEL_FORMATS.items()]
        self.fields["label_format"].initial = DEFAULT_LABEL_FORMAT

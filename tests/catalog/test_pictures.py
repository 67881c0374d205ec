import io
import random

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from catalog.models import ItemType
from catalog.pictures import picture_clean
from tests import factories

ORIENTATION = 0x0112  # EXIF tag; 6 means "turn 90° clockwise to show upright"
CAMERA_MODEL = 0x0110


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def image_bytes(*, size=(40, 20), mode="RGB", color="red", file_format="PNG", exif=None):
    image = Image.new(mode, size, color)
    buffer = io.BytesIO()
    options = {"exif": exif} if exif is not None else {}
    image.save(buffer, format=file_format, **options)
    return buffer.getvalue()


def noise_png(size=(120, 120)):
    buffer = io.BytesIO()
    # Random pixels do not compress, so the file is about as large as width × height × 3.
    pixels = random.Random(7).randbytes(size[0] * size[1] * 3)
    Image.frombytes("RGB", size, pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def camera_exif(orientation=6):
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[CAMERA_MODEL] = "Kamera mit Seriennummer 12345"
    return exif


def upload(data, name="bild.png", content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def refusal_code(data, name="bild.png"):
    with pytest.raises(ValidationError) as error:
        picture_clean(upload(data, name))
    return error.value.code


def open_result(content_file):
    image = Image.open(io.BytesIO(content_file.read()))
    image.load()
    return image


def stored_files(media_root):
    return [path for path in media_root.rglob("*") if path.is_file()]


# The function ------------------------------------------------------------------------------------


def test_it_reencodes_a_png_upright_and_without_metadata():
    result = picture_clean(upload(image_bytes(size=(40, 20), exif=camera_exif(orientation=6))))

    image = open_result(result)
    assert image.format == "WEBP"
    assert image.size == (20, 40)  # turned by its EXIF orientation
    assert len(image.getexif()) == 0
    assert "exif" not in image.info and "icc_profile" not in image.info
    assert result.name.endswith(".webp") and "bild" not in result.name


def test_it_strips_exif_from_a_jpeg():
    data = image_bytes(file_format="JPEG", exif=camera_exif(orientation=1))
    assert len(Image.open(io.BytesIO(data)).getexif()) > 0

    image = open_result(picture_clean(upload(data, "foto.jpg", "image/jpeg")))

    assert len(image.getexif()) == 0
    assert "exif" not in image.info


def test_it_keeps_transparency_as_png():
    image = open_result(picture_clean(upload(image_bytes(mode="RGBA", color=(255, 0, 0, 0)))))

    assert image.format == "PNG"
    assert image.mode == "RGBA"


def test_it_scales_down_to_the_longest_side(settings):
    settings.PICTURE_MAX_SIDE = 100

    image = open_result(picture_clean(upload(image_bytes(size=(400, 200)))))

    assert image.size == (100, 50)


def test_it_refuses_a_text_file_named_png():
    assert refusal_code(b"Das ist kein Bild, sondern Text.\n" * 10) == "not_an_image"


def test_it_refuses_a_truncated_image():
    assert refusal_code(noise_png()[:200]) == "not_an_image"


def test_it_refuses_too_many_pixels(settings):
    settings.PICTURE_MAX_PIXELS = 10_000

    assert refusal_code(image_bytes(size=(200, 200))) == "too_many_pixels"


@pytest.mark.parametrize("size", [(40, 40), (100, 100)], ids=["bomb warning", "bomb error"])
def test_it_refuses_decompression_bombs(settings, monkeypatch, size):
    settings.PICTURE_MAX_PIXELS = 10_000_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)

    assert refusal_code(image_bytes(size=size)) == "too_many_pixels"


def test_it_refuses_a_file_over_the_size_limit(settings):
    settings.PICTURE_MAX_BYTES = 1000
    data = noise_png()
    assert len(data) > 1000

    assert refusal_code(data) == "too_large"


def test_it_refuses_a_large_file_even_when_its_size_is_not_told(settings):
    settings.PICTURE_MAX_BYTES = 1000

    class Unsized(io.BytesIO):
        pass

    with pytest.raises(ValidationError) as error:
        picture_clean(Unsized(noise_png()))
    assert error.value.code == "too_large"


# Through the admin -------------------------------------------------------------------------------


def item_type_form(*, location, category, picture=None, **fields):
    data = {
        "location": location.pk,
        "category": category.pk,
        "name": "VR-Koffer",
        "slug": "vr-koffer",
        "description": "Zwölf Brillen im Koffer.",
        "contents": "Koffer\nBrillen",
        "max_loan_days": 14,
        "min_lead_days": 2,
        "max_advance_days": 180,
        "turnaround_days": 1,
        "required_qualification": "",
        "paused_reason": "",
        "units-TOTAL_FORMS": 0,
        "units-INITIAL_FORMS": 0,
        "units-MIN_NUM_FORMS": 0,
        "units-MAX_NUM_FORMS": 1000,
    }
    if picture is not None:
        data["picture"] = picture
    data.update(fields)
    return data


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def category(db):
    return factories.make_category()


def picture_errors(response):
    assert response.status_code == 200
    return response.context["adminform"].form.errors.as_data().get("picture", [])


def test_the_admin_stores_a_reencoded_picture(admin_client, location, category, media_root):
    data = item_type_form(location=location, category=category,
                          picture=upload(image_bytes(size=(40, 20), exif=camera_exif(orientation=6))))

    response = admin_client.post(reverse("admin:catalog_itemtype_add"), data)

    assert response.status_code == 302
    item_type = ItemType.objects.get(slug="vr-koffer")
    assert item_type.picture.name.startswith("item-types/") and item_type.picture.name.endswith(".webp")
    with item_type.picture.open("rb") as stored:
        image = Image.open(stored)
        image.load()
    assert image.size == (20, 40)
    assert len(image.getexif()) == 0
    assert stored_files(media_root) == [media_root / item_type.picture.name]


@pytest.mark.parametrize("case", ["text file", "too many pixels", "too large"])
def test_the_admin_refuses_a_bad_picture_on_add_and_saves_nothing(admin_client, settings, location, category,
                                                                 media_root, case):
    settings.PICTURE_MAX_PIXELS = 10_000
    settings.PICTURE_MAX_BYTES = 20_000
    data, code = {
        "text file": (b"Kein Bild.\n" * 50, "not_an_image"),
        "too many pixels": (image_bytes(size=(200, 200)), "too_many_pixels"),
        "too large": (noise_png(size=(100, 100)), "too_large"),
    }[case]

    response = admin_client.post(
        reverse("admin:catalog_itemtype_add"), item_type_form(location=location, category=category, picture=upload(data))
    )

    assert [error.code for error in picture_errors(response)] == [code]
    assert not ItemType.objects.exists()
    assert stored_files(media_root) == []


def test_the_admin_refuses_a_bad_picture_on_change_and_keeps_the_old_one(admin_client, location, category, media_root):
    item_type = factories.make_item_type(location=location, category=category, slug="vr-koffer", units=0)
    item_type.picture.save("alt.webp", picture_clean(upload(image_bytes())))
    old_name = item_type.picture.name
    url = reverse("admin:catalog_itemtype_change", args=[item_type.pk])

    response = admin_client.post(url, item_type_form(
        location=location, category=category, name="Neuer Name", picture=upload(b"GIF89a kaputt", "bild.gif")
    ))

    assert [error.code for error in picture_errors(response)] == ["not_an_image"]
    item_type.refresh_from_db()
    assert item_type.picture.name == old_name
    assert item_type.name != "Neuer Name"
    assert stored_files(media_root) == [media_root / old_name]


def test_the_admin_keeps_the_picture_when_no_new_one_is_uploaded(admin_client, location, category):
    item_type = factories.make_item_type(location=location, category=category, slug="vr-koffer", units=0)
    item_type.picture.save("alt.webp", ContentFile(image_bytes(file_format="WEBP")))
    old_name = item_type.picture.name

    response = admin_client.post(
        reverse("admin:catalog_itemtype_change", args=[item_type.pk]),
        item_type_form(location=location, category=category, name="Neuer Name"),
    )

    assert response.status_code == 302
    item_type.refresh_from_db()
    assert item_type.name == "Neuer Name"
    assert item_type.picture.name == old_name

"""Checks and re-encodes uploaded item pictures.

An upload is never stored as sent: it is opened with Pillow, checked against the size and pixel
limits of the settings, turned upright by its EXIF orientation, stripped of every metadata
(EXIF with GPS positions, camera serial numbers, ICC profiles, comments), scaled down and saved
anew under a random name. What reaches MEDIA_ROOT is therefore a plain image the app wrote itself,
whatever the uploaded file claimed to be.
"""

import io
import secrets
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Formats Pillow may open from an upload; everything else is refused before decoding.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
JPEG_QUALITY = 85
WEBP_QUALITY = 82


def _refuse(message, code, **params):
    raise ValidationError(message, code=code, params=params)


def _open(data):
    """The decoded image, or ValidationError; DecompressionBombError and its warning are refusals."""
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make the warning an error too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
                _check_pixels(probe.size)
                # verify() reads the whole file for structural damage without decoding the pixels.
                probe.verify()
            # A verified image cannot be used any more; reopen it to decode it.
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            _check_pixels(image.size)
            image.load()
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            _refuse(_("The picture has too many pixels."), "too_many_pixels")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            _refuse(_("The file is not a picture in a format we accept (JPEG, PNG, WEBP, GIF)."), "not_an_image")
    return image


def _check_pixels(size):
    width, height = size
    if width * height > settings.PICTURE_MAX_PIXELS:
        _refuse(
            _("The picture has too many pixels (%(pixels)s, at most %(limit)s)."), "too_many_pixels",
            pixels=f"{width} × {height}", limit=f"{settings.PICTURE_MAX_PIXELS:,}".replace(",", "."),
        )


def _has_alpha(image):
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def picture_clean(uploaded):
    """Check an uploaded picture and return a re-encoded ContentFile with a new random name.

    Arguments:
        uploaded: a Django UploadedFile (or any file object with `read()` and `size`).

    Raises ValidationError with code: too_large (over PICTURE_MAX_BYTES), not_an_image (not a
    readable JPEG, PNG, WEBP, GIF, BMP or TIFF), too_many_pixels (over PICTURE_MAX_PIXELS, or a
    decompression bomb). Pictures with transparency become PNG, all others WEBP (JPEG if this
    Pillow lacks WEBP), at most PICTURE_MAX_SIDE pixels on the longest side.
    """
    size = getattr(uploaded, "size", None)
    limit = settings.PICTURE_MAX_BYTES
    if size is not None and size > limit:
        _refuse(_("The file is too large (at most %(limit)s MB)."), "too_large", limit=_megabytes(limit))
    if hasattr(uploaded, "seek"):
        uploaded.seek(0)
    # Read one byte more than allowed, so a file object without a trustworthy size is caught too.
    data = uploaded.read(limit + 1)
    if len(data) > limit:
        _refuse(_("The file is too large (at most %(limit)s MB)."), "too_large", limit=_megabytes(limit))

    image = _open(data)
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not make the picture unusable: keep it unturned
        pass
    max_side = settings.PICTURE_MAX_SIDE
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)

    # Save from a copy without `info`: Pillow writes EXIF, XMP, ICC profiles and comments from
    # it, and they may hold GPS positions or camera serial numbers.
    if _has_alpha(image):
        clean, file_format, extension, options = image.convert("RGBA"), "PNG", "png", {"optimize": True}
    elif _webp_available():
        clean, file_format, extension, options = image.convert("RGB"), "WEBP", "webp", {"quality": WEBP_QUALITY}
    else:
        clean, file_format, extension, options = (
            image.convert("RGB"), "JPEG", "jpg", {"quality": JPEG_QUALITY, "optimize": True}
        )
    clean.info = {}
    output = io.BytesIO()
    clean.save(output, format=file_format, **options)
    return ContentFile(output.getvalue(), name=f"{secrets.token_hex(8)}.{extension}")


def _megabytes(limit):
    return f"{limit / (1024 * 1024):g}"


def _webp_available():
    from PIL import features

    return features.check("webp")

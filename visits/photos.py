"""Photos taken on the tablet for a work item: each must be an image Pillow can read, no
larger than MAX_PHOTO_BYTES; it is turned upright by its EXIF orientation, resized to at
most MAX_SIDE pixels on its longer side, and re-encoded as JPEG (which also drops the EXIF
block: no GPS position or camera serial leaves the shop)."""

from io import BytesIO

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_PHOTOS = 6
MAX_SIDE = 1600
MAX_PIXELS = 60_000_000  # refuse decompression bombs before decoding


def prepared(upload, index: int) -> ContentFile:
    """The upload as a stored-ready JPEG, or a ValidationError on ``photos`` saying which."""
    name = getattr(upload, "name", "") or f"photo-{index + 1}"
    if upload.size > MAX_PHOTO_BYTES:
        raise ValidationError(
            {
                "photos": [
                    _("照片“%(name)s”太大（%(size)s MB），每张最多 %(max)s MB。")
                    % {
                        "name": name,
                        "size": round(upload.size / 1024 / 1024, 1),
                        "max": MAX_PHOTO_BYTES // 1024 // 1024,
                    }
                ]
            }
        )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError({"photos": [_("照片“%(name)s”像素过多。") % {"name": name}]})
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out = BytesIO()
            image.save(out, format="JPEG", quality=85, optimize=True)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            {"photos": [_("“%(name)s”不是可以识别的图片。") % {"name": name}]}
        ) from None
    return ContentFile(out.getvalue(), name=f"photo-{index + 1}.jpg")


def prepared_all(uploads) -> list[ContentFile]:
    uploads = list(uploads or [])
    if len(uploads) > MAX_PHOTOS:
        raise ValidationError({"photos": [_("最多上传 %(max)s 张照片。") % {"max": MAX_PHOTOS}]})
    return [prepared(upload, index) for index, upload in enumerate(uploads)]

"""``PillowImageInspector``: the image port on Pillow.

``dimensions`` opens the image lazily (Pillow reads the header only), so the size limits are
checked before a single pixel is decoded — a decompression bomb is refused on its header.
``thumbnail`` then decodes everything (a truncated file fails here) and writes a JPEG.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from dealercrm.domain.errors import InvalidValue


class PillowImageInspector:
    def dimensions(self, data: bytes) -> tuple[int, int]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as img:
                    return int(img.width), int(img.height)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise InvalidValue("file", "无法读取图片（文件损坏或不完整）", code="media.undecodable") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InvalidValue("file", "图片尺寸超过上限", code="media.dimensions_too_large") from None

    def thumbnail(self, data: bytes, side: int) -> bytes:
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()  # decodes the whole file: a truncated one raises here
                thumb = ImageOps.exif_transpose(img)
                thumb.thumbnail((side, side))
                if thumb.mode not in ("RGB", "L"):
                    thumb = thumb.convert("RGB")
                out = io.BytesIO()
                thumb.save(out, format="JPEG", quality=80, optimize=True)
                return out.getvalue()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise InvalidValue("file", "图片文件不完整或已损坏", code="media.truncated") from None

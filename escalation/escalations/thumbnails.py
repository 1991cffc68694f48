"""Thumbnails of image attachments: small, re-encoded copies the form and the packet card show
instead of the full photo. Pure functions, no database: the service stores what ``make`` returns.

- Bounded: at most ``MAX_SIDE`` pixels on the long side, never enlarged.
- Re-encoded from the decoded pixels: JPEG, or PNG where the image has transparency. No EXIF (GPS
  position, camera), no ICC profile, no comments survive; the EXIF orientation is applied first,
  so a phone photo taken upright shows upright.
- Only the formats a browser shows (PNG, JPEG, GIF, WebP) are decoded, and only when the header
  says the image is at most ``max_pixels`` large: a decompression bomb (a small file that would
  decode into gigabytes) gets no thumbnail, as does a file that fails to decode.
"""
import io
import logging
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 320
DEFAULT_MAX_PIXELS = 50_000_000  # an 8064 × 6048 phone photo is 48.8 million
JPEG_QUALITY = 82

# The checked type (attachments.sniff) -> the Pillow decoder allowed for it.
DECODERS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}

log = logging.getLogger(__name__)


@dataclass
class Thumbnail:
    content_type: str
    data: bytes
    width: int
    height: int


def make(data: bytes, content_type: str, *, max_side: int = MAX_SIDE,
         max_pixels: int = DEFAULT_MAX_PIXELS) -> Thumbnail | None:
    """The thumbnail of an image, or None when there can be none (not an image a browser shows,
    too many pixels, or content that does not decode)."""
    decoder = DECODERS.get(content_type)
    if decoder is None or not data:
        return None
    try:
        with warnings.catch_warnings():
            # Pillow warns above Image.MAX_IMAGE_PIXELS and refuses above twice that; both mean
            # "no thumbnail" here, never a crash. Pillow's other warnings (odd metadata) do not
            # matter for a preview.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _make(data, decoder, max_side=max_side, max_pixels=max_pixels)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        log.warning("No thumbnail for a %s of too many pixels: %s", content_type, bomb)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            IndexError, TypeError, MemoryError) as failed:
        log.info("No thumbnail for a %s that does not decode: %s", content_type, failed)
    return None


def _make(data, decoder, *, max_side, max_pixels):
    with Image.open(io.BytesIO(data), formats=[decoder]) as image:
        width, height = image.size
        if width <= 0 or height <= 0 or width * height > max_pixels:
            log.warning("No thumbnail for a %d × %d image (more than %d pixels)", width, height,
                        max_pixels)
            return None
        if decoder == "JPEG":
            # Decode at a reduced scale straight away (1/2 … 1/8): far less memory and time.
            image.draft("RGB", (max_side, max_side))
        image.load()
        upright = ImageOps.exif_transpose(image)
        alpha = upright.has_transparency_data
        pixels = upright.convert("RGBA" if alpha else "RGB")
    pixels.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # A fresh image from the bare pixels: no metadata of the original can come along.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if alpha:
        clean.save(out, "PNG", optimize=True)
        content_type = "image/png"
    else:
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        content_type = "image/jpeg"
    return Thumbnail(content_type=content_type, data=out.getvalue(), width=clean.width,
                     height=clean.height)

"""Checking uploaded files: the type comes from the content (magic bytes), never from the name or
the browser; the name is made safe to show and to send back in a header.

Pure functions, no database: the service stores what these accept.
"""
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from markupsafe import escape

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_COUNT = 10

# Checked type -> the file name extensions that may claim it.
ALLOWED = {
    "image/png": {"png"},
    "image/jpeg": {"jpg", "jpeg", "jpe", "jfif"},
    "image/gif": {"gif"},
    "image/webp": {"webp"},
    "image/heic": {"heic", "heif"},
    "application/pdf": {"pdf"},
    "application/zip": {"zip"},
    "text/plain": {"txt", "log", "csv", "json", "out", "err"},
}
EXTENSION_FOR = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp",
                 "image/heic": "heic", "application/pdf": "pdf", "application/zip": "zip",
                 "text/plain": "txt"}
IMAGE_TYPES = {t for t in ALLOWED if t.startswith("image/")}
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"heif"}

# What a browser would treat as a web page or script, anywhere in an image (a polyglot) or at
# the start of a text file (a renamed HTML or SVG file).
MARKUP = re.compile(rb"<\s*(?:script|html|svg|iframe|object|embed|body|head|meta|!doctype|\?xml)"
                    rb"|javascript:", re.IGNORECASE)
LEADING_MARKUP = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<", re.IGNORECASE)

ALLOWED_DESCRIPTION = _l("photos and screenshots (PNG, JPEG, GIF, WebP, HEIC), PDF, text logs and "
                         "ZIP archives")


@dataclass
class CheckedFile:
    name: str
    content_type: str
    data: bytes
    size: int
    sha256: str


class Refused(Exception):
    """A file the allowlist refuses; ``message`` says why in the reader's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def sniff(data: bytes) -> str | None:
    """The type the content really is, or None when it is none the allowlist knows."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "image/heic"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "application/zip"
    if _is_text(data):
        return "text/plain"
    return None


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def safe_name(raw: str | None, content_type: str | None = None) -> str:
    """A file name to show and send back: no folders, no control or markup characters, no
    leading dots, at most 120 characters, ending in the checked type's extension."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"[<>:\"|?*;&$`'{}\[\]]", "", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext.lower()
    if content_type and ext not in ALLOWED[content_type]:
        stem, ext = name, EXTENSION_FOR[content_type]
    stem = stem.rstrip(". ")[:100] or "attachment"
    return f"{stem}.{ext}" if ext else stem


def extension(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    ext = base.rpartition(".")[2].lower() if "." in base else ""
    # "kl. 10.30" in a screenshot's name is no extension
    return ext if re.fullmatch(r"[a-z][a-z0-9]{0,4}", ext) else ""


def check(raw_name: str | None, data: bytes, *, max_bytes: int) -> CheckedFile:
    """Accept the file or raise ``Refused``: too large, a type outside the allowlist, a name
    claiming another type than the content, or web markup hidden in it."""
    # The name goes into lazy messages, which are rendered as they are: escape it (safe_name
    # already drops markup characters; this is the second lock).
    shown = escape(safe_name(raw_name))
    if len(data) > max_bytes:
        raise Refused(_l("“%(name)s” is too large: a file may be at most %(max)s.",
                         name=shown, max=human_size(max_bytes)))
    if not data:
        raise Refused(_l("“%(name)s” is empty.", name=shown))
    content_type = sniff(data)
    if content_type is None:
        raise Refused(_l("“%(name)s” is not a file type we accept. Accepted: %(allowed)s.",
                         name=shown, allowed=ALLOWED_DESCRIPTION))
    claimed = extension(raw_name or "")
    claimed_type = next((t for t, exts in ALLOWED.items() if claimed in exts), None)
    if content_type == "text/plain" and (LEADING_MARKUP.match(data[:1024]) or claimed == "svg"):
        raise Refused(_l("“%(name)s” is a web page or SVG drawing; those are not accepted. "
                         "Send a screenshot or a text log instead.", name=shown))
    if claimed_type is not None and claimed_type != content_type:
        raise Refused(_l("“%(name)s” is not what its name says: its content is not a %(kind)s "
                         "file.", name=shown, kind=escape(claimed.upper())))
    if claimed and claimed_type is None:
        raise Refused(_l("“%(name)s” is not a file type we accept. Accepted: %(allowed)s.",
                         name=shown, allowed=ALLOWED_DESCRIPTION))
    if content_type in IMAGE_TYPES and MARKUP.search(data):
        raise Refused(_l("“%(name)s” has web page code hidden in it and was refused.", name=shown))
    return CheckedFile(name=safe_name(raw_name, content_type), content_type=content_type,
                       data=data, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def human_size(size: int) -> str:
    from flask_babel import format_decimal
    if size >= 1024 * 1024:
        return f"{format_decimal(round(size / (1024 * 1024), 1))} MB"
    if size >= 1024:
        return f"{format_decimal(round(size / 1024))} kB"
    return f"{format_decimal(size)} B"

"""Validation of file and directory names, and MIME type/class guessing."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

from cozy.files.errors import BadRequest

MAX_NAME_BYTES = 255
# A path in a query string: with a name (page[cursor]) beside it, it fits gunicorn's 8190-byte
# request line however it is percent-encoded (12 bytes for a 4-byte character). Longer: 400.
MAX_PATH_IN_URL = 350


def check_name(name: str | None) -> str:
    """The name to store (NFC, so that one name has one spelling), or a 400 saying what is wrong."""
    if name is None or name == "":
        raise BadRequest("the name is missing or empty")
    try:
        name = unicodedata.normalize("NFC", name)
        size = len(name.encode("utf-8"))
    except UnicodeError:  # a lone surrogate, from JSON's \ud800 escapes
        raise BadRequest("a name must be valid Unicode text") from None
    if name in (".", ".."):
        raise BadRequest("'.' and '..' are not valid names")
    if "/" in name or "\x00" in name:
        raise BadRequest("a name cannot contain '/' or NUL")
    if any(unicodedata.category(c) == "Cc" for c in name):  # C0, DEL and C1
        raise BadRequest("a name cannot contain control characters")
    if size > MAX_NAME_BYTES:
        raise BadRequest(f"a name is at most {MAX_NAME_BYTES} bytes long")
    if name != name.strip():
        raise BadRequest("a name cannot start or end with white space")
    return name


def with_suffix(name: str, suffix: str) -> str:
    """``stem<suffix>.ext`` within MAX_NAME_BYTES: the stem is cut (never a character or the
    extension), so ``photo.jpg`` gives ``photo (copy).jpg`` or ``phot… (2).jpg``. An extension
    too long to keep whole counts as part of the stem."""
    stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    tail = f"{suffix}{dot}{ext}"
    if len(tail.encode()) > MAX_NAME_BYTES // 2:
        stem, tail = name, suffix
    room = MAX_NAME_BYTES - len(tail.encode())
    return stem.encode()[: max(0, room)].decode(errors="ignore").rstrip() + tail


def _name_pattern() -> str:
    """check_name's rules as a JSON Schema pattern, for the OpenAPI document (bytes aside: see NAME_SCHEMA).

    No '/', no control character; no white space at either end; not '.' or '..'.
    White space is spelled out (Python's str.isspace set) so that every regex dialect reads it alike.
    """
    banned = r"/\x00-\x1f\x7f-\x9f"
    space = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0xA0, 0x3001)) if c.isspace()) + r"\x20"
    mid, edge, edge_no_dot = f"[^{banned}]", f"[^{banned}{space}]", f"[^{banned}{space}.]"
    return f"^(?:{edge_no_dot}|{edge_no_dot}{edge}|\\.{edge_no_dot}|{edge}{mid}{{1,253}}{edge})$"


NAME_SCHEMA = {
    "type": "string",
    "pattern": _name_pattern(),
    "maxLength": MAX_NAME_BYTES,
    "description": f"a file or directory name: at most {MAX_NAME_BYTES} bytes of UTF-8 (NFC)",
}


_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def guess_mime(name: str, declared: str | None) -> str:
    """The declared type when it is a plain ``type/subtype``, else a guess from the name."""
    declared = (declared or "").split(";")[0].strip().lower()
    if declared != "application/octet-stream" and _MIME.fullmatch(declared):
        return declared
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


_CLASSES = {
    "image": "image",
    "audio": "audio",
    "video": "video",
    "text": "text",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/x-tar": "zip",
    "application/gzip": "zip",
    "application/json": "code",
    "application/javascript": "code",
    "application/vnd.oasis.opendocument.text": "text",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "text",
    "application/msword": "text",
    "application/vnd.oasis.opendocument.spreadsheet": "spreadsheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "spreadsheet",
    "application/vnd.ms-excel": "spreadsheet",
    "application/vnd.oasis.opendocument.presentation": "slide",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "slide",
}


def mime_class(mime: str) -> str:
    """The cozy-stack style class of a MIME type (image, text, pdf, files...)."""
    return _CLASSES.get(mime) or _CLASSES.get(mime.split("/")[0]) or "files"

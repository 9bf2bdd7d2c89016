"""MD5s as the API shows them: cozy-stack's base64 of the digest (the index keeps hex)."""

from __future__ import annotations

import base64


def b64_md5(hex_md5: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_md5)).decode() if hex_md5 else ""

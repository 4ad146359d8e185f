"""Standard Webhooks 1.0 signatures (https://www.standardwebhooks.com), written out here.

`v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), the key being the bytes after
`whsec_` in the secret. The specification's authors publish a package (`standardwebhooks` on
PyPI), but it brings a generated HTTP client and its dependencies along for these few lines,
and the bot only signs: the verification the receiving side runs is in the README.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

PREFIX = "whsec_"
MIN_KEY_BYTES = 24


def secret_key(secret: str) -> bytes:
    """The key of a `whsec_<base64>` secret; ValueError saying what is wrong."""
    if not secret.startswith(PREFIX):
        raise ValueError("must be whsec_ followed by base64 (Standard Webhooks)")
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("the part after whsec_ is not base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the key must be at least {MIN_KEY_BYTES} random bytes")
    return key


def signature(key: bytes, event_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header's value for one try."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(key: bytes, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of a Standard Webhooks request, and the body's type."""
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, event_id, timestamp, body),
    }

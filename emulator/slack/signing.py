"""Slack's v0 request signatures, as Slack puts them on every request it sends to an app."""

from __future__ import annotations

import hashlib
import hmac
import time

VERSION = "v0"


def signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """`v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing secret."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(signing_secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-Request-Timestamp and X-Slack-Signature headers for `body` (sent now, by default)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(signing_secret, stamp, body),
    }


def verify(signing_secret: str, timestamp: str, body: bytes, given: str, *, max_age: int = 300) -> bool:
    """Whether `given` is the signature of `body` and the timestamp is no older than `max_age` seconds."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > max_age:
        return False
    return hmac.compare_digest(signature(signing_secret, timestamp, body), given)

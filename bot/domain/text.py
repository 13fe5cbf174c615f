"""Text rules shared by the catalogue and search: folding, slugs, tokens."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Letters that do not decompose under NFKD but that people type without their mark.
_EXTRA_FOLDS = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th", "ı": "i", "ð": "d"}
)
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case, strip accents and invisible characters: 'Körbächer' -> 'korbacher'."""
    if text.isascii():  # nothing to decompose, strip or fold: a third of a 10,000-video match's time went here
        return text.lower()
    text = _INVISIBLE.sub("", text)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(_EXTRA_FOLDS)


def slugify(text: str, *, max_length: int = 80) -> str:
    """A stable, URL-safe identifier: 'Tap Tap, Debugging…' -> 'tap-tap-debugging'."""
    slug = _NON_SLUG.sub("-", fold(text)).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug


TALK_ID_MAX = 90  # a talk's id rides in button ids ("more:" + id) and autocomplete values, capped at 100


def fit_id(slug: str, limit: int = TALK_ID_MAX) -> str:
    """`slug` if it is short enough; else its start and a digest of the whole, so it stays stable and distinct."""
    if len(slug) <= limit:
        return slug
    digest = hashlib.sha256(slug.encode("utf-8")).hexdigest()[:8]
    return f"{slug[: limit - len(digest) - 1].rstrip('-')}-{digest}"


def words(text: str) -> list[str]:
    """The folded words of a text, in order (letters and digits; punctuation splits)."""
    return _WORD.findall(fold(text))


def name_key(name: str) -> str:
    """The lookup form of a person's name: folded words joined by single spaces."""
    return " ".join(words(name))


# Characters that must never reach a message others read: control characters (NUL, escape...) other than
# line breaks and tabs, and the bidirectional overrides, embeddings and isolates that make text read backwards
# (U+202E). Right-to-left text itself needs none of them; emoji sequences keep their joiners.
_UNSHOWABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u206a-\u206f\ufeff\ufff9-\ufffb]")


def inert(text: str) -> str:
    """Text with control characters and bidirectional overrides removed, for display to others."""
    return _UNSHOWABLE.sub("", text)


def clean_line(text: str) -> str:
    """One line of display text: invisible characters dropped, runs of whitespace collapsed."""
    return " ".join(_INVISIBLE.sub("", text).split())

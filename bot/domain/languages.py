"""Languages talks are given in: ISO 639-1 codes, read from what programmes and members write.

Programmes say "en", "EN", "de-DE", "German" or "Deutsch"; members type `language:de` or `language:german`.
All become the two-letter code; a value naming several languages ("de, en") or none known is not a language.
"""

from __future__ import annotations

import re

from bot.domain.text import fold

# code: English name, then the language's own name and other common spellings (folded when looked up).
LANGUAGES: dict[str, tuple[str, ...]] = {
    "ar": ("Arabic", "العربية"),
    "bg": ("Bulgarian", "български"),
    "ca": ("Catalan", "català"),
    "cs": ("Czech", "čeština", "cesky"),
    "da": ("Danish", "dansk"),
    "de": ("German", "Deutsch"),
    "el": ("Greek", "ελληνικά"),
    "en": ("English",),
    "eo": ("Esperanto",),
    "es": ("Spanish", "español", "castellano"),
    "et": ("Estonian", "eesti"),
    "eu": ("Basque", "euskara"),
    "fa": ("Persian", "فارسی", "farsi"),
    "fi": ("Finnish", "suomi"),
    "fr": ("French", "français"),
    "ga": ("Irish", "Gaeilge"),
    "he": ("Hebrew", "עברית"),
    "hi": ("Hindi", "हिन्दी"),
    "hr": ("Croatian", "hrvatski"),
    "hu": ("Hungarian", "magyar"),
    "id": ("Indonesian", "Bahasa Indonesia"),
    "it": ("Italian", "italiano"),
    "ja": ("Japanese", "日本語"),
    "ko": ("Korean", "한국어"),
    "lt": ("Lithuanian", "lietuvių"),
    "lv": ("Latvian", "latviešu"),
    "nl": ("Dutch", "Nederlands"),
    "no": ("Norwegian", "norsk", "bokmål", "nb"),
    "pl": ("Polish", "polski"),
    "pt": ("Portuguese", "português"),
    "ro": ("Romanian", "română"),
    "ru": ("Russian", "русский"),
    "sk": ("Slovak", "slovenčina"),
    "sl": ("Slovenian", "slovenščina"),
    "sr": ("Serbian", "српски"),
    "sv": ("Swedish", "svenska"),
    "th": ("Thai", "ไทย"),
    "tr": ("Turkish", "Türkçe"),
    "uk": ("Ukrainian", "українська"),
    "vi": ("Vietnamese", "Tiếng Việt"),
    "zh": ("Chinese", "中文", "Mandarin"),
}
_BY_NAME = {fold(name): code for code, names in LANGUAGES.items() for name in (code, *names)}
_TAG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{2,8})*$")  # a BCP 47 tag: en, de-DE, pt_BR, zh-Hans-CN
_THREE = {"eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it", "nld": "nl",
          "dut": "nl", "por": "pt", "rus": "ru", "pol": "pl", "jpn": "ja", "zho": "zh", "chi": "zh"}  # fmt: skip


def language_code(value: str | None) -> str | None:
    """The ISO 639-1 code `value` names ("de", "de-DE", "German", "Deutsch" -> "de"), else None."""
    if not value:
        return None
    text = fold(value.strip())
    if not text or len(text) > 40:
        return None
    if text in _BY_NAME:
        return _BY_NAME[text]
    tag = _TAG.match(text)
    if tag:
        primary = tag.group(1)
        if primary in LANGUAGES:
            return primary
        return _THREE.get(primary)
    return None


def language_name(code: str) -> str:
    """The English name of a language code ("de" -> "German"); the code itself when unknown."""
    names = LANGUAGES.get(code)
    return names[0] if names else code

"""Folding text: the quick way for plain ASCII gives what the full way gives."""

from __future__ import annotations

import string
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.text import fold, slugify


def folded_the_long_way(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_folds_as_the_full_rules_fold_it(text: str) -> None:
    assert fold(text) == folded_the_long_way(text)


def test_accents_invisible_characters_and_special_letters_are_folded() -> None:
    assert fold("Körbächer") == "korbacher"
    assert fold("Stra\u00dfe \u00c6sir") == "strasse aesir"
    assert fold("in\u200bvisible\u00ad") == "invisible"
    assert fold("ＦＵＬＬ") == "full"  # full-width letters, as NFKD reads them
    assert fold(string.ascii_uppercase) == string.ascii_lowercase
    assert slugify("Tap Tap, Debugging…") == "tap-tap-debugging"

"""A vocabulary file of one's own (BOT_VOCABULARY) replaces the bundled one; a broken one is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.search.analysis import VOCABULARY_ENV, Vocabulary, default_vocabulary


@pytest.fixture
def fresh_default():
    default_vocabulary.cache_clear()
    yield
    default_vocabulary.cache_clear()


def test_own_vocabulary_file_is_used_instead_of_the_bundled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_default: None
) -> None:
    bundled = default_vocabulary()
    assert ("mtls",) in bundled.phrases
    own = tmp_path / "vocabulary.toml"
    own.write_text('stopwords = ["the"]\n[[synonyms]]\nterms = ["kube", "kubernetes", "k8s"]\n', encoding="utf-8")
    monkeypatch.setenv(VOCABULARY_ENV, str(own))
    default_vocabulary.cache_clear()
    mine = default_vocabulary()
    assert mine.phrases[("k8s",)] == ("kube",) and ("mtls",) not in mine.phrases
    assert mine.stopwords == frozenset({"the"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[synonyms]\n", "is not valid TOML"),
        ('[[synonyms]]\nwords = ["a"]\n', "does not have the bundled file's shape"),
        (None, "Cannot read the vocabulary file"),
    ],
)
def test_a_broken_vocabulary_file_is_a_one_line_error(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "vocabulary.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        Vocabulary.load(path)

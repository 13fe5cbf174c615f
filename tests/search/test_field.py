"""Search that knows the field: broader topics, who gave a talk, languages, and hostile input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, SpeakerRecord, TalkRecord
from bot.catalogue.native import BUNDLED_CATALOGUE, dump_native, load_native
from bot.catalogue.service import CatalogueService, Result
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db
from bot.db.gateway import Database
from bot.domain.text import inert
from bot.errors import CatalogueFormatError, TalkNotFound, UserFacingError
from bot.platforms.discord import embeds
from bot.search.analysis import Analyzer, TopicGroup, Vocabulary
from bot.search.topics import TopicTree

RAPID = "rapid-experimentation-simplified-with-linkerd"  # filed under Linkerd, not under "Service mesh"


# -- broader and narrower topics -------------------------------------------------------------------------


async def test_a_topic_filter_takes_in_narrower_topics_and_says_how(catalogue: CatalogueService) -> None:
    tree = catalogue.engine.tree
    assert {"linkerd", "istio", "traffic-split"} <= set(tree.family("service-mesh"))
    page = await catalogue.search("", topic="service mesh", limit=20)
    found = {r.talk.slug: r for r in page.results}
    rapid = found[RAPID]
    assert "service-mesh" not in {t.slug for t in rapid.talk.topics}  # there only through Linkerd
    assert "topic: Linkerd, a service mesh" in rapid.reasons
    # Every talk under the broad topic or any narrower one is there, and no other.
    family = set(tree.family("service-mesh"))
    everything = await catalogue.search("", limit=50, topic="service mesh")
    assert all(family & {t.slug for t in r.talk.topics} for r in everything.results)
    bundled = load_native(BUNDLED_CATALOGUE).talks
    expected = {t.slug for t in bundled if family & set(t.topics)}
    assert {r.talk.slug for r in everything.results} == expected
    assert len(expected) > sum("service-mesh" in t.topics for t in bundled)


async def test_recommend_on_a_broad_topic_lists_talks_of_its_narrower_topics(catalogue: CatalogueService) -> None:
    page = await catalogue.recommend("Service mesh")
    reasons = {r.talk.slug: r.reasons for r in page.results}
    assert RAPID in reasons and reasons[RAPID][0] == "topic: Linkerd, a service mesh"


async def test_a_search_for_the_broad_topic_finds_text_about_narrower_ones(catalogue: CatalogueService) -> None:
    assert RAPID in [r.talk.slug for r in (await catalogue.search("service mesh", limit=20)).results]
    analyzer = catalogue.engine.analyzer
    assert set(analyzer.terms("Service mesh")) <= set(analyzer.terms("Linkerd"))
    assert not set(analyzer.terms("Linkerd")) <= set(analyzer.terms("Service mesh"))  # not the other way round


def test_the_tree_passes_through_levels_the_catalogue_lacks_and_leaves_unknown_topics_flat() -> None:
    vocabulary = Vocabulary(
        {},
        frozenset(),
        (
            TopicGroup("Networking", ("Service mesh",), "a networking topic"),
            TopicGroup("Service mesh", ("Linkerd",), "a service mesh"),
            TopicGroup("Loop", ("Knot",)),
            TopicGroup("Knot", ("Loop",)),  # a cycle in someone's own vocabulary must not hang
        ),
    )
    tree = TopicTree.build(
        Analyzer(vocabulary),
        [("net", "Networking"), ("linkerd", "linkerd"), ("pottery", "Pottery"), ("loop", "Loop"), ("knot", "Knot")],
    )
    assert tree.parents["linkerd"] == ("net",)  # no "Service mesh" topic: Linkerd is still under Networking
    assert tree.family("net") == ["net", "linkerd"]
    assert "pottery" not in tree.parents and tree.family("pottery") == ["pottery"]
    assert set(tree.family("loop")) == {"loop", "knot"}
    assert tree.describe("linkerd", "net", {"linkerd": "Linkerd"}) == "Linkerd, a networking topic"
    assert tree.describe("knot", "loop", {"knot": "Knot", "loop": "Loop"}) == "Knot, under Loop"


async def test_topics_as_a_tree_put_narrower_topics_under_broader_ones(catalogue: CatalogueService) -> None:
    tree = await catalogue.topic_tree()
    names = [(t.name, t.depth) for t in tree]
    mesh = names.index(("Service mesh", 0))
    assert ("Linkerd", 1) in names[mesh + 1 : mesh + 4]
    flat = await catalogue.topics()
    assert {t.slug for t in tree} == {t.slug for t in flat}
    assert all(t.depth == 0 for t in flat)


# -- who gave the talk -----------------------------------------------------------------------------------


def _talk(
    slug: str, title: str, summary: str = "", speakers: tuple[SpeakerRecord, ...] = (), **kw: object
) -> TalkRecord:
    return TalkRecord(slug=slug, title=title, event="conf", summary=summary, speakers=speakers, **kw)  # type: ignore[arg-type]


@asynccontextmanager
async def opened(
    path: Path, talks: list[TalkRecord], topics: dict[str, str] | None = None
) -> AsyncIterator[CatalogueService]:
    """The catalogue service over a fresh database holding these talks of one event."""
    document = CatalogueDocument("test", [EventRecord("conf", "Conf 2026")], talks, topics=topics or {})
    with sync_db(path) as conn:
        apply_document(conn, document)
    db = await Database.open(path)
    try:
        yield await CatalogueService.open(db)
    finally:
        await db.close()


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[CatalogueService]:
    """A catalogue where names and languages are arranged to tell rankings apart."""
    talks = [
        _talk("mentions", "Buoyant Buoyant everywhere", "We compare Buoyant, Buoyant and Buoyant tooling.",
              (SpeakerRecord("Ada Lovelace", "Analytical Engines"),)),
        _talk("given", "Operating a control plane", "Upgrades without downtime.",
              (SpeakerRecord("Grace Hopper", "Buoyant Inc"),)),
        _talk("kernel-de", "Der Kernel und ich", "Ein Vortrag über den Kernel.",
              (SpeakerRecord("Linus Example", None),), language="de"),
        _talk("kernel-en", "The kernel and me", "A talk about the kernel.", (SpeakerRecord("Linus Example", None),),
              language="en"),
        _talk("kernel-en-2", "Kernel tracing", "Tracing the kernel.", (SpeakerRecord("Ann Other", None),), language="en"),
    ]  # fmt: skip
    async with opened(tmp_path / "small.sqlite3", talks) as service:
        yield service


@pytest.mark.parametrize("query", ["Buoyant", "buoyant", "Buoyant Inc", "Grace Hopper"])
async def test_the_talks_someone_gave_rank_above_talks_that_only_mention_them(
    small: CatalogueService, query: str
) -> None:
    found = [r.talk.slug for r in (await small.search(query)).results]
    assert found[0] == "given"


async def test_without_the_name_the_mentioning_talk_still_ranks_by_its_text(small: CatalogueService) -> None:
    # "Buoyant everywhere" names no organisation or person: plain text ranking, so the title wins.
    assert next(r.talk.slug for r in (await small.search("buoyant everywhere")).results) == "mentions"


# -- languages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "German", "deutsch", "de-DE"])
async def test_a_language_filter_keeps_only_talks_in_that_language(small: CatalogueService, language: str) -> None:
    page = await small.search("kernel", language=language)
    assert [r.talk.slug for r in page.results] == ["kernel-de"]
    assert "in German" in page.filtered
    assert [r.talk.slug for r in (await small.recommend("kernel", language=language)).results] == ["kernel-de"]


async def test_unknown_or_absent_languages_are_friendly_errors(small: CatalogueService) -> None:
    with pytest.raises(UserFacingError, match="not a language I know"):
        await small.search("kernel", language="klingonese")
    with pytest.raises(UserFacingError, match=r"No talk .* in French\. Languages: English \(en\), German \(de\)"):
        await small.search("kernel", language="fr")
    assert [s.label for s in small.suggest_languages("g")] == ["German (de)"]
    assert [s.key for s in small.suggest_languages("")] == ["en", "de"]


async def test_the_card_names_the_language_only_when_it_is_not_the_usual_one(small: CatalogueService) -> None:
    assert small.usual_language() == "en"
    german = await small.talk("kernel-de")
    english = await small.talk("kernel-en")
    fields = {f.name: f.value for f in embeds.talk_embed(german, usual_language="en").fields}
    assert fields["Language"] == "German"
    assert "Language" not in {f.name for f in embeds.talk_embed(english, usual_language="en").fields}
    listed = embeds.results_embed(
        "t", [Result(german, 1.0, ()), Result(english, 1.0, ())], page=1, pages=1, total=2, first_rank=1,
        usual_language="en",
    )  # fmt: skip
    assert (listed.description or "").count("in German") == 1 and "in English" not in (listed.description or "")


def test_the_bundled_format_keeps_a_talks_language_and_refuses_a_wrong_one(tmp_path: Path) -> None:
    document = CatalogueDocument("t", [EventRecord("conf", "Conf")], [_talk("a", "A", language="de")])
    path = tmp_path / "c.toml"
    path.write_text(dump_native(document), encoding="utf-8")
    assert load_native(path).talks[0].language == "de"
    path.write_text(dump_native(document).replace('language = "de"', 'language = "Deutsch"'), encoding="utf-8")
    assert load_native(path).talks[0].language == "de"
    path.write_text(dump_native(document).replace('language = "de"', 'language = "elvish"'), encoding="utf-8")
    with pytest.raises(CatalogueFormatError, match="field 'language' must be a language code"):
        load_native(path)


# -- hostile input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["\x01", "\u200b", "-", "**", "\x00\x00", "\u202e", "...", "\u200d"])
async def test_text_without_a_letter_or_digit_never_picks_a_talk(catalogue: CatalogueService, text: str) -> None:
    with pytest.raises(TalkNotFound, match="No talk matches"):
        await catalogue.talk(text)
    with pytest.raises(TalkNotFound, match="No talk matches"):
        await catalogue.similar(text)


def test_text_shown_to_others_loses_controls_and_direction_overrides_but_keeps_scripts_and_emoji() -> None:
    assert inert("abc\x00def\u202egnp\u2066x\u2069") == "abcdefgnpx"
    assert inert("שלום عربي 👩\u200d💻\n\tok") == "שלום عربي 👩\u200d💻\n\tok"
    assert "\u202e" not in embeds.safe("Talks for “\u202edrawkcab\x00”", 200)
    assert "\x00" not in embeds.error_embed("No talk matches “\x00\u202eevil”").description  # type: ignore[operator]


# -- what the review found ------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["identity", "passkeys", "envoy", "dns"])
async def test_a_narrower_topic_no_talk_mentions_stays_unknown(catalogue: CatalogueService, word: str) -> None:
    # The vocabulary files these under Security or Service mesh; the bundled talks never use the words.
    page = await catalogue.search(word)
    assert page.results == () and page.unknown == (word,)
    with pytest.raises(TalkNotFound):
        await catalogue.talk(word)


def test_broader_terms_are_indexed_for_talks_but_never_added_to_queries(catalogue: CatalogueService) -> None:
    analyzer = catalogue.engine.analyzer
    assert analyzer.terms("passkeys") == ["passkey"]  # a query for passkeys is not a query for security
    assert analyzer.terms("PostgreSQL") == ["postgresql"]  # nor one for PostgreSQL a query for databases
    alone, _ = analyzer.word_table("passkeys")  # how talk text is indexed
    assert "secur" in alone


@pytest.fixture
async def common_words(tmp_path: Path) -> AsyncIterator[CatalogueService]:
    talks = [
        _talk("gardening", "Gardening at scale", speakers=(SpeakerRecord("Rosa Beet", "Security Systems Inc"),)),
        _talk("bake", "Bread for robots", speakers=(SpeakerRecord("Otto Oven", "Open Systems AG"),)),
        _talk("grafana", "Dashboards", speakers=(SpeakerRecord("Gus Graph", "Grafana Labs"),)),
        *(_talk(f"sec{n}", f"Open security things {n}", f"Security and open source, part {n}.") for n in range(6)),
    ]
    async with opened(tmp_path / "common.sqlite3", talks) as service:
        yield service


async def test_an_organisation_shortened_to_a_common_word_does_not_take_over_that_word(
    common_words: CatalogueService,
) -> None:
    for query, impostor in (("security", "gardening"), ("open", "bake")):
        found = [r.talk.slug for r in (await common_words.search(query, limit=10)).results]
        assert found and found[0] != impostor, (query, found)
    # A shortened name that only the organisation uses still names it; the full names always do.
    assert next(r.talk.slug for r in (await common_words.search("grafana")).results) == "grafana"
    assert next(r.talk.slug for r in (await common_words.search("Security Systems Inc")).results) == "gardening"


def test_topics_that_mean_the_same_share_their_narrower_topics() -> None:
    vocabulary = Vocabulary({}, frozenset(), (TopicGroup("Networking", ("Linkerd",), "a networking topic"),))
    tree = TopicTree.build(Analyzer(vocabulary), [("net", "Network"), ("net2", "Networking"), ("l5d", "Linkerd")])
    assert tree.parents["l5d"] == ("net",)  # listed once in the tree, under the first of the two
    assert set(tree.family("net2")) == {"net2", "net", "l5d"} and set(tree.family("net")) == {"net", "net2", "l5d"}


async def test_a_cycle_in_ones_own_vocabulary_loses_no_topic_from_the_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.search.analysis import VOCABULARY_ENV, default_vocabulary

    own = tmp_path / "vocabulary.toml"
    own.write_text(
        '[[topics]]\nname = "Platform engineering"\nnarrower = ["Developer portals"]\n'
        '[[topics]]\nname = "Developer portals"\nnarrower = ["Platform engineering"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(VOCABULARY_ENV, str(own))
    default_vocabulary.cache_clear()
    try:
        talks = [_talk("a", "A", topics=("platform-engineering",)), _talk("b", "B", topics=("developer-portals",)),
                 _talk("c", "C", topics=("rust",))]  # fmt: skip
        topics = {
            "platform-engineering": "Platform engineering",
            "developer-portals": "Developer portals",
            "rust": "Rust",
        }
        async with opened(tmp_path / "cycle.sqlite3", talks, topics) as service:
            tree = await service.topic_tree()
        assert {t.slug for t in tree} == {"platform-engineering", "developer-portals", "rust"}
    finally:
        default_vocabulary.cache_clear()

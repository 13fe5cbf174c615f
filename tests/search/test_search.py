"""Search, more-like-this, speaker lookup and autocomplete over the bundled catalogue."""

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalogue.service import CatalogueService
from bot.db.connection import connect_sync
from bot.errors import SpeakerNotFound, TalkNotFound, UserFacingError
from bot.search.completion import MAX_CHOICES, MAX_LABEL

FINLEAP = "compliance-the-easy-way-zero-conf-mtls"
MULTI = "seamless-multi-cluster-communication-and-observability-with-linkerd"
CHAOS = "creating-chaos-in-the-university-with-linkerd-and-chaos-mesh"


async def slugs(service: CatalogueService, query: str, **kwargs: object) -> list[str]:
    page = await service.search(query, **kwargs)  # type: ignore[arg-type]
    return [r.talk.slug for r in page.results]


async def test_mtls_finds_the_finleap_talk_first(catalogue: CatalogueService) -> None:
    assert (await slugs(catalogue, "mtls"))[0] == FINLEAP


@pytest.mark.parametrize(
    ("one", "other"),
    [("mtls", "mutual TLS"), ("multicluster", "multi-cluster"), ("o11y", "observability"),
     ("chaos", "chaos engineering"), ("k8s", "kubernetes"), ("service mesh", "mesh")],
)  # fmt: skip
async def test_synonyms_find_the_same_talks_in_either_spelling(
    catalogue: CatalogueService, one: str, other: str
) -> None:
    assert await slugs(catalogue, one) == await slugs(catalogue, other)


async def test_the_vocabulary_bridges_spellings_between_query_and_talk(catalogue: CatalogueService) -> None:
    # No talk says "multi cluster" as two words or "mutual TLS" in its title; the synonyms meet.
    assert (await slugs(catalogue, "multi cluster"))[0] == MULTI
    assert FINLEAP in await slugs(catalogue, "mutual transport layer security")
    assert (await slugs(catalogue, "fault injection"))[0] == CHAOS


@pytest.mark.parametrize("query", ["Körbächer", "korbacher", "KORBACHER", "Korbächer"])
async def test_accents_and_case_do_not_matter(catalogue: CatalogueService, query: str) -> None:
    assert (await slugs(catalogue, query))[0] == MULTI


async def test_typos_are_corrected_and_reported(catalogue: CatalogueService) -> None:
    page = await catalogue.search("obsevability")
    assert page.corrected == {"obsevability": "observability"}
    assert page.results and all(any("Observability" in r for r in res.reasons) for res in page.results[:3])
    morgan = await catalogue.search("Willam Morgn")
    assert {c.name for c in morgan.results[0].talk.credits} >= {"William Morgan"}


async def test_plurals_match_singulars(catalogue: CatalogueService) -> None:
    assert await slugs(catalogue, "panels") == await slugs(catalogue, "panel")


async def test_each_result_says_why_it_was_picked(catalogue: CatalogueService) -> None:
    page = await catalogue.search("mtls")
    assert "topic: mTLS" in page.results[0].reasons
    page = await catalogue.search("oliver gould")
    assert any(reason.startswith("speaker: Oliver Gould") for reason in page.results[0].reasons)


async def test_nothing_found_says_so_and_suggests_near_topics(catalogue: CatalogueService) -> None:
    page = await catalogue.search("quantum blockchain")
    assert page.results == ()
    page = await catalogue.search("obsevability metrcs")
    assert page.results  # corrected
    page = await catalogue.search("zzqx")
    assert page.results == () and page.unknown == ("zzqx",)


async def test_an_empty_query_is_a_friendly_error(catalogue: CatalogueService) -> None:
    with pytest.raises(UserFacingError, match="Type a few words"):
        await catalogue.search("   ")


async def test_filters_by_topic_and_event_include_co_located_events(catalogue: CatalogueService) -> None:
    rust = await slugs(catalogue, "", topic="Rust", limit=20)
    assert len(rust) == 2
    everything = await slugs(catalogue, "", event="kubecon-eu-2021", limit=20)
    assert len(everything) == 11  # ServiceMeshCon and Rust Day sit under KubeCon
    smc = await slugs(catalogue, "linkerd", event="ServiceMeshCon EU 2021", limit=20)
    assert smc and FINLEAP not in smc


async def test_a_page_is_not_filled_by_one_speaker_when_others_match_nearly_as_well(
    catalogue: CatalogueService,
) -> None:
    page = await catalogue.search("linkerd community service mesh", limit=5)
    firsts = [r.talk.speakers[0].name for r in page.results]
    assert max(firsts.count(name) for name in firsts) <= 2


async def test_results_are_deterministic(catalogue: CatalogueService) -> None:
    assert [await slugs(catalogue, "linkerd") for _ in range(3)] == [await slugs(catalogue, "linkerd")] * 3


async def test_more_like_this_never_returns_the_talk_itself(catalogue: CatalogueService) -> None:
    talk, results = await catalogue.similar("why-the-future-of-the-cloud-will-be-built-on-rust")
    assert results[0].talk.slug == "panel-discussion-rust-in-the-cloud"
    assert talk.slug not in [r.talk.slug for r in results]
    assert any("Rust" in reason for reason in results[0].reasons)


async def test_a_talk_is_found_by_id_or_by_typed_title(catalogue: CatalogueService) -> None:
    assert (await catalogue.talk("tap tap")).title == "Tap Tap, Debugging an App with your Service Mesh"
    assert (await catalogue.talk(FINLEAP)).slug == FINLEAP
    with pytest.raises(TalkNotFound):
        await catalogue.talk("qqqq zzzz")


async def test_two_morgans_are_both_offered_best_first(catalogue: CatalogueService) -> None:
    profiles = await catalogue.speakers("morgan")
    assert [p.name for p in profiles] == ["William Morgan", "Jason Morgan"]
    william = profiles[0]
    assert len(william.talks) == 4 and william.organizations == ("Buoyant",)


@pytest.mark.parametrize(("typed", "name"), [("Willam Morgn", "William Morgan"), ("mendez", "Sergio Arnaldo Méndez Aguilar"),
                                             ("Huning", "Christian Hüning"), ("lerch", "Carl Lerche"), ("ASHLEY", "Ashley Williams")])  # fmt: skip
async def test_speaker_lookup_forgives_case_accents_parts_and_typos(
    catalogue: CatalogueService, typed: str, name: str
) -> None:
    assert (await catalogue.speakers(typed))[0].name == name


async def test_unknown_speaker_suggests_near_names(catalogue: CatalogueService) -> None:
    with pytest.raises(SpeakerNotFound):
        await catalogue.speakers("Zyx Qwv")


async def test_autocomplete_matches_prefixes_and_inner_words_within_limits(
    catalogue: CatalogueService,
) -> None:
    assert catalogue.suggest_titles("tap t")[0].key == "tap-tap-debugging-an-app-with-your-service-mesh"
    assert catalogue.suggest_titles("debugging")[0].key == "tap-tap-debugging-an-app-with-your-service-mesh"
    assert [s.label for s in catalogue.suggest_speakers("morg")] == ["William Morgan", "Jason Morgan"]
    assert catalogue.suggest_topics("obs")[0].label == "Observability"
    assert catalogue.suggest_events("rust")[0].key == "cloud-native-rust-day-2021"
    everything = catalogue.suggest_topics("")
    assert len(everything) == MAX_CHOICES
    assert all(len(s.label) <= MAX_LABEL and len(s.key) <= MAX_LABEL for s in everything)


HOSTILE = [
    '"', "'", "*", "^", ":", "NEAR", "NEAR(a b, 3)", "a AND b OR NOT c", "(((", ")", "title:mtls",
    "'; DROP TABLE talks; --", "\" OR 1=1 --", "x" * 6000, "🚀 service mesh 🚀", "\u200b\u200bmtls\u200b",
    "\u202emtls\u202c", "שלום עולם", "مرحبا", "@everyone", "<@123456789012345678>", "", "   ", "\x00", "%", "_",
]  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_strings_never_raise_anything_but_a_friendly_error(
    catalogue: CatalogueService, text: str
) -> None:
    try:
        await catalogue.search(text)
    except UserFacingError:
        pass
    for suggest in (
        catalogue.suggest_titles,
        catalogue.suggest_speakers,
        catalogue.suggest_topics,
        catalogue.suggest_events,
    ):
        assert len(suggest(text)) <= MAX_CHOICES
    try:
        await catalogue.speakers(text)
    except UserFacingError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(alphabet=st.characters(), max_size=300)
    | st.text(alphabet=string.punctuation + " ANDORNEAR*", max_size=40)
)
async def test_any_string_is_safe_to_search_and_complete(catalogue: CatalogueService, text: str) -> None:
    try:
        page = await catalogue.search(text)
        assert len(page.results) <= 5
    except UserFacingError as exc:
        assert exc.message
    for suggest in (
        catalogue.suggest_titles, catalogue.suggest_speakers, catalogue.suggest_topics, catalogue.suggest_events
    ):
        suggestions = suggest(text)
        assert len(suggestions) <= MAX_CHOICES
        assert all(len(s.label) <= MAX_LABEL and len(s.key) <= MAX_LABEL for s in suggestions)
    catalogue.engine.lookup_people(text)
    for use in (catalogue.recommend, catalogue.talk, catalogue.similar, catalogue.speakers):
        try:
            await use(text)
        except UserFacingError as exc:
            assert exc.message


async def test_broader_terms_implied_by_the_vocabulary_reach_talks_filed_under_them(
    catalogue: CatalogueService,
) -> None:
    # "A/B testing" implies experimentation; the talk says "experiments" and is filed under Experimentation.
    assert (await slugs(catalogue, "a/b testing"))[0] == "rapid-experimentation-simplified-with-linkerd"
    # "higher education" implies education, the topic of the Penn State and chaos-in-the-university talks.
    assert set((await slugs(catalogue, "higher education"))[:3]) >= {
        "scheduling-68k-covid-tests-with-linkerd",
        "creating-chaos-in-the-university-with-linkerd-and-chaos-mesh",
    }


async def test_words_that_match_nothing_still_get_suggestions(catalogue: CatalogueService) -> None:
    page = await catalogue.search("serverless")
    assert page.results == ()
    assert "Linkerd" in page.suggestions  # nothing is close, so the biggest topics are offered
    with pytest.raises(SpeakerNotFound) as caught:
        await catalogue.speakers("zzzzqqq")
    assert "William Morgan" in caught.value.suggestions


async def test_a_sentence_of_common_words_is_no_talk(catalogue: CatalogueService) -> None:
    with pytest.raises(TalkNotFound) as caught:
        await catalogue.talk("no such talk at all")
    assert caught.value.suggestions == ()


async def test_a_title_with_an_unknown_word_offers_but_does_not_pick(catalogue: CatalogueService) -> None:
    with pytest.raises(TalkNotFound) as caught:
        await catalogue.talk("linkerd xyzzyq")
    assert "Overview and State of Linkerd" in caught.value.suggestions


@pytest.mark.parametrize("slug", ["tap-tap-debugging-an-app-with-your-service-mesh", "overview-and-state-of-linkerd"])
async def test_more_like_this_fills_a_page_through_shared_topics_and_people(
    catalogue: CatalogueService, slug: str
) -> None:
    talk, results = await catalogue.similar(slug)
    assert len(results) == 5
    assert all(result.reasons for result in results)  # each shares a topic or a person with the talk
    topics, people = {t.slug for t in talk.topics}, {c.person for c in talk.credits}
    assert all({t.slug for t in r.talk.topics} & topics or {c.person for c in r.talk.credits} & people for r in results)


async def test_a_topic_added_by_an_import_is_recommended_by_on_the_first_ask(
    catalogue: CatalogueService, bundled_db: Path
) -> None:
    await catalogue.search("linkerd")  # the engine is built and current
    conn = connect_sync(bundled_db)  # another process's import, behind the running service's back
    conn.execute("INSERT INTO topics (slug, name) VALUES ('quokkas', 'Quokkas')")
    conn.execute(
        "INSERT INTO talk_topics (talk_id, topic_id) SELECT t.id, q.id FROM talks t, topics q"
        " WHERE t.slug = ? AND q.slug = 'quokkas'",
        (FINLEAP,),
    )
    conn.execute("UPDATE talks SET summary = summary || ' Quokkas!' WHERE slug = ?", (MULTI,))  # the word, not the topic
    conn.execute("UPDATE catalogue_state SET version = version + 1")
    conn.close()
    page = await catalogue.recommend("quokkas")
    assert [r.talk.slug for r in page.results] == [FINLEAP]


async def test_talks_listed_by_filters_alone_say_which_filter_picked_them(catalogue: CatalogueService) -> None:
    page = await catalogue.search("", topic="rust", event="cloud-native-rust-day-2021")
    assert page.results
    assert all(r.reasons == ("topic: Rust", "event: Cloud Native Rust Day 2021") for r in page.results)


async def test_a_recommendation_reads_its_later_pages_only_when_asked_and_the_same(catalogue: CatalogueService) -> None:
    eager = await catalogue.recommend("linkerd")
    lazy = await catalogue.recommend("linkerd", read=5)
    assert len(lazy.results) == 5 and len(lazy.pending) == len(eager.results) - 5
    later = await catalogue.more(lazy, lazy.pending)
    assert [*lazy.results, *later] == list(eager.results)


async def test_a_lone_surrogate_in_a_title_is_a_friendly_not_found(catalogue: CatalogueService) -> None:
    with pytest.raises(TalkNotFound):
        await catalogue.talk("\ud800")

"""Slack's Block Kit presenter: the same content as Discord's cards, within Slack's limits, and inert text."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.catalogue.service import Result
from bot.domain.models import Count, Credit, Event, PersonProfile, Talk, Topic
from bot.highlights.rules import ScheduleRule
from bot.highlights.service import ScheduleInfo
from bot.platforms.slack import blocks as kit

EVENT = Event(
    "kubecon-eu-2021", "KubeCon + CloudNativeCon Europe 2021", short_name="KubeCon EU 2021",
    start_date=date(2021, 5, 4), end_date=date(2021, 5, 7), location="Virtual",
)  # fmt: skip
OUR_LINK = re.compile(r"<https?://[!-~]+\|[^<>|]*>")
# What the schedule messages add: a channel link from the app's own ids, a date in each reader's zone.
OUR_TOKENS = re.compile(r"<https?://[!-~]+\|[^<>|]*>|<#[CG][A-Z0-9]+>|<!date\^\d+\^[^<>|]*\|[^<>|]*>")


def make_talk(**changes: Any) -> Talk:
    fields: dict[str, Any] = {
        "slug": "kubecon-eu-2021-mtls-everywhere",
        "title": "mTLS everywhere",
        "event": EVENT,
        "summary": "How we rolled out mutual TLS across 3,000 services.",
        "date": date(2021, 5, 5),
        "track": "Security",
        "recording_url": "https://youtu.be/abc123",
        "slides_url": "https://example.org/slides.pdf",
        "credits": (
            Credit("ada", "Ada Lovelace", organization="Analytical Engines"),
            Credit("grace", "Grace Hopper", role="moderator", organization="US Navy"),
        ),
        "topics": (Topic("security", "Security"), Topic("service-mesh", "Service mesh")),
        "language": "de",
    }
    fields.update(changes)
    return Talk(**fields)


# -- checking what Slack would accept ------------------------------------------------------------------------


def text_objects(node: Any) -> list[dict[str, Any]]:
    """Every text object (plain_text or mrkdwn) anywhere in a block."""
    found = []
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            found.append(node)
        for value in node.values():
            found += text_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += text_objects(value)
    return found


def elements(node: Any) -> list[dict[str, Any]]:
    """Every interactive element (buttons, selects) anywhere in a block."""
    found = []
    if isinstance(node, dict):
        if "action_id" in node:
            found.append(node)
        for value in node.values():
            found += elements(value)
    elif isinstance(node, list):
        for value in node:
            found += elements(value)
    return found


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    return [t["text"] for b in message["blocks"] for t in text_objects(b) if t["type"] == "mrkdwn"]


def check_message(message: dict[str, Any], tokens: re.Pattern[str] = OUR_LINK) -> None:
    """The message is what Slack accepts, and its mrkdwn holds no `<...>` but our own http(s) links."""
    assert set(message) == {"text", "blocks"}
    assert 0 < len(message["text"]) <= kit.FALLBACK_LIMIT
    assert not re.search(r"[<>]", tokens.sub("", message["text"]))
    assert 0 < len(message["blocks"]) <= 50
    for data in message["blocks"]:
        block = Block.parse(data)
        assert block is not None, data
        assert block.to_dict() == data  # slack_sdk validates the block and everything in it on the way
        if data["type"] == "section":
            assert kit.units(data["text"]["text"]) <= 3000
            assert len(data.get("fields", [])) <= 10
        if data["type"] == "header":
            assert kit.units(data["text"]["text"]) <= 150
        if data["type"] == "context":
            assert 0 < len(data["elements"]) <= 10
        for text in text_objects(data):
            assert text["text"].strip(), data
            if text["type"] == "mrkdwn":
                assert text.get("verbatim") is True
                outside = tokens.sub("", text["text"])
                assert "<" not in outside and ">" not in outside, text["text"]
                assert "&" not in re.sub(r"&(?:amp|lt|gt);", "", outside), text["text"]
        for element in elements(data):
            assert len(element["action_id"]) <= 255
            if element["type"] == "button":
                assert kit.units(element["text"]["text"]) <= 75
                assert 0 < len(element["value"]) <= 2000
            for option in element.get("options", []):
                assert kit.units(option["text"]["text"]) <= 75
                assert len(option["value"]) <= 150
            assert len(element.get("options", [])) <= 100


def everything(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def actions(message: dict[str, Any]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in message["blocks"] for e in elements(b) if e["type"] == "button"}


# -- content ------------------------------------------------------------------------------------------------


def test_a_full_card_carries_what_the_discord_card_does() -> None:
    message = kit.talk_message(make_talk(), usual_language="en", more_value="more:x", share_value="share:x")
    check_message(message)
    text = "\n".join(mrkdwn_texts(message))
    assert "*<https://youtu.be/abc123|mTLS everywhere>*" in text
    assert "Ada Lovelace (Analytical Engines)" in text
    assert "Grace Hopper (US Navy), moderator" in text
    assert "KubeCon + CloudNativeCon Europe 2021 · 5 May 2021" in text
    assert "*Language*\nGerman" in text
    assert "*Track*\nSecurity" in text
    assert "How we rolled out mutual TLS" in text
    assert "<https://example.org/slides.pdf|Slides>" in text
    assert "Topics: Security, Service mesh" in text
    assert "id: kubecon-eu-2021-mtls-everywhere" in text
    assert actions(message) == {"more_like_this": "more:x", "share": "share:x"}
    assert message["text"] == "mTLS everywhere by Ada Lovelace, Grace Hopper"


def test_the_card_shows_the_reasons_and_leaves_out_the_usual_language() -> None:
    card = kit.talk_card(make_talk(), usual_language="de", reasons=["matches “mtls”", "in Security"])
    text = "\n".join(mrkdwn_texts({"blocks": card}))
    assert "*Why this talk:* matches “mtls”; in Security" in text
    assert "German" not in text


def test_the_event_dates_stand_in_for_an_unknown_talk_date() -> None:
    text = "\n".join(mrkdwn_texts({"blocks": kit.talk_card(make_talk(date=None), full=False)}))
    assert "4–7 May 2021" in text


def test_a_compact_card_is_one_section_without_the_summary() -> None:
    card = kit.talk_card(make_talk(), usual_language="en", reasons=["title"], full=False)
    assert [b["type"] for b in card] == ["section"]
    text = card[0]["text"]["text"]
    assert "How we rolled out" not in text
    assert text.splitlines() == [
        "*<https://youtu.be/abc123|mTLS everywhere>*",
        "Ada Lovelace (Analytical Engines), Grace Hopper (US Navy), moderator",
        "_KubeCon + CloudNativeCon Europe 2021 · 5 May 2021 · in German_",
        "Why: title",
    ]


def test_share_is_left_out_when_there_is_nothing_to_share() -> None:
    message = kit.talk_message(make_talk(), usual_language="en", more_value="more:x", share_value=None)
    assert actions(message) == {"more_like_this": "more:x"}


def test_a_results_page_has_its_buttons_and_page_line() -> None:
    results = [Result(make_talk(slug=f"talk-{i}", title=f"Talk {i}"), 1.0, ("title",)) for i in range(3)]
    message = kit.results_message(
        "Talks about “mtls”", results, note="Read as: mtsl → mtls", usual_language="en",
        page=2, pages=3, prev_value="p1", next_value="p3", share_value="s",
    )  # fmt: skip
    check_message(message)
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header", "context", *["section", "divider"] * 3, "actions", "context"]
    assert message["blocks"][0]["text"]["text"] == "Talks about “mtls”"
    assert message["blocks"][1]["elements"][0]["text"] == "Read as: mtsl → mtls"
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    assert [s["accessory"]["value"] for s in sections] == ["talk-0", "talk-1", "talk-2"]
    assert {s["accessory"]["action_id"] for s in sections} == {"more_like_this"}
    assert "Why: title" in sections[0]["text"]["text"]
    buttons = message["blocks"][-2]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [("page_prev", "p1"), ("page_next", "p3"), ("share", "s")]
    assert message["blocks"][-1]["elements"][0]["text"] == "Page 2 of 3"


def test_a_first_page_without_a_count_has_only_next() -> None:
    results = [Result(make_talk(), 1.0)]
    message = kit.results_message(
        "Talks", results, usual_language=None, page=1, pages=None, prev_value=None, next_value="n", share_value=None
    )
    check_message(message)
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "divider", "actions", "context"]
    assert [e["action_id"] for e in message["blocks"][3]["elements"]] == ["page_next"]
    assert message["blocks"][-1]["elements"][0]["text"] == "Page 1"


def test_results_stay_within_fifty_blocks() -> None:
    big = make_talk(title="x" * 6000, summary="y" * 6000, credits=(Credit("p", "n" * 6000, organization="o" * 6000),))
    for count in (10, 40):
        results = [Result(big, 1.0, ("r" * 6000,) * 5)] * count
        message = kit.results_message(
            "h" * 6000, results, note="n" * 6000, usual_language="en", page=1, pages=9,
            prev_value="p", next_value="n", share_value="s",
        )  # fmt: skip
        check_message(message)
        assert len(message["blocks"]) <= 50
    ten = kit.results_message(
        "h", [Result(big, 1.0)] * 10, usual_language="en", page=1, pages=1,
        prev_value=None, next_value=None, share_value=None,
    )  # fmt: skip
    assert sum(b["type"] == "section" for b in ten["blocks"]) == 10


def test_one_profile_lists_talks_newest_first_and_counts_the_rest() -> None:
    talks = tuple(
        make_talk(slug=f"t{year}", title=f"Talk of {year}", date=date(year, 1, 1)) for year in (2015, 2021, 2018)
    )
    profile = PersonProfile("ada", "Ada Lovelace", ("Analytical Engines", "Babbage & Co"), talks, total=200)
    message = kit.profiles_message([profile], "ada")
    check_message(message)
    assert message["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Ada Lovelace"}}
    text = "\n".join(mrkdwn_texts(message))
    assert "Analytical Engines → Babbage &amp; Co" in text
    assert text.index("Talk of 2021") < text.index("Talk of 2018") < text.index("Talk of 2015")
    assert "<https://youtu.be/abc123|Talk of 2021> — KubeCon EU 2021 (2021)" in text
    assert "*Talks (200)*" in text
    assert "…and 197 more" in text


def test_a_profile_with_many_talks_is_clipped() -> None:
    talks = tuple(make_talk(slug=f"t{i}", title=f"Talk {i} " + "z" * 140) for i in range(150))
    message = kit.profiles_message([PersonProfile("ada", "Ada", (), talks)], "ada")
    check_message(message)
    assert re.search(r"…and \d+ more$", message["blocks"][-1]["text"]["text"])


def test_several_people_get_a_menu_to_pick_from() -> None:
    people = [PersonProfile(f"person-{i}", f"Alex {i}", ("Acme",), total=i) for i in range(120)]
    message = kit.profiles_message(people, "alex", select_value_prefix="speaker:")
    check_message(message)
    menu = message["blocks"][-1]["elements"][0]
    assert menu["type"] == "static_select"
    assert menu["action_id"] == "pick_speaker"
    assert menu["placeholder"]["text"] == "Which one?"
    assert len(menu["options"]) == 100
    assert menu["options"][0] == {"text": {"type": "plain_text", "text": "Alex 0 (Acme)"}, "value": "speaker:person-0"}
    assert message["blocks"][0]["text"]["text"] == "120 people match “alex”"
    assert "…and 110 more in the menu" in everything(message)


def test_no_one_matching_says_so() -> None:
    message = kit.profiles_message([], "<!channel>")
    check_message(message)
    assert "No one matches “&lt;!channel&gt;”." in mrkdwn_texts(message)


def test_topics_are_indented_by_depth_with_their_counts() -> None:
    topics = [
        Count("mesh", "Service mesh", 12),
        Count("linkerd", "Linkerd", 1, depth=1),
        Count("x", "Deep", 3, depth=2),
    ]
    message = kit.topics_message(topics)
    check_message(message)
    lines = message["blocks"][1]["text"]["text"].splitlines()
    assert lines == ["*Service mesh* · 12 talks", "\u2003↳ *Linkerd* · 1 talk", "\u2003\u2003↳ *Deep* · 3 talks"]


def test_thousands_of_topics_stay_within_fifty_blocks() -> None:
    message = kit.topics_message([Count(f"t{i}", "topic " * 30, i) for i in range(3000)])
    check_message(message)
    assert len(message["blocks"]) == 50
    assert re.fullmatch(r"…and \d+ more topics", message["blocks"][-1]["elements"][0]["text"])


def test_co_located_events_go_under_their_parent() -> None:
    child = Event("argocon-2021", "ArgoCon", start_date=date(2021, 5, 3), parent="kubecon-eu-2021")
    other = Event("devconf", "DevConf", location="Brno")
    message = kit.events_message([(child, 4), (other, 1), (EVENT, 120)])
    check_message(message)
    text = message["blocks"][1]["text"]["text"]
    assert text.splitlines() == [
        "*DevConf*",
        "Brno · 1 talk",
        "*KubeCon + CloudNativeCon Europe 2021*",
        "4–7 May 2021 · Virtual · 120 talks",
        "↳ *ArgoCon*",
        "↳ 3 May 2021 · 4 talks",
    ]


def test_an_error_lists_its_suggestions_and_keeps_its_code_spans() -> None:
    message = kit.error_message("Type a few words, such as `mtls` or `rust`.", ["mtls", "<!here>", "rust"])
    check_message(message)
    first, second = (b["text"]["text"] for b in message["blocks"])
    assert first == ":warning: Type a few words, such as `mtls` or `rust`."
    assert second == "*Did you mean:*\n• mtls\n• &lt;!here&gt;\n• rust"


def test_usage_is_shown_as_code_with_its_placeholders_escaped() -> None:
    message = kit.usage_message("/talks search <words> [topic:<topic>]")
    check_message(message)
    assert message["blocks"][1]["text"]["text"] == "```/talks search &lt;words&gt; [topic:&lt;topic&gt;]```"


def test_an_option_stays_within_its_limits() -> None:
    assert kit.option("t1", "mTLS everywhere") == {
        "text": {"type": "plain_text", "text": "mTLS everywhere"},
        "value": "t1",
    }
    huge = kit.option("k" * 500, "label " * 100)
    assert len(huge["value"]) <= 150
    assert len(huge["text"]["text"]) <= 75
    assert huge["text"]["text"].endswith("…")
    assert kit.option("k" * 500, "x") != kit.option("k" * 499, "x")  # shortened keys stay distinct
    assert kit.option("key", "  ")["text"]["text"] == "key"


# -- safety -------------------------------------------------------------------------------------------------

HOSTILE = "<!channel> <!here> <!everyone> <@U123> <#C1> @everyone @here Tom & Jerry"


def test_mentions_and_ampersands_in_catalogue_text_are_escaped() -> None:
    talk = make_talk(
        title=HOSTILE,
        summary=HOSTILE,
        track=HOSTILE,
        event=Event("e", HOSTILE, location=HOSTILE),
        credits=(Credit("p", HOSTILE, organization=HOSTILE),),
        topics=(Topic("t", HOSTILE),),
    )
    message = kit.talk_message(talk, usual_language="en", more_value="m", share_value="s")
    check_message(message)
    dumped = everything(message)
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<#C1>", "@everyone", "@here", "Tom & Jerry"):
        assert raw not in dumped
    assert "&lt;!channel&gt;" in dumped
    assert "&lt;@\u200bU123&gt;" in dumped
    assert "@\u200beveryone" in dumped
    assert "Tom &amp; Jerry" in dumped
    for message in (
        kit.results_message(
            HOSTILE, [Result(talk, 1.0, (HOSTILE,))], note=HOSTILE, usual_language=None, page=1, pages=1,
            prev_value=None, next_value=None, share_value=None,
        ),
        kit.profiles_message([PersonProfile("p", HOSTILE, (HOSTILE,), (talk,))], HOSTILE),
        kit.profiles_message([PersonProfile("p", HOSTILE, (HOSTILE,)), PersonProfile("q", "Q", ())], HOSTILE),
        kit.topics_message([Count("t", HOSTILE, 1)]),
        kit.events_message([(Event("e", HOSTILE, location=HOSTILE), 1)]),
        kit.error_message(HOSTILE, [HOSTILE]),
        kit.usage_message(HOSTILE),
    ):  # fmt: skip
        check_message(message)
        for text in [*mrkdwn_texts(message), message["text"]]:
            assert "<!" not in text and "<@" not in text and "<#" not in text


def test_a_link_label_cannot_end_the_link() -> None:
    card = kit.talk_card(make_talk(title="a|b>c <https://evil.example|click>"), full=False)
    first = card[0]["text"]["text"].splitlines()[0]
    assert first == "*<https://youtu.be/abc123|a\u2223b&gt;c &lt;https://evil.example\u2223click&gt;>*"
    assert OUR_LINK.fullmatch(first.strip("*"))


def test_only_http_addresses_become_links() -> None:
    for url in ("javascript:alert(1)", "ftp://example.org/x", "slack://open", "https://a.example/x|y", "http://x y"):
        talk = make_talk(recording_url=url, slides_url=url)
        message = kit.talk_message(talk, usual_language=None, more_value="m", share_value=None)
        check_message(message)
        dumped = everything(message)
        assert url not in dumped and url.replace("|", "\u2223") not in dumped
        assert "*mTLS everywhere*" in message["blocks"][0]["text"]["text"]
        assert "Slides" not in dumped and "Recording" not in dumped
    link = kit.link("x", "https://example.org/?a=1&b=2", 50)
    assert link == "<https://example.org/?a=1&amp;b=2|x>"
    assert kit.link("x", "HTTPS://EXAMPLE.ORG", 50) == "<HTTPS://EXAMPLE.ORG|x>"


def test_styling_marks_in_a_title_cannot_restyle_the_card() -> None:
    title = "🚀 שלום *bold* _x_ ~y~ `code` ```block``` > quote 👩🏽‍💻"
    card = kit.talk_card(make_talk(title=title, recording_url=None), full=False)
    first = card[0]["text"]["text"].splitlines()[0]
    assert first == "*🚀 שלום ∗bold∗ ˍxˍ ∼y∼ ˋcodeˋ ˋˋˋblockˋˋˋ &gt; quote 👩🏽‍💻*"
    assert not re.search(r"[*_~`]", first[1:-1])


def test_a_leading_quote_mark_is_not_a_blockquote() -> None:
    assert kit.mrkdwn("> not a quote", 50) == "\u00ad&gt; not a quote"


def test_bidirectional_overrides_are_dropped_and_right_to_left_text_kept() -> None:
    assert kit.mrkdwn("evil\u202egpj.exe שלום", 50) == "evilgpj.exe שלום"


def test_huge_texts_are_clipped_with_an_ellipsis_between_whole_escapes() -> None:
    for text in ("&" * 6000, "<" * 6000, "ab&" * 2000, "🚀" * 6000, "שלום " * 1200, "*bold* " * 900):
        talk = make_talk(
            title=text, summary=text, event=Event("e", text), credits=(Credit("p", text, organization=text),)
        )
        message = kit.talk_message(talk, usual_language=None, more_value="m", share_value="s")
        check_message(message)
        for clipped in mrkdwn_texts(message):
            assert kit.units(clipped) <= 3000
        title = message["blocks"][0]["text"]["text"].splitlines()[0]
        assert title.endswith("…>*")
    assert kit.mrkdwn("&" * 100, 12) == "&amp;&amp;…"
    assert kit.mrkdwn("a" * 10 + "👩🏽‍💻", 13) == "a" * 10 + "…"  # not a lone joiner or skin tone
    assert kit.mrkdwn("🇩🇪🇫🇷", 7) == "🇩🇪…"  # never half a flag


def test_emoji_and_right_to_left_text_survive_intact() -> None:
    title = "Kubernetes 🚢 في الإنتاج — עברית"
    message = kit.talk_message(make_talk(title=title), usual_language=None, more_value="m", share_value=None)
    assert f"<https://youtu.be/abc123|{title}>" in message["blocks"][0]["text"]["text"]
    assert kit.plain(title, 150) == title


def test_oversized_button_values_leave_the_button_out() -> None:
    message = kit.talk_message(make_talk(), usual_language=None, more_value="v" * 2001, share_value="s" * 2000)
    check_message(message)
    assert actions(message) == {"share": "s" * 2000}
    alone = kit.talk_message(make_talk(), usual_language=None, more_value="v" * 2001, share_value=None)
    check_message(alone)
    assert "actions" not in [b["type"] for b in alone["blocks"]]


def test_headers_and_fallback_texts_are_clipped() -> None:
    message = kit.results_message(
        "<!channel> " + "h" * 6000, [], usual_language=None, page=1, pages=1,
        prev_value=None, next_value=None, share_value=None,
    )  # fmt: skip
    check_message(message)
    assert len(message["blocks"][0]["text"]["text"]) == 150
    assert message["text"].startswith("&lt;!channel&gt;")


TEXTS = st.text(min_size=1, max_size=20) | st.sampled_from(
    ["<!channel>", "@everyone", "&amp;", "*b*", "_i_", "`c`", "|", ">", "🇩🇪", "👩🏽‍💻", "שלום", "\u202e", "\u0301"]
)


@settings(max_examples=60, deadline=None)
@given(text=TEXTS, repeat=st.sampled_from([1, 7, 400]))
def test_every_message_is_valid_whatever_the_catalogue_holds(text: str, repeat: int) -> None:
    big = text * repeat
    event = Event("e", big, short_name=big, location=big, url="https://example.org/" + "a" * repeat, parent="p")
    talk = Talk(
        slug="t", title=big, event=event, kind="panel", summary=big, track=big, language="fr",
        recording_url="https://youtu.be/x", slides_url=big,
        credits=tuple(Credit(f"p{i}", big, "panellist", big) for i in range(30)),
        topics=tuple(Topic(f"t{i}", big) for i in range(40)),
    )  # fmt: skip
    messages = [
        kit.talk_message(talk, usual_language="en", more_value="m", share_value="s"),
        kit.results_message(
            big, [Result(talk, 1.0, (big,) * 4)] * 10, note=big, usual_language="en", page=1, pages=2,
            prev_value=None, next_value="n", share_value="s",
        ),
        kit.profiles_message([PersonProfile("p", big, (big,) * 5, (talk,) * 30)], big),
        kit.profiles_message([PersonProfile(f"p{i}", big, (big,)) for i in range(30)], big, select_value_prefix=big),
        kit.topics_message([Count(f"t{i}", big, i, depth=i % 4) for i in range(300)]),
        kit.events_message([(event, 3), (Event("p", big, location=big), 9)] * 50),
        kit.error_message(big, [big] * 20),
        kit.usage_message(big),
    ]  # fmt: skip
    for message in messages:
        check_message(message)
    option = kit.option(big, big)
    assert 0 < len(option["text"]["text"]) <= 75 and 0 < len(option["value"]) <= 150


# -- the pieces the highlights commands use ----------------------------------------------------------------


def schedule(**changes: Any) -> ScheduleInfo:
    fields: dict[str, Any] = {
        "id": 7, "guild_id": 1, "channel_id": 42, "rule": ScheduleRule(time(9, 0), ZoneInfo("Europe/Berlin")),
        "rule_text": "daily at 09:00 Europe/Berlin", "topic": "security", "topic_name": HOSTILE, "event": None,
        "event_name": None, "state": "enabled", "paused_reason": None, "failures": 0, "retry_at": None,
        "next_due": datetime(2026, 1, 5, 8, 0, tzinfo=UTC), "created_by": None,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC), "last_talk": HOSTILE,
        "last_post_at": datetime(2026, 1, 4, 8, 0, tzinfo=UTC),
    }  # fmt: skip
    fields.update(changes)
    return ScheduleInfo(**fields)


def test_a_schedule_shows_its_channel_time_and_talks_with_catalogue_text_escaped() -> None:
    message = kit.schedule_message(schedule(), {42: "C0123ABC"}, title="Scheduled: highlight #7")
    check_message(message, OUR_TOKENS)
    assert message["blocks"][0]["text"]["text"] == "Scheduled: highlight #7"
    lines = message["blocks"][1]["text"]["text"].splitlines()
    assert lines[0] == "<#C0123ABC> · daily at 09:00 Europe/Berlin"
    assert "&lt;!channel&gt;" in lines[1] and "<!channel>" not in everything(message)
    assert (
        lines[2]
        == "Next: Mon 5 Jan 09:00 CET · <!date^1767600000^{date_short_pretty} {time}|Mon 5 Jan 09:00 CET> your time"
    )
    assert "&lt;!channel&gt;" in message["blocks"][2]["text"]["text"]


def test_a_schedule_whose_channel_is_unknown_or_odd_links_nothing() -> None:
    for channels in ({}, {42: "<!channel>"}, {42: "C1|x>"}):
        message = kit.schedule_message(schedule(state="paused", paused_reason="left"), channels)
        check_message(message, OUR_TOKENS)
        assert message["blocks"][1]["text"]["text"].startswith("a channel no longer known · ")
        assert ":double_vertical_bar: Paused: left" in message["blocks"][1]["text"]["text"]


def test_the_schedules_list_stays_within_fifty_blocks() -> None:
    message = kit.schedules_message([schedule(id=i, failures=2, last_failure="x" * 6000) for i in range(80)], {})
    check_message(message, OUR_TOKENS)
    assert len(message["blocks"]) == 50
    assert message["blocks"][-1]["elements"][0]["text"] == "…and 32 more"
    assert "None yet" in kit.schedules_message([], {})["blocks"][1]["text"]["text"]


def test_notices_keep_the_callers_mrkdwn_and_escape_only_what_it_escapes() -> None:
    message = kit.notice_message(f"Posted “{kit.escape(HOSTILE)}” in <#C0123ABC>.")
    check_message(message, OUR_TOKENS)
    assert message["blocks"][0]["text"]["text"].startswith("Posted “&lt;!channel&gt;")
    assert message["blocks"][0]["text"]["text"].endswith("” in <#C0123ABC>.")
    assert kit.context_block("<!here> *x*") == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "&lt;!here&gt; ∗x∗", "verbatim": True}],
    }

"""The Slack app end to end: the real slack-bolt app and slack-sdk client against the Slack emulator."""

from __future__ import annotations

import asyncio
import json

from bot.catalogue.formats.options import ImportOptions
from bot.highlights.ports import PostResult
from bot.services.ids import SlackIds
from emulator.slack import Message


def texts(message: Message) -> str:
    """Everything a message shows, as one string."""
    return json.dumps(message.blocks, ensure_ascii=False)


def markup(message: Message) -> str:
    """What Slack reads as markup (where `<!channel>` would ping): the fallback text and every mrkdwn text."""
    found = [message.text or ""]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.blocks)
    return "\n".join(found)


def buttons(message: Message) -> dict[str, str]:
    """The message's buttons and selects: action id -> value (or the first option's value)."""
    found = {}
    for block in message.blocks:
        elements = list(block.get("elements", []))
        if "accessory" in block:
            elements.append(block["accessory"])
        for element in elements:
            if "action_id" in element:
                found.setdefault(element["action_id"], element.get("value", ""))
    return found


async def test_recommend_answers_the_asker_only_with_pages_and_a_share_button(slack):
    reply = await slack.slash("/recommend", "linkerd")
    first = reply.last
    assert first.ephemeral and first.user == "U1"
    assert "Talks for “linkerd”" in texts(first)
    controls = buttons(first)
    assert {"page_next", "share", "more_like_this"} <= set(controls)
    assert "page_prev" not in controls

    turned = await slack.click(first, "page_next", value=controls["page_next"])
    second = turned.last
    assert second.ts == first.ts  # the same message, now on its second page
    assert "Page 2" in texts(second)
    assert "page_prev" in buttons(second)

    shared = await slack.click(second, "share", value=buttons(second)["share"])
    posted = shared.last
    assert not posted.ephemeral and posted.channel == "C1"
    assert "Page 2" in texts(posted)
    assert {"page_next", "page_prev", "share"}.isdisjoint(buttons(posted))  # the channel gets no pager


async def test_words_fill_the_first_option_and_key_values_the_others(slack):
    typed = await slack.slash("/recommend", 'service mesh event:"KubeCon + CloudNativeCon Europe 2021"')
    assert "Talks for “service mesh”" in texts(typed.last)
    wrong = await slack.slash("/recommend", "mtls colour:red")
    shown = texts(wrong.last)
    assert "colour" in shown and "/recommend" in shown  # the command's usage
    spaces = await slack.slash("/talk", 'title:""')
    assert "/talk" in texts(spaces.last) and "needs title" in texts(spaces.last)


async def test_talk_shows_one_talk_and_more_like_this_answers_whoever_clicks(slack):
    reply = await slack.slash("/talk", "rapid experimentation")
    card = reply.last
    assert "Rapid Experimentation" in texts(card)
    assert "more_like_this" in buttons(card) and "share" in buttons(card)
    shared = await slack.click(card, "share", value=buttons(card)["share"])
    in_channel = shared.last
    assert not in_channel.ephemeral
    more = await slack.click(in_channel, "more_like_this", user="U2", value=buttons(in_channel)["more_like_this"])
    answer = more.last
    assert answer.ephemeral and answer.user == "U2"
    assert "More like" in texts(answer)
    assert answer.ts != in_channel.ts  # a new private answer; the shared card stays


async def test_speaker_with_several_matches_offers_a_pick(slack, services):
    profiles = await services.catalogue.speakers("a", talks=0)
    assert len(profiles) > 1
    reply = await slack.slash("/speaker", "a")
    picker = reply.last
    assert "pick_speaker" in buttons(picker)
    chosen = profiles[0]
    picked = await slack.click(picker, "pick_speaker", selected=chosen.slug)
    assert chosen.name in texts(picked.last)
    assert "pick_speaker" not in buttons(picked.last)


async def test_topics_events_and_highlight(slack):
    assert "Service mesh" in texts((await slack.slash("/topics", "tree:yes")).last)
    assert "KubeCon" in texts((await slack.slash("/events", "")).last)
    seen = {texts((await slack.slash("/highlight", "")).last) for _ in range(3)}
    assert len(seen) == 3  # no repeats in this channel's rotation


async def test_nothing_a_member_types_can_ping_anyone(slack):
    for text in ("<!channel>", "@everyone", "<!here> hello", "<@U2>", "‮evil‭ " * 600):
        reply = await slack.slash("/recommend", text)
        shown = markup(reply.last)  # plain text (headers, buttons) shows `<!channel>` as it is: no ping there
        assert "<!channel>" not in shown and "<!here>" not in shown and "<@U2>" not in shown
        assert "@everyone" not in shown


async def test_a_failing_command_answers_kindly(slack, services, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(services.catalogue, "events", broken)
    reply = await slack.slash("/events", "")
    shown = texts(reply.last)
    assert "went wrong on our side" in shown and "fire" not in shown


async def test_external_selects_get_the_suggestions_discord_autocompletes(slack, services):
    options = await slack.suggest("pick_topic", "mesh")
    assert options and any("mesh" in option["text"]["text"].lower() for option in options)
    expected = [s.key for s in services.catalogue.suggest_titles("linkerd")][:3]
    titles = await slack.suggest("pick_talk", "linkerd")
    assert [option["value"] for option in titles][:3] == expected


async def test_app_home_shows_the_catalogue_and_its_search_opens_a_modal_that_finds_talks(slack):
    await slack.open_home("U1")
    home = slack.homes["U1"]
    shown = json.dumps(home["blocks"], ensure_ascii=False)
    assert home["type"] == "home"
    assert "11 talks" in shown and "KubeCon" in shown and "Latest highlights" in shown
    await slack.click_home("home_search", user="U1", value="search")
    [modal] = slack.views_opened
    assert modal["callback_id"] == "search_modal"
    answer = await slack.submit_view(modal, {"query": "linkerd"}, user="U1")
    assert answer is not None and answer["response_action"] == "update"
    found = json.dumps(answer["view"]["blocks"], ensure_ascii=False)
    assert "Linkerd" in found
    assert len(answer["view"]["blocks"]) <= 100
    nothing = await slack.submit_view(modal, {"query": "zzzzqqqq"}, user="U1")
    assert "No talk matches" in json.dumps(nothing["view"]["blocks"], ensure_ascii=False)


class Delivered:
    """A poster whose every post goes out."""

    async def post(self, schedule, slug, nonce):
        return PostResult(1)


async def test_the_home_tab_lists_what_this_workspace_was_sent_last(slack, services):
    ids = SlackIds(services.db)
    team = await ids.number(slack.team_id)
    info = await services.highlights.setup(team, await ids.number("C1"), "09:00", "UTC")
    talk = await services.highlights.preview(team, info.id)
    await services.highlights.post_now(team, info.id, Delivered(), request_key="r1")
    await slack.open_home("U1")
    latest = json.dumps(slack.homes["U1"]["blocks"], ensure_ascii=False)
    assert talk.title[:30] in latest


async def test_a_slow_answer_is_acknowledged_in_time_and_follows(slack, services, monkeypatch):
    monkeypatch.setattr("bot.platforms.slack.app.ACK_BUDGET", 0.05)
    original = services.catalogue.events

    async def slow():
        await asyncio.sleep(0.3)
        return await original()

    monkeypatch.setattr(services.catalogue, "events", slow)
    reply = await slack.slash("/events", "")
    assert reply.ack["text"] == "Working on it…"
    await reply.wait_for(2, within=2.0)
    assert "KubeCon" in texts(reply.last)


async def test_a_command_without_its_words_offers_a_menu_that_suggests_as_one_types(slack, services):
    for command, action_id in (("/recommend", "pick_topic"), ("/talk", "pick_talk"), ("/similar", "pick_similar"),
                               ("/speaker", "pick_person")):  # fmt: skip
        offered = (await slack.slash(command, "")).last
        assert action_id in buttons(offered)
    menu = (await slack.slash("/talk", "")).last
    [first, *_] = await slack.suggest("pick_talk", "tap", message=menu)
    picked = await slack.click(menu, "pick_talk", selected=first["value"])
    assert "Tap Tap" in texts(picked.last)
    person = (await slack.slash("/speaker", "")).last
    [someone, *_] = await slack.suggest("pick_person", "morgan", message=person)
    assert "Morgan" in texts((await slack.click(person, "pick_person", selected=someone["value"])).last)


HOSTILE = "<!channel> <@U2> &amp; *bold* `code` @everyone ‮evil‭ 🎤 عنوان "


async def test_a_hostile_catalogue_is_shown_as_text_within_slack_limits(slack, services):
    title = (HOSTILE * 40)[:1000]  # the longest title an import takes
    summary = (HOSTILE * 200)[:6000]
    table = f'title,speakers,organization,summary\n"{title}","Ada <!here>","ACME &amp; <@U2>","{summary}"\n'
    await services.catalogue.import_data(table.encode(), "hostile.csv", ImportOptions(event="Hostile Conf 2026"))
    for command, text in (("/talk", "channel bold code"), ("/recommend", "everyone evil"), ("/speaker", "ada")):
        reply = await slack.slash(command, text)
        shown = markup(reply.last)
        for ping in ("<!channel>", "<!here>", "<@U2>", "@everyone"):
            assert ping not in shown, (command, ping)
        assert "‮" not in shown  # no direction override survives
        assert "ACME" in shown, command  # the hostile talk (or its speaker) is what was shown
    # The emulator checked every block against Slack's limits (slack-sdk's models); any breach fails the test.

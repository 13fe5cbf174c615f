"""Validation against Discord's OpenAPI spec and its documented limits, without a server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from benchmarks import realdata
from emulator import limits, payloads
from emulator.server import DiscordEmulator
from emulator.spec import SPEC_ENV, Problem, available_spec, form_body_errors, load_spec, spec_path
from emulator.world import World

CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"


@pytest.mark.realdata
def test_the_tests_point_the_spec_at_the_real_description_and_it_is_loaded_once():
    assert spec_path() == realdata.DISCORD_API_SPEC
    assert load_spec() is load_spec()


def test_without_the_spec_the_emulator_checks_limits_only_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.delenv(SPEC_ENV, raising=False)
    available_spec.cache_clear()
    try:
        with caplog.at_level(logging.INFO, logger="emulator.spec"):
            assert spec_path() is None
            assert DiscordEmulator().spec is None and DiscordEmulator().spec is None
        assert [r.getMessage() for r in caplog.records] == [
            f"{SPEC_ENV} is not set: the emulator checks Discord's limits but not its API schema"
        ]
        with pytest.raises(FileNotFoundError, match=SPEC_ENV):
            DiscordEmulator(validate=True)  # insisting on validation without the spec is an error, not a no-op
    finally:
        available_spec.cache_clear()


def test_spec_path_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv(SPEC_ENV, str(tmp_path / "spec.json"))
    assert spec_path() == tmp_path / "spec.json"
    with pytest.raises(FileNotFoundError, match=SPEC_ENV):
        load_spec(tmp_path / "missing.json")


@pytest.mark.realdata
def test_bodies_discord_py_sends_are_valid():
    spec = load_spec()
    assert spec.request_problems("POST", CALLBACK, {"type": 4, "data": {"tts": False, "content": "pong"}}) == []
    assert spec.schema_problems("CreateMessageInteractionCallbackRequest", {"type": 5}) == []
    message = {"content": "hi", "components": [], "nonce": "1", "enforce_nonce": True, "tts": False}
    assert spec.request_problems("POST", "/channels/{channel_id}/messages", message) == []
    attachment = {"content": "f", "attachments": [{"id": 0, "filename": "a.txt"}]}
    assert spec.request_problems("POST", "/channels/{channel_id}/messages", attachment) == []


@pytest.mark.realdata
def test_bad_bodies_name_the_field():
    spec = load_spec()
    [problem] = spec.schema_problems(
        "ApplicationCommandAutocompleteCallbackRequest", {"type": 8, "data": {"choices": [{"value": "x"}]}}
    )
    assert problem.path == ("data", "choices", 0, "name") and problem.code == "BASE_TYPE_REQUIRED"
    problems = spec.request_problems("POST", CALLBACK, {"type": 4, "data": {"content": "x" * 2001}})
    assert problems and all(p.path[:2] == ("data", "content") for p in problems)


@pytest.mark.realdata
def test_replies_are_checked_too():
    spec = load_spec()
    world = World(bot_name="bot")
    me = payloads.private_user(world.bot)
    assert spec.response_problems("GET", "/users/@me", 200, me) == []
    del me["locale"]
    assert [p.path for p in spec.response_problems("GET", "/users/@me", 200, me)] == [("locale",)]
    guild = payloads.guild(world, world.add_guild("g", ("general",)), with_counts=True)
    assert spec.response_problems("GET", "/guilds/{guild_id}", 200, guild) == []
    assert spec.response_problems("GET", "/oauth2/applications/@me", 200, payloads.application(world, 1)) == []


def test_form_body_errors_nest_like_discords():
    problems = [Problem(("embeds", 0, "title"), "BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer in length.")]
    assert form_body_errors(problems) == {
        "embeds": {"0": {"title": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": problems[0].message}]}}}
    }


def _codes(problems: list[Problem]) -> list[tuple[tuple[str | int, ...], str]]:
    return [(p.path, p.code) for p in problems]


def test_documented_message_limits():
    assert limits.message_problems({"content": "x" * 2000}) == []
    assert _codes(limits.message_problems({"content": "x" * 2001})) == [(("content",), "BASE_TYPE_MAX_LENGTH")]
    big = {"title": "t" * 256, "description": "d" * 4096, "footer": {"text": "f" * 2048}}
    assert _codes(limits.embed_problems([big])) == [(("embeds",), "MAX_EMBED_SIZE_EXCEEDED")]
    fields = {"fields": [{"name": "n", "value": "v"}] * 26}
    assert _codes(limits.embed_problems([fields])) == [(("embeds", 0, "fields"), "BASE_TYPE_BAD_LENGTH")]
    assert _codes(limits.embed_problems([{"author": {"name": "a" * 257}}])) == [
        (("embeds", 0, "author", "name"), "BASE_TYPE_MAX_LENGTH")
    ]
    assert _codes(limits.embed_problems([{}] * 11)) == [(("embeds",), "BASE_TYPE_BAD_LENGTH")]


def test_documented_component_limits():
    button = {"type": 2, "style": 1, "label": "go", "custom_id": "same"}
    rows = [{"type": 1, "components": [button, dict(button)]}]
    assert _codes(limits.component_problems(rows)) == [
        (("components", 0, "components", 1, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED")
    ]
    select = {"type": 3, "custom_id": "s", "options": [{"label": "l" * 101, "value": "v"}] * 26}
    assert set(_codes(limits.component_problems([{"type": 1, "components": [select]}]))) == {
        (("components", 0, "components", 0, "options"), "BASE_TYPE_BAD_LENGTH"),
        *((("components", 0, "components", 0, "options", i, "label"), "BASE_TYPE_MAX_LENGTH") for i in range(26)),
    }
    long_id = {"type": 1, "components": [{**button, "custom_id": "c" * 101}]}
    assert set(_codes(limits.component_problems([long_id] * 6))) == {
        (("components",), "BASE_TYPE_BAD_LENGTH"),
        *((("components", i, "components", 0, "custom_id"), "BASE_TYPE_MAX_LENGTH") for i in range(6)),
        *((("components", i, "components", 0, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED") for i in range(1, 6)),
    }


def test_documented_autocomplete_limits():
    assert limits.autocomplete_problems({"choices": [{"name": "a", "value": "a"}] * 25}) == []
    assert _codes(limits.autocomplete_problems({"choices": [{"name": "a", "value": "a"}] * 26})) == [
        (("data", "choices"), "BASE_TYPE_BAD_LENGTH")
    ]
    assert _codes(limits.autocomplete_problems({"choices": [{"name": "n" * 101, "value": "v" * 101}]})) == [
        (("data", "choices", 0, "name"), "BASE_TYPE_MAX_LENGTH"),
        (("data", "choices", 0, "value"), "BASE_TYPE_MAX_LENGTH"),
    ]

"""The Slack emulator's direct messages and file uploads, driven by the real slack-sdk client.

conversations.open, files.getUploadURLExternal, the upload URL and files.completeUploadExternal, as slack-sdk's
`files_upload_v2` chains them, with Slack's errors and the scopes they need.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from emulator.slack import SlackEmulator
from emulator.slack.pytest_plugin import slack_emulator

__all__ = ["slack_emulator"]

CALENDAR = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def emulator(slack_emulator: SlackEmulator) -> SlackEmulator:
    return slack_emulator


@pytest.fixture
async def client(emulator: SlackEmulator) -> AsyncIterator[AsyncWebClient]:
    async with aiohttp.ClientSession() as session:
        yield AsyncWebClient(token=emulator.token, base_url=emulator.api_url, session=session)


async def refused(call: Any) -> dict[str, Any]:
    """The body of a call Slack refuses."""
    with pytest.raises(SlackApiError) as caught:
        await call
    body = caught.value.response.data
    assert isinstance(body, dict) and body["ok"] is False
    return body


async def announce(client: AsyncWebClient, name: str = "talks.ics", length: int = len(CALENDAR)) -> tuple[str, str]:
    """files.getUploadURLExternal: the file id and its upload URL."""
    answer = await client.files_getUploadURLExternal(filename=name, length=length)
    return str(answer["file_id"]), str(answer["upload_url"])


async def send(url: str, data: bytes = CALENDAR) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, data=data) as response:
        return response.status, await response.text()


# -- conversations.open --------------------------------------------------------------------------------------


async def test_conversations_open_finds_the_same_direct_message_each_time(emulator, client):
    first = await client.conversations_open(users="U1")
    assert first["channel"] == {"id": "DU1"} and "already_open" not in first.data
    again = await client.conversations_open(users=["U1"], return_im=True)
    assert again["already_open"] is True and again["no_op"] is True
    assert again["channel"]["id"] == "DU1" and again["channel"]["is_im"] is True and again["channel"]["user"] == "U1"
    by_id = await client.conversations_open(channel="DU1")
    assert by_id["channel"]["id"] == "DU1"
    await client.chat_postMessage(channel="DU1", text="hello")
    assert [m.text for m in emulator.channels["DU1"].messages] == ["hello"]


async def test_conversations_open_answers_slacks_errors(emulator, client):
    assert (await refused(client.conversations_open(users="U9")))["error"] == "user_not_found"
    assert (await refused(client.conversations_open(users="U0BOT")))["error"] == "cannot_dm_bot"
    assert (await refused(client.conversations_open(users="U1,U2")))["error"] == "too_many_users"
    assert (await refused(client.conversations_open(channel="C1")))["error"] == "channel_not_found"
    assert (await refused(client.api_call("conversations.open")))["error"] == "users_list_not_supplied"
    assert "DU9" not in emulator.channels


# -- files_upload_v2 -----------------------------------------------------------------------------------------


async def test_files_upload_v2_shares_a_file_in_a_direct_message_with_its_comment(emulator, client):
    channel = (await client.conversations_open(users="U1"))["channel"]["id"]
    done = await client.files_upload_v2(
        channel=channel, content=CALENDAR, filename="talks.ics", title="Talks", initial_comment="*Your* talks"
    )
    assert done["file"] == {"id": done["files"][0]["id"], "title": "Talks"}

    [file] = emulator.shared_files("U1")
    assert (file.name, file.title, file.data, file.channels) == ("talks.ics", "Talks", CALENDAR, ["DU1"])
    assert file.comment == "*Your* talks" and file.team == emulator.team_id
    assert [method for method, _ in emulator.calls] == [
        "conversations.open", "files.getUploadURLExternal", "upload", "files.completeUploadExternal",
    ]  # fmt: skip
    assert emulator.calls[1][1]["length"] == str(len(CALENDAR))
    assert json.loads(emulator.calls[3][1]["files"]) == [{"id": file.id, "title": "Talks"}]

    history = await client.conversations_history(channel="DU1")
    [shown] = history["messages"]
    assert shown["text"] == "*Your* talks" and shown["upload"] is True
    [entry] = shown["files"]
    assert entry["id"] == file.id and entry["name"] == "talks.ics" and entry["title"] == "Talks"
    assert entry["size"] == len(CALENDAR) and entry["filetype"] == "ics" and entry["mimetype"] == "text/calendar"


async def test_a_file_shared_in_no_channel_stays_private(emulator, client):
    done = await client.files_upload_v2(content=b"notes", filename="notes.txt")
    file = emulator.files[done["file"]["id"]]
    assert file.completed and file.channels == [] and file.title == "notes.txt"
    assert all(not channel.messages for channel in emulator.channels.values())


async def test_the_upload_url_takes_a_multipart_form_once_and_no_token(emulator, client):
    file_id, url = await announce(client)
    assert url.startswith(emulator.base_url + "/upload/v1/")
    form = aiohttp.FormData()
    form.add_field("filename", CALENDAR, filename="talks.ics", content_type="text/calendar")
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        assert (response.status, await response.text()) == (200, f"OK - {len(CALENDAR)}")
    assert emulator.files[file_id].data == CALENDAR
    await client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C1")
    assert await send(url) == (404, "upload not found")  # gone once shared
    assert (await send(emulator.base_url + "/upload/v1/made-up"))[0] == 404
    [message] = emulator.channels["C1"].messages
    assert message.files[0]["id"] == file_id and message.text == ""


# -- Slack's errors ------------------------------------------------------------------------------------------


async def test_get_upload_url_wants_a_name_and_a_length(emulator, client):
    for arguments in ({"length": 5}, {"filename": "a.ics"}, {"filename": "a.ics", "length": "five"}):
        body = await refused(client.api_call("files.getUploadURLExternal", params=arguments))
        assert body["error"] == "invalid_arguments"
    body = await refused(client.api_call("files.getUploadURLExternal", params={"filename": "a.ics", "length": -1}))
    assert body["error"] == "invalid_arguments"
    assert not emulator.files


async def test_complete_upload_refuses_unknown_unsent_and_spent_uploads(emulator, client):
    complete = client.files_completeUploadExternal
    assert (await refused(complete(files=[{"id": "F404"}], channel_id="C1")))["error"] == "file_not_found"
    file_id, url = await announce(client)
    assert (await refused(complete(files=[{"id": file_id}], channel_id="C1")))["error"] == "file_not_found"
    assert (await send(url))[0] == 200
    await complete(files=[{"id": file_id, "title": "Talks"}], channel_id="C1")
    assert (await refused(complete(files=[{"id": file_id}], channel_id="C1")))["error"] == "file_not_found"

    other = AsyncWebClient(token=emulator.bot_token("T2"), base_url=emulator.api_url, session=client.session)
    theirs, url = await announce(other)
    assert (await send(url))[0] == 200
    assert (await refused(complete(files=[{"id": theirs}], channel_id="C1")))["error"] == "file_not_found"
    await other.files_completeUploadExternal(files=[{"id": theirs}], channel_id="C2")
    assert emulator.files[theirs].team == "T2" and emulator.files[theirs].channels == ["C2"]


async def test_complete_upload_checks_its_files_and_channel(emulator, client):
    call = client.api_call
    for files in ("", "not json", "[]", '[{"title": "no id"}]', '{"id": "F1"}'):
        body = await refused(call("files.completeUploadExternal", params={"files": files, "channel_id": "C1"}))
        assert body["error"] == "invalid_arguments", files
    file_id, url = await announce(client)
    await send(url)
    for channel, error in (("C9", "channel_not_found"), ("C3", "not_in_channel"), ("C4", "is_archived")):
        body = await refused(client.files_completeUploadExternal(files=[{"id": file_id}], channel_id=channel))
        assert body["error"] == error
    assert not emulator.files[file_id].completed  # a refused call spends nothing
    await client.files_completeUploadExternal(files=[{"id": file_id}], channels=["C1", "C2"], initial_comment="hi")
    assert emulator.files[file_id].channels == ["C1", "C2"]
    assert [m.text for m in emulator.channels["C2"].messages] == ["hi"]


async def test_methods_answer_missing_scope_with_the_scope_needed(emulator, client):
    emulator.set_scopes(["chat:write", "commands"])
    body = await refused(client.files_upload_v2(channel="DU1", content=CALENDAR, filename="talks.ics"))
    assert body["error"] == "missing_scope" and body["needed"] == "files:write"
    assert body["provided"] == "chat:write,commands"
    body = await refused(client.files_completeUploadExternal(files=[{"id": "F1"}], channel_id="C1"))
    assert body["needed"] == "files:write"
    body = await refused(client.conversations_open(users="U1"))
    assert (body["error"], body["needed"]) == ("missing_scope", "im:write")
    assert "DU1" not in emulator.channels and not emulator.files
    await client.chat_postMessage(channel="C1", text="still allowed")  # only the methods that name a scope

    emulator.set_scopes(["chat:write", "im:write", "files:write"])
    channel = (await client.conversations_open(users="U1"))["channel"]["id"]
    await client.files_upload_v2(channel=channel, content=CALENDAR, filename="talks.ics")
    assert len(emulator.shared_files("U1")) == 1


async def test_a_token_made_without_oauth_may_call_every_method_until_given_scopes(emulator, client):
    token = emulator.bot_token("T2")
    other = AsyncWebClient(token=token, base_url=emulator.api_url, session=client.session)
    assert (await other.conversations_open(users="U2"))["channel"]["id"] == "DU2"
    emulator.set_scopes(["chat:write"], team="T2")
    assert (await refused(other.conversations_open(users="U2")))["needed"] == "im:write"
    assert (await client.conversations_open(users="U2"))["channel"]["id"] == "DU2"  # the first workspace's token
    with pytest.raises(LookupError):
        emulator.set_scopes(["chat:write"], team="T404")

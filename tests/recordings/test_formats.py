"""Each reader on samples with the shapes real tools write (see each test for the tool and its fields)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import CatalogueFormatError
from bot.recordings.formats import read_path, read_recordings, same_video, video_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_youtube_playlist_items_response() -> None:
    # YouTube Data API v3 playlistItems.list with part=snippet,contentDetails
    page = {
        "kind": "youtube#playlistItemListResponse",
        "etag": "x",
        "nextPageToken": "EAAa",
        "pageInfo": {"totalResults": 3, "resultsPerPage": 50},
        "items": [
            {
                "kind": "youtube#playlistItem",
                "id": "UExfa2V5",
                "snippet": {
                    "publishedAt": "2024-08-01T10:00:00Z",
                    "title": "A Tale of Scaling Observability &amp; more — Toomas Ormisson",
                    "description": "https://ep.example.org/session/a-tale-of-scaling-observability",
                    "resourceId": {"kind": "youtube#video", "videoId": "2noRXtnCb_U"},
                },
                "contentDetails": {"videoId": "2noRXtnCb_U", "videoPublishedAt": "2024-07-30T09:00:00Z"},
            },
            {
                "kind": "youtube#playlistItem",
                "snippet": {"title": "Private video", "description": "", "resourceId": {"videoId": "AAAAAAAAAAA"}},
                "contentDetails": {"videoId": "AAAAAAAAAAA"},
            },
        ],
    }
    found = read_recordings(_json(page), "playlist.json")
    assert found.shape == "YouTube playlistItems list"
    assert found.skipped == 1
    [video] = found.recordings
    assert video.url == "https://www.youtube.com/watch?v=2noRXtnCb_U"
    assert video.title == "A Tale of Scaling Observability & more — Toomas Ormisson"
    assert video.date == "2024-07-30"
    assert video.links == ("https://ep.example.org/session/a-tale-of-scaling-observability",)


def test_youtube_search_response_keeps_videos_only_and_reads_several_pages() -> None:
    item = {"kind": "youtube#searchResult", "id": {"kind": "youtube#video", "videoId": "dDW1OoTaMdU"},
            "snippet": {"publishedAt": "2021-05-05T00:00:00Z", "title": "Keynote: Scheduling 68k tests",
                        "description": "KubeCon"}}  # fmt: skip
    channel = {"kind": "youtube#searchResult", "id": {"kind": "youtube#channel", "channelId": "UC1"}, "snippet": {}}
    pages = [{"kind": "youtube#searchListResponse", "items": [item, channel]}, {"kind": "youtube#searchListResponse",
             "items": [{**item, "id": {"kind": "youtube#video", "videoId": "EB6QWpIYMSA"}}]}]  # fmt: skip
    found = read_recordings(_json(pages), "search.json")
    assert found.shape == "YouTube search list"
    assert [v.url[-11:] for v in found.recordings] == ["dDW1OoTaMdU", "EB6QWpIYMSA"]
    assert found.skipped == 1


def test_ytdlp_flat_playlist_and_json_lines() -> None:
    # `yt-dlp -J --flat-playlist URL`: entries are url results with title, duration, no upload date
    playlist = {"_type": "playlist", "id": "PL1", "title": "EuroPython 2024", "extractor": "youtube:tab",
                "entries": [{"_type": "url", "ie_key": "Youtube", "id": "2noRXtnCb_U",
                             "url": "https://www.youtube.com/watch?v=2noRXtnCb_U",
                             "title": "A Tale of Scaling Observability", "duration": 1723.0},
                            {"_type": "url", "ie_key": "Youtube", "id": "xxxxxxxxxxx", "url": "xxxxxxxxxxx",
                             "title": "[Private video]", "duration": None}]}  # fmt: skip
    found = read_recordings(_json(playlist), "pl.json")
    assert found.shape == "yt-dlp playlist (-J)"
    [video] = found.recordings
    assert (video.url, video.duration) == ("https://www.youtube.com/watch?v=2noRXtnCb_U", 1723)
    # `yt-dlp --dump-json`: one full info dict a line, upload_date as YYYYMMDD
    lines = [{"id": "EB6QWpIYMSA", "title": "Rapid Experimentation", "webpage_url": "https://www.youtube.com/watch?v=EB6QWpIYMSA",
              "upload_date": "20210507", "description": "Speakers: Jane", "extractor": "youtube", "duration": 1500},
             {"id": "dDW1OoTaMdU", "title": "Scheduling 68k COVID Tests", "webpage_url": "https://www.youtube.com/watch?v=dDW1OoTaMdU",
              "upload_date": "20210508", "extractor": "youtube"}]  # fmt: skip
    found = read_recordings(b"\n".join(_json(line) for line in lines) + b"\n", "dump.jsonl")
    assert found.shape == "yt-dlp JSON lines"
    assert [(v.date, v.title) for v in found.recordings] == [
        ("2021-05-07", "Rapid Experimentation"),
        ("2021-05-08", "Scheduling 68k COVID Tests"),
    ]


def test_pyvideo_file_and_folder(tmp_path: Path) -> None:
    # pyvideo/data: one JSON per video in <event>/videos/, beside category.json
    video = {"description": "[PyConf 2024 — North Hall on 2024-07-12]\n\rTalk by X\n\rhttps://ep.example.org/session/a-b",
             "duration": 1723, "language": "eng", "recorded": "2024-07-08",
             "related_urls": [{"label": "Conference Website", "url": "https://ep.example.org/"}],
             "speakers": ["Toomas Ormisson"], "tags": [], "thumbnail_url": "https://i.ytimg.com/vi/x/maxresdefault.jpg",
             "title": "It&apos;s time for datetime", "videos": [{"type": "youtube", "url": "https://www.youtube.com/watch?v=2noRXtnCb_U"}]}  # fmt: skip
    one = read_recordings(_json(video), "one.json")
    assert one.shape == "pyvideo JSON"
    assert one.recordings[0].title == "It's time for datetime"
    assert one.recordings[0].speakers == ("Toomas Ormisson",)
    assert "https://ep.example.org/session/a-b" in one.recordings[0].links
    folder = tmp_path / "pyconf-2024"
    (folder / "videos").mkdir(parents=True)
    (folder / "category.json").write_text('{"title": "PyConf 2024"}')
    fosdem = {**video, "videos": [{"type": "mp4", "url": "https://video.fosdem.org/2017/UD2.120/python_pandas.mp4"}]}
    (folder / "videos" / "a.json").write_bytes(_json(video))
    (folder / "videos" / "b.json").write_bytes(_json(fosdem))
    found = read_path(folder)
    assert found.shape == "pyvideo JSON, a folder"
    assert len(found.recordings) == 2
    assert found.recordings[1].keys == ("python_pandas",)  # the file is named after the schedule's slug


def test_media_ccc_conference() -> None:
    # media.ccc.de /public/conferences/<acronym>: events with guid, slug, persons, frontend_link
    conference = {"acronym": "38c3", "slug": "congress/2024", "title": "38C3", "url": "https://api.media.ccc.de/public/conferences/38c3",
                  "events": [{"guid": "5b0f6c1e-3d2a-5f4e-9a71-2c8e4d6b1f01", "title": "Tanker", "subtitle": "Embrace the relational model",
                              "slug": "38c3-101-tanker", "link": "https://events.ccc.de/congress/2024/hub/event/tanker/",
                              "description": "About Tanker", "persons": ["Bertrand Chenal"], "date": "2024-12-27T11:00:00.000+01:00",
                              "duration": 2400, "frontend_link": "https://media.ccc.de/v/38c3-101-tanker"}]}  # fmt: skip
    found = read_recordings(_json(conference), "38c3.json")
    [video] = found.recordings
    assert found.shape == "media.ccc.de conference JSON"
    assert video.url == "https://media.ccc.de/v/38c3-101-tanker"
    assert video.title == "Tanker: Embrace the relational model"
    assert video.keys == ("5b0f6c1e-3d2a-5f4e-9a71-2c8e4d6b1f01", "38c3-101-tanker")
    assert (video.speakers, video.date, video.duration) == (("Bertrand Chenal",), "2024-12-27", 2400)


def test_pretalx_youtube_json_and_csv() -> None:
    # pretalx-youtube: /api/events/<event>/p/youtube/ and its bulk CSV (submission,video_id)
    listing = {"count": 2, "next": None, "previous": None, "results": [
        {"submission": "QWXJ7K", "youtube_link": "https://youtube.com/watch?v=AAAAAB1", "video_id": "AAAAAB1"},
        {"submission": "DPC6RT", "youtube_link": None, "video_id": None}]}  # fmt: skip
    found = read_recordings(_json(listing), "youtube.json")
    assert found.shape == "pretalx-youtube export"
    assert [(v.keys, v.url) for v in found.recordings] == [(("QWXJ7K",), "https://www.youtube.com/watch?v=AAAAAB1")]
    assert found.skipped == 1
    csv_found = read_recordings(b"submission,video_id\nQWXJ7K,AAAAAB1\n", "youtube.csv")
    assert csv_found.recordings[0].keys == ("QWXJ7K",)


def test_csv_with_url_title_speakers_and_date() -> None:
    data = (
        b"Title;Video URL;Speakers;Date\n"
        b"Tanker: Embrace the relational model;https://youtu.be/dDW1OoTaMdU;Bertrand Chenal & Ana Medina;2024-07-11\n"
        b";;;\n"
    )
    found = read_recordings(data, "videos.csv")
    [video] = found.recordings
    assert video.speakers == ("Bertrand Chenal", "Ana Medina")
    assert (video.url, video.date) == ("https://youtu.be/dDW1OoTaMdU", "2024-07-11")


def test_schedule_export_with_recording_links() -> None:
    found = read_recordings((FIXTURES / "frab-schedule.xml").read_bytes(), "schedule.xml")
    assert found.shape.endswith("with recording links")
    assert found.recordings, "the frab fixture has a talk with a recording link"
    video = found.recordings[0]
    assert video.talk_id is not None and video.talk_id.startswith("7hhc-")


def test_review_file_in_the_bundled_format() -> None:
    data = b'# reviewed\n[[talks]]\nid = "pyconf-2024-101"\nrecording_url = "https://youtu.be/x"\nreplace = true\n'
    [video] = read_recordings(data, "review.toml").recordings
    assert (video.talk_id, video.url, video.replace) == ("pyconf-2024-101", "https://youtu.be/x", True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b'{"items": 3, "kind": "youtube#playlistItemListResponse"}', "page 1: field 'items' must be a list"),
        (b'{"kind": "youtube#playlistItemListResponse", "items": [{"snippet": {"title": "x"}}]}', "no video id"),
        (b'{"hello": 1}', "JSON, but not a list of recordings"),
        (b"{not json", "not valid JSON"),
        (b'{"title": "x", "videos": [{"url": "ftp://x"}]}', "must be an http(s) link"),
        (b"title,speakers\nx,y\n", "a CSV without a column of video links"),
        (b"just some words", "cannot tell the format"),
        (b'[[talks]]\nrecording_url = "https://youtu.be/x"\n', "field 'id'"),
        (b"[[talks]\n", "not valid TOML"),
        (b'{"results": [{"submission": "no spaces!", "video_id": "x"}]}', "pretalx code"),
    ],
)
def test_malformed_input_fails_with_one_clear_line(data: bytes, message: str) -> None:
    with pytest.raises(CatalogueFormatError) as caught:
        read_recordings(data, "input")
    assert message in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.message.startswith("input")


def test_youtube_links_in_every_spelling_are_one_video() -> None:
    assert video_id("https://youtu.be/dDW1OoTaMdU?t=10") == "dDW1OoTaMdU"
    assert video_id("https://www.youtube.com/live/dDW1OoTaMdU") == "dDW1OoTaMdU"
    assert same_video("https://youtu.be/dDW1OoTaMdU", "https://www.youtube.com/watch?v=dDW1OoTaMdU&list=PL1")
    assert not same_video("https://youtu.be/dDW1OoTaMdU", "https://youtu.be/EB6QWpIYMSA")

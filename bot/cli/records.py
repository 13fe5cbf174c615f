"""Domain objects as plain JSON-ready dictionaries (the command line's `--json` and the sandbox)."""

from __future__ import annotations

from typing import Any

from bot.catalogue.service import Result, SearchPage
from bot.domain.models import Count, Event, PersonProfile, Talk


def talk_record(talk: Talk, score: float | None = None, reasons: tuple[str, ...] = ()) -> dict[str, Any]:
    """A talk as a search result: id, title, event, speakers with organisation, topics, recording, score."""
    return {
        "id": talk.slug,
        "title": talk.title,
        "event": talk.event.name,
        "speakers": [{"name": c.name, "organization": c.organization, "role": c.role} for c in talk.speakers],
        "topics": [t.name for t in talk.topics],
        "recording_url": talk.recording_url,
        "score": round(score, 4) if score is not None else None,
        "why": list(reasons),
    }


def talk_detail(talk: Talk) -> dict[str, Any]:
    """A talk in full: the search-result keys plus summary, kind, date and links."""
    record = talk_record(talk)
    record.update(
        {
            "summary": talk.summary,
            "kind": talk.kind,
            "date": talk.date.isoformat() if talk.date else None,
            "event_id": talk.event.slug,
            "track": talk.track,
            "slides_url": talk.slides_url,
        }
    )
    return record


def search_document(page: SearchPage) -> dict[str, Any]:
    """The `search --json` document."""
    return {
        "results": [talk_record(r.talk, r.score, r.reasons) for r in page.results],
        "corrected": page.corrected,
        "suggestions": list(page.suggestions),
    }


def similar_document(talk: Talk, results: list[Result]) -> dict[str, Any]:
    """The `similar --json` document."""
    return {"talk": talk_record(talk), "results": [talk_record(r.talk, r.score, r.reasons) for r in results]}


def speaker_document(profiles: list[PersonProfile]) -> dict[str, Any]:
    """The `speaker --json` document."""
    return {
        "matches": [
            {
                "id": p.slug,
                "name": p.name,
                "organizations": list(p.organizations),
                "talks": [
                    {
                        "id": t.slug,
                        "title": t.title,
                        "event": t.event.name,
                        "date": t.date.isoformat() if t.date else None,
                    }
                    for t in p.talks
                ],
            }
            for p in profiles
        ]
    }


def events_document(events: list[tuple[Event, int]]) -> dict[str, Any]:
    """The `events --json` document."""
    return {
        "events": [
            {
                "id": e.slug,
                "name": e.name,
                "short_name": e.short_name,
                "start_date": e.start_date.isoformat() if e.start_date else None,
                "end_date": e.end_date.isoformat() if e.end_date else None,
                "location": e.location,
                "parent": e.parent,
                "talks": n,
            }
            for e, n in events
        ]
    }


def topics_document(topics: list[Count]) -> dict[str, Any]:
    """The `topics --json` document."""
    return {"topics": [{"id": t.slug, "name": t.name, "talks": t.talks, "depth": t.depth} for t in topics]}

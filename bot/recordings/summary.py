"""A recordings report in a few plain lines, for a chat answer (the command line has its own tables)."""

from __future__ import annotations

from bot.recordings.apply import RecordingReport


def _clip(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def summary_lines(report: RecordingReport, limit: int = 10) -> list[str]:
    """What the list did (or would do): counts, then the first few of each kind."""
    verb = "would get" if report.dry_run else "got"
    lines = [
        f"{report.source}: {report.videos} videos ({report.shape}). {len(report.added)} talks {verb} a recording;"
        f" {len(report.matched) - len(report.added)} already had it; {len(report.ambiguous)} ambiguous,"
        f" {len(report.unmatched)} unmatched, {len(report.conflicts)} conflicts"
        + (f", {report.skipped} skipped" if report.skipped else "")
        + "."
    ]
    for match in report.added[:limit]:
        lines.append(f"+ {_clip(match.talk.title)} <- {match.recording.url} ({match.confidence:.2f}, {match.reason})")
    for decision in report.ambiguous[:limit]:
        names = "; ".join(f"{_clip(c.talk.title, 40)} ({c.confidence:.2f})" for c in decision.candidates[:3])
        lines.append(f"? {_clip(decision.recording.title or decision.recording.url)}: {names}")
    for decision in report.unmatched[:limit]:
        lines.append(f"- {_clip(decision.recording.title or decision.recording.url)}: no talk matches")
    for conflict in report.conflicts[:limit]:
        lines.append(f"! {_clip(conflict.talk.title)}: {conflict.why}")
    if report.ambiguous:
        lines.append("Settle the ambiguous ones with `python -m bot recordings FILE --review-out review.toml`.")
    return lines

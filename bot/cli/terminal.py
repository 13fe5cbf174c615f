"""The command line's output for people: aligned tables and panels (rich), catalogue text never markup."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.catalogue.service import Result, SearchPage
from bot.domain.dates import event_dates, talk_dates
from bot.domain.models import Count, Event, PersonProfile, Talk


def _speakers(talk: Talk) -> str:
    parts = []
    for credit in talk.speakers:
        text = credit.name + (f" ({credit.organization})" if credit.organization else "")
        if credit.role == "moderator":
            text += ", moderator"
        parts.append(text)
    return "; ".join(parts) or "—"


def results_table(results: list[Result] | tuple[Result, ...], title: str) -> Table:
    """Ranked talks: title, speakers, event and why each was picked, then the id to ask for more."""
    table = Table(title=Text(title), box=box.SIMPLE_HEAD, show_header=False, title_justify="left", padding=(0, 1))
    table.add_column("#", justify="right", style="dim")
    table.add_column("Talk", overflow="fold")
    for rank, result in enumerate(results, start=1):
        talk = result.talk
        cell = Text(talk.title, style="bold")
        cell.append("\n" + _speakers(talk), style="default")
        cell.append(f"\n{talk.event.label}", style="dim")
        if result.reasons:
            cell.append(" · " + "; ".join(result.reasons), style="green")
        cell.append(f"\n{talk.slug}\n", style="cyan")
        table.add_row(str(rank), cell)
    return table


def print_search(console: Console, page: SearchPage) -> None:
    """Search results, or what to try instead."""
    if page.corrected:
        fixes = ", ".join(f"{typed} → {used}" for typed, used in page.corrected.items())
        console.print(Text(f"Read as: {fixes}", style="yellow"))
    if not page.results:
        console.print(Text(f"Nothing found for “{page.query}”.", style="bold"))
        if page.suggestions:
            console.print(Text("Try: " + ", ".join(page.suggestions)))
        return
    console.print(results_table(page.results, f"Talks for “{page.query}”" if page.query else "Talks"))


def talk_panel(talk: Talk) -> Panel:
    """One talk in full."""
    body = Text()
    body.append(_speakers(talk) + "\n", style="bold")
    when = talk_dates(talk) or "date not recorded"
    body.append(f"{talk.event.name} · {when} · {talk.kind}\n", style="dim")
    if talk.topics:
        body.append("Topics: " + ", ".join(t.name for t in talk.topics) + "\n", style="green")
    if talk.summary:
        body.append("\n" + talk.summary + "\n")
    if talk.recording_url:
        body.append("\nRecording: " + talk.recording_url, style="cyan")
    if talk.slides_url:
        body.append("\nSlides: " + talk.slides_url, style="cyan")
    return Panel(body, title=Text(talk.title, style="bold"), subtitle=Text(talk.slug), title_align="left", expand=False)


def print_similar(console: Console, talk: Talk, results: list[Result]) -> None:
    """A talk and the ones like it."""
    if not results:
        console.print(Text(f"No other talk is like “{talk.title}” yet."))
        return
    console.print(results_table(results, f"Talks like “{talk.title}”"))


def print_profiles(console: Console, profiles: list[PersonProfile]) -> None:
    """Speaker profiles: organisations over time and talks, newest first."""
    if len(profiles) > 1:
        console.print(Text(f"{len(profiles)} people match; best first.", style="dim"))
    for profile in profiles:
        table = Table(box=box.SIMPLE, show_header=False, expand=False)
        table.add_column("Talk", overflow="fold", max_width=64)
        table.add_column("Event", overflow="fold", max_width=30)
        for talk in profile.talks:
            table.add_row(
                Text(talk.title),
                Text(f"{talk.event.label}{' · ' + str(talk.when.year) if talk.when else ''}"),
            )
        heading = Text(profile.name, style="bold")
        if profile.organizations:
            heading.append("  " + " → ".join(profile.organizations), style="dim")
        talks = "talk" if profile.talk_count == 1 else "talks"
        console.print(
            Panel(
                Group(table),
                title=heading,
                subtitle=Text(f"{profile.talk_count} {talks} · {profile.slug}"),
                expand=False,
                title_align="left",
            )
        )


def print_events(console: Console, events: list[tuple[Event, int]]) -> None:
    """Events, co-located ones indented under their parent; the id (what a member types) is never cut."""
    narrow = console.width < 110  # then each id goes under its event's name instead of in a column
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("Event", overflow="fold")
    table.add_column("Dates", no_wrap=True)
    table.add_column("Where", overflow="fold")
    table.add_column("Talks", justify="right", no_wrap=True)
    if not narrow:
        table.add_column("Id", style="cyan", no_wrap=True)
    for event, count in events:
        indent = "  └ " if event.parent else ""
        name = Text(indent + event.name)
        if narrow:
            name.append("\n" + " " * len(indent) + event.slug, style="cyan")
        cells: list[Text | str] = [name, event_dates(event), Text(event.location or ""), str(count)]
        table.add_row(*cells, *([] if narrow else [Text(event.slug)]))
    console.print(table)


def print_topics(console: Console, topics: list[Count]) -> None:
    """Topics with their number of talks."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("Topic", overflow="fold")
    table.add_column("Talks", justify="right")
    table.add_column("Id", style="cyan")
    for topic in topics:
        indent = "  " * topic.depth + "↳ " if topic.depth else ""
        table.add_row(Text(indent + topic.name), str(topic.talks), Text(topic.slug))
    console.print(table)

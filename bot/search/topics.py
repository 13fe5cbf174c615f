"""Broader and narrower topics among a catalogue's topics, placed by the vocabulary's `[[topics]]` groups.

A catalogue topic is placed where its name means the same as a name in the vocabulary (compared as search
terms: case, accents, plurals and synonyms aside); a topic the vocabulary does not know stays on its own.
A level the catalogue lacks is passed through: with Networking > Service mesh > Linkerd and no "Service
mesh" topic, Linkerd is still under Networking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.search.analysis import Analyzer

Key = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicTree:
    """Each catalogue topic's broader and narrower catalogue topics (by slug)."""

    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)  # nearest broader topics in the catalogue
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)
    each: dict[str, str] = field(default_factory=dict)  # broad topic slug -> "a service mesh"
    # Topics whose names mean the same ("Network", "Networking"): the first stands for all in the tree.
    same: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, analyzer: Analyzer, topics: Iterable[tuple[str, str]]) -> TopicTree:
        """Place the catalogue's (slug, name) topics by the analyzer's vocabulary."""
        groups = analyzer.vocabulary.topics
        if not groups:
            return cls()

        def key(name: str) -> Key:
            return tuple(dict.fromkeys(analyzer.terms(name)))

        up: dict[Key, list[Key]] = {}
        each: dict[Key, str] = {}
        for group in groups:
            broad = key(group.name)
            if group.each:
                each.setdefault(broad, group.each)
            for name in group.narrower:
                up.setdefault(key(name), []).append(broad)
        slugs_of: dict[Key, list[str]] = {}
        for slug, name in topics:
            slugs_of.setdefault(key(name), []).append(slug)

        parents: dict[str, list[str]] = {}
        for own, slugs in slugs_of.items():
            found: list[str] = []
            seen, queue = {own}, list(up.get(own, ()))
            while queue:  # the nearest broader keys the catalogue has; pass through the ones it lacks
                current = queue.pop(0)
                if current in seen:
                    continue
                seen.add(current)
                if current in slugs_of:
                    if slugs_of[current][0] not in found:
                        found.append(slugs_of[current][0])
                else:
                    queue.extend(up.get(current, ()))
            for slug in slugs:
                parents[slug] = [p for p in found if p != slug]
        children: dict[str, list[str]] = {}
        for slug, broader in parents.items():
            for parent in broader:
                children.setdefault(parent, []).append(slug)
        texts = {slug: each[k] for k, slugs in slugs_of.items() if k in each for slug in slugs}
        same = {slug: tuple(slugs) for slugs in slugs_of.values() if len(slugs) > 1 for slug in slugs}
        return cls(
            {s: tuple(p) for s, p in parents.items() if p},
            {s: tuple(sorted(c)) for s, c in children.items()},
            texts,
            same,
        )

    def narrower(self, slug: str) -> list[str]:
        """Every topic under `slug`, nearest first, without `slug` itself."""
        out: list[str] = []
        seen, queue = {slug}, list(self.children.get(slug, ()))
        while queue:
            current = queue.pop(0)
            if current not in seen:
                seen.add(current)
                out.append(current)
                queue.extend(self.children.get(current, ()))
        return out

    def family(self, slug: str) -> list[str]:
        """`slug`, the topics that mean the same, and every topic under them: what a filter on `slug` takes in."""
        out = [slug]
        for alike in self.same.get(slug, (slug,)):
            for found in (alike, *self.narrower(alike)):
                if found not in out:
                    out.append(found)
        return out

    def path(self, narrower: str, broader: str) -> list[str] | None:
        """The topics from `narrower` up to `broader` (both included), or None when it is not under it."""
        queue: list[list[str]] = [[narrower]]
        seen = {narrower}
        while queue:
            trail = queue.pop(0)
            if trail[-1] == broader:
                return trail
            for parent in self.parents.get(trail[-1], ()):
                if parent not in seen:
                    seen.add(parent)
                    queue.append([*trail, parent])
        return None

    def describe(self, narrower: str, broader: str, names: dict[str, str]) -> str:
        """Why a talk filed under `narrower` is there for `broader`: "Linkerd, a service mesh"."""
        name = names.get(narrower, narrower)
        if broader in self.each:
            return f"{name}, {self.each[broader]}"
        return f"{name}, under {names.get(broader, broader)}"

    def roots(self, slugs: Sequence[str]) -> list[str]:
        """The topics of `slugs` with nothing broader, in the order given."""
        return [slug for slug in slugs if slug not in self.parents]

"""Synthetic catalogues of any size with the shape of a real conference programme.

Deterministic: the same size and seed give the same catalogue, byte for byte, on any machine.

Text is drawn from a Zipf-Mandelbrot distribution (p(r) ∝ 1/(r + 10)) over a vocabulary whose head
is the real words of cloud-native programmes (kubernetes, cloud, native, service, mesh, observability,
security, ...) and whose long tail is generated, pronounceable words. With about 45 content words per
talk, the commonest words land in roughly a third of all talks and the top 75 in more than 1 in 16,
as in real KubeCon schedules, which is the hard case for ranked search: the postings of common words
are long. About a third of the running text is stop words, as in real abstracts.

People: about N/2, each with an organisation (one in ten changes employer between talks); 1 to 3
speakers per talk, a few people giving many talks. Topics: 60 real ones, 2 to 4 per talk. Events:
about N/200, each with a date, talks dated within it.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, SpeakerRecord, TalkRecord
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db
from bot.domain.text import slugify


def _listed(text: str) -> list[str]:
    """Words written as a block of text (easier to read and edit than a list literal of 200 strings)."""
    return text.split()


# The head of the vocabulary, commonest first: words a cloud-native programme is made of.
REAL_WORDS = _listed(
    """
kubernetes cloud native service mesh observability security platform data applications production
scale operators containers cluster monitoring open source networking developer storage edge
serverless workloads infrastructure deployment automation performance reliability policy metrics
tracing logging istio linkerd envoy prometheus helm gitops pipelines multicluster api gateway
journey lessons learned building scaling running managing migrating securing debugging testing
microservices architecture control plane runtime controller operator scheduler autoscaling
identity authentication authorization encryption certificates secrets compliance supply chain
sbom signing admission webhooks custom resources crds federation hybrid multicloud stateful
databases streaming kafka messaging events serverless functions knative wasm webassembly ebpf
kernel network latency throughput resilience chaos engineering incidents outages postmortem sre
reliability toil oncall alerting dashboards grafana opentelemetry jaeger traces spans logs
batch machine learning training inference gpu accelerators kubeflow pipelines notebooks
developers experience productivity inner loop tooling ide local clusters kind minikube
community contributors maintainers governance sig release upgrades versioning backward
compatibility deprecation migration legacy monolith modernization enterprise bank retail telco
healthcare startup case study panel keynote tutorial workshop introduction deep dive update
roadmap future state lessons patterns antipatterns best practices pitfalls tradeoffs cost finops
efficiency sustainability carbon green energy rust golang java python javascript typescript
"""
)

STOP_WORDS = _listed(
    """
the a of and to in for with on how we our your from at is are you it this that by as an be can
into why what when using use without more all new its their one two
"""
)

TOPICS = [
    "Kubernetes", "Service mesh", "Observability", "Security", "Networking", "Storage", "Serverless",
    "CI/CD", "GitOps", "Machine learning", "Edge computing", "WebAssembly", "eBPF", "Rust", "Go",
    "Operators", "Custom resources", "Multi-cluster", "Multi-tenancy", "Policy", "Compliance",
    "Supply chain security", "Identity", "mTLS", "Tracing", "Metrics", "Logging", "Chaos engineering",
    "Site reliability engineering", "Incident response", "Performance", "Autoscaling", "Cost",
    "Sustainability", "Developer experience", "Platform engineering", "Community", "Governance",
    "Case study", "Migration", "Databases", "Streaming", "Messaging", "Batch", "GPUs", "Runtimes",
    "Containers", "Virtual machines", "Windows", "Hybrid cloud", "Telco", "Financial services",
    "Healthcare", "Retail", "Education", "Open source", "Release engineering", "Testing", "Debugging",
    "Documentation",
]  # fmt: skip

FIRST_NAMES = _listed(
    """
Ana Lenny William Jason Oliver Ashley Carl Max Christian Sergio Alex Priya Wei Yuki Fatima Lars Sofia
Mateo Aisha Noah Emma Liam Olivia Lucas Mia Ethan Chloe Arjun Divya Kenji Hana Jonas Lea Felix Nora
Omar Layla Tariq Zara Diego Lucia Pablo Elena Marco Giulia Luca Chiara Pierre Camille Hugo Manon Jan
Anna Piotr Kasia Olga Ivan Dmitri Nadia Sven Ingrid Erik Astrid Mikko Aino Sean Siobhan Connor Aoife
Kwame Ama Kofi Chidi Ngozi Thabo Lerato Sipho Mei Jun Hao Xin Min Seo Jisoo Hyun Raj Anil Sunita Vikram
Dana Robin Sam Taylor Jordan Casey Morgan Riley Avery Quinn Jamie Kim Lee Chris Pat Alexis Sasha
René Zoë Björn Jürgen Søren Agnès Inés Joaquín Ramón Márta Łukasz Dvořák Miloš Şebnem Çağla
"""
)

LAST_NAMES = _listed(
    """
Medina Sharpe Morgan Gould Williams Lerche Körbächer Hüning Méndez Jones Patel Zhang Tanaka Hassan
Larsen Rossi Garcia Khan Smith Müller Novak Kowalski Ivanova Petrov Nilsson Virtanen Murphy Kelly
Mensah Okafor Nkosi Wang Li Chen Park Kim Sharma Gupta Singh Reddy Nguyen Tran Silva Santos Costa
Ferreira Dubois Martin Bernard Moreau Schmidt Schneider Fischer Weber Wagner Becker Hoffmann Klein
Wolf Brown Davis Miller Wilson Moore Anderson Thomas Jackson White Harris Clark Lewis Walker Hall
Young Allen King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips
Evans Turner Torres Parker Collins Edwards Stewart Flores Morris Murray Rivera Cooper Richardson Cox
Howard Ward Peterson Gray Ramirez James Watson Brooks Sanders Price Bennett Wood Barnes Ross Henderson
Coleman Jenkins Perry Powell Long Patterson Hughes Washington Butler Simmons Foster Gonzales Bryant
Alexander Russell Griffin Hayes Myers Ford Hamilton Graham Sullivan Wallace West Cole Jordan Reynolds
Ellis Stevens Tucker Porter Hunter Hicks Crawford Henry Boyd Mason Kennedy Warren Dixon Burns Gordon
Shaw Holmes Rice Robertson Hunt Black Daniels Palmer Mills Nichols Grant Knight Ferguson Stone Hawkins
Dunn Perkins Hudson Spencer Gardner Stephens Payne Pierce Berry Matthews Arnold Wagner Willis Ray
Watkins Olson Carroll Duncan Snyder Hart Cunningham Bradley Lane Andrews Ruiz Harper Fox Riley
Armstrong Carpenter Weaver Greene Lawrence Elliott Chavez Sims Austin Peters Kelley Franklin Lawson
"""
)

REAL_ORGANISATIONS = _listed(
    """
Buoyant Google Microsoft Amazon Red_Hat VMware IBM Apple Netflix Spotify Shopify Datadog Grafana_Labs
Isovalent Tetrate Solo.io HashiCorp Docker Mirantis SUSE Canonical Intel Nvidia Cisco Ericsson Nokia
Liquid_Reply Civo Finleap_Connect Adobe Salesforce Uber Lyft Airbnb Twitter Pinterest Zalando Booking
"""
)
REAL_ORGANISATIONS = [name.replace("_", " ") for name in REAL_ORGANISATIONS]

SERIES = ["KubeCon", "Cloud Native Days", "DevOpsDays", "Container Summit", "Mesh Day", "SRE Summit",
          "Platform Con", "Observability Day", "Open Source Summit", "Rust Day"]  # fmt: skip
CITIES = ["Amsterdam", "Barcelona", "Berlin", "Boston", "Chicago", "Detroit", "Lisbon", "London", "Paris",
          "Salt Lake City", "San Diego", "Seattle", "Shanghai", "Tokyo", "Valencia", "Virtual"]  # fmt: skip
TRACKS = ["Keynote", "Operations", "Security", "Observability", "Networking", "Storage",
          "Application development", "Case studies", "Maintainer track", "Lightning talks"]  # fmt: skip

_ONSETS = ["b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
           "br", "cr", "dr", "gr", "kr", "pl", "st", "tr", "qu", "sh", "th"]  # fmt: skip
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
_CODAS = ["", "", "n", "r", "s", "l", "x", "t", "nd", "rk", "st"]

TAIL_WORDS = 40_000
MANDELBROT_Q = 10.0
STOP_SHARE = 0.33


@dataclass(frozen=True, slots=True)
class Synthetic:
    """A generated catalogue and what a query mix needs to know about it."""

    document: CatalogueDocument
    vocabulary: list[str]  # content words, commonest first
    probabilities: np.ndarray  # their sampling probabilities
    people: list[str]  # every speaker's name
    organisations: list[str]

    @property
    def size(self) -> int:
        """The number of talks."""
        return len(self.document.talks)


def _generated_words(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    seen = set(taken)
    while len(out) < count:
        parts = int(rng.integers(2, 4))
        word = (
            "".join(
                _ONSETS[int(rng.integers(len(_ONSETS)))] + _VOWELS[int(rng.integers(len(_VOWELS)))]
                for _ in range(parts)
            )
            + _CODAS[int(rng.integers(len(_CODAS)))]
        )
        if 4 <= len(word) <= 12 and word not in seen:
            seen.add(word)
            out.append(word)
    return out


def _people(rng: np.random.Generator, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    extra_last: list[str] = []
    while len(names) < count:
        first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
        pool = LAST_NAMES + extra_last
        last = pool[int(rng.integers(len(pool)))]
        name = f"{first} {last}"
        if name in seen:
            if len(seen) > 0.6 * len(FIRST_NAMES) * len(pool):  # the pool is running dry: widen it
                extra_last.extend(w.capitalize() for w in _generated_words(rng, 200, set(extra_last)))
            continue
        seen.add(name)
        names.append(name)
    return names


def generate(size: int, seed: int = 2019) -> Synthetic:
    """A catalogue of `size` talks (see the module docstring)."""
    rng = np.random.default_rng(seed)
    real = list(dict.fromkeys(REAL_WORDS))
    tail = _generated_words(rng, TAIL_WORDS, set(real) | set(STOP_WORDS))
    vocabulary = real + tail
    ranks = np.arange(1, len(vocabulary) + 1, dtype=np.float64)
    probabilities = 1.0 / (ranks + MANDELBROT_Q)
    probabilities /= probabilities.sum()

    people = _people(rng, max(2, size // 2))
    organisations = list(REAL_ORGANISATIONS)
    organisations += [
        f"{w.capitalize()} {['Labs', 'Systems', 'Cloud', 'Software', 'Bank', 'Health'][i % 6]}"
        for i, w in enumerate(_generated_words(rng, max(0, size // 100 - len(organisations)), set(vocabulary)))
    ]
    employer = rng.integers(len(organisations), size=len(people))
    # A few people give many talks (Zipf-like: about 150 for the busiest at 100,000 talks), most one or two.
    speaker_weights = 1.0 / (np.arange(1, len(people) + 1) + 200.0)
    speaker_weights /= speaker_weights.sum()

    events: list[EventRecord] = []
    event_count = max(1, size // 200)
    for e in range(event_count):
        series = SERIES[e % len(SERIES)]
        city = CITIES[int(rng.integers(len(CITIES)))]
        year = 2015 + e % 10
        start = date(year, 1, 1) + timedelta(days=int(rng.integers(330)))
        name = f"{series} {city} {year}"
        events.append(
            EventRecord(
                slug=f"{slugify(name)}-{e}",
                name=name,
                short_name=f"{series} {year}" if e % 3 == 0 else None,
                start_date=start,
                end_date=start + timedelta(days=2),
                location=city,
            )
        )
    topic_slugs = {slugify(t): t for t in TOPICS}
    topic_list = list(topic_slugs)
    topic_weights = 1.0 / (np.arange(1, len(topic_list) + 1) + 5.0)
    topic_weights /= topic_weights.sum()

    title_lengths = rng.integers(6, 11, size=size)
    summary_lengths = rng.integers(40, 81, size=size)
    total = int(title_lengths.sum() + summary_lengths.sum())
    content = rng.choice(len(vocabulary), size=total, p=probabilities)
    stops = rng.integers(len(STOP_WORDS), size=total)
    is_stop = rng.random(total) < STOP_SHARE
    tokens = [STOP_WORDS[s] if stop else vocabulary[c] for c, s, stop in zip(
        content.tolist(), stops.tolist(), is_stop.tolist(), strict=True)]  # fmt: skip
    speaker_counts = rng.choice([1, 1, 1, 2, 2, 3], size=size)
    speaker_draws = rng.choice(len(people), size=(size, 3), p=speaker_weights)
    topic_counts = rng.integers(2, 5, size=size)
    topic_draws = rng.choice(len(topic_list), size=(size, 4), p=topic_weights)
    moves = rng.random((size, 3)) < 0.1
    other_org = rng.integers(len(organisations), size=(size, 3))
    event_of = rng.integers(event_count, size=size)
    day_of = rng.integers(3, size=size)
    track_of = rng.integers(len(TRACKS), size=size)

    talks: list[TalkRecord] = []
    at = 0
    for i in range(size):
        n_title, n_summary = int(title_lengths[i]), int(summary_lengths[i])
        title_words = tokens[at : at + n_title]
        summary_words = tokens[at + n_title : at + n_title + n_summary]
        at += n_title + n_summary
        title_words[0] = title_words[0].capitalize()
        title = " ".join(w if w in STOP_WORDS else w.capitalize() for w in title_words)
        summary = " ".join(summary_words).capitalize() + "."
        speakers = []
        for p in dict.fromkeys(speaker_draws[i, : speaker_counts[i]].tolist()):
            org = organisations[int(other_org[i, len(speakers)] if moves[i, len(speakers)] else employer[p])]
            speakers.append(SpeakerRecord(name=people[p], organization=org))
        event = events[int(event_of[i])]
        assert event.start_date is not None  # noqa: S101 - every synthetic event has a date
        talks.append(
            TalkRecord(
                slug=f"t{i:06d}-{slugify(' '.join(title_words[:4]), max_length=40)}",
                title=title,
                event=event.slug,
                summary=summary,
                date=(event.start_date + timedelta(days=int(day_of[i]))).isoformat(),
                track=TRACKS[int(track_of[i])],
                speakers=tuple(speakers),
                topics=tuple(dict.fromkeys(topic_list[t] for t in topic_draws[i, : topic_counts[i]].tolist())),
            )
        )
    document = CatalogueDocument(source="synthetic", events=events, talks=talks, topics=topic_slugs)
    return Synthetic(document, vocabulary, probabilities, people, organisations)


def import_into(path: Path, synthetic: Synthetic) -> float:
    """Import the catalogue into a new database at `path` through the real importer; seconds taken."""
    with sync_db(path) as conn:
        started = time.perf_counter()
        apply_document(conn, synthetic.document)
        elapsed = time.perf_counter() - started
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return elapsed


def document_frequencies(conn: sqlite3.Connection, words: list[str]) -> dict[str, float]:
    """The share of talks whose title or summary contains each word (a sanity check of the shape)."""
    total = conn.execute("SELECT COUNT(*) FROM talks").fetchone()[0] or 1
    out = {}
    for word in words:
        pattern = f"% {word} %"
        found = conn.execute(
            "SELECT COUNT(*) FROM talks WHERE ' ' || lower(title) || ' ' || lower(summary) || ' ' LIKE ?",
            (pattern,),
        ).fetchone()[0]
        out[word] = found / total
    return out

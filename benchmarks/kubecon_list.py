"""The community list of KubeCon + CloudNativeCon North America 2019 talks, converted to the bundled format.

Source: ../shared/datasets/kubecon-na-2019-talks/talks.json beside the checkout (one object per row of the
original README, from github.com/arghya88/kubecon-NA-2019, Apache-2.0;
`raw_topic` is the verbatim cell). This module re-reads titles and speakers from `raw_topic`, because
the derived split in talks.json mistakes organisations for people ("Name, Org & Name, Org"), then:

- sections ServiceMeshCon, EnvoyCon and Observability Summit become co-located events under KubeCon
  NA 2019; every other section becomes the talk's track (and its topic, through SECTION_TOPICS);
- kinds come from the section and the title's label (Keynote, Lightning Talk, Tutorial, Panel);
- topics come from the section and from words of the title (TITLE_TOPICS, a keyword table);
- ids are the event id and the slug of the title (a repeated title gets a number); the YouTube
  video id is the source id.

The evaluation, the real-data tests and the benchmarks convert it when they need it (`document()`); to
look at the result in the bundled format, or import it into a bot:

    python -m benchmarks.kubecon_list ../shared/datasets/kubecon-na-2019-talks/talks.json kubecon-na-2019.toml
"""

from __future__ import annotations

import functools
import re
import sys
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from benchmarks.realdata import KUBECON_JSON
from bot.catalogue.formats.document import CatalogueDocument, EventRecord, SpeakerRecord, TalkRecord
from bot.catalogue.formats.fields import Record, distinct_speakers, http_url, load_json, speaker
from bot.catalogue.native import dump_native
from bot.domain.text import TALK_ID_MAX, fit_id, fold, slugify, words
from bot.errors import CatalogueFormatError

PARENT = EventRecord(
    slug="kubecon-na-2019",
    name="KubeCon + CloudNativeCon North America 2019",
    short_name="KubeCon NA 2019",
    start_date=date(2019, 11, 18),
    end_date=date(2019, 11, 21),
    location="San Diego",
)
# Co-located events: their exact days are not in the source, so they are left out rather than guessed.
CHILD_EVENTS = {
    "ServiceMeshCon": EventRecord(
        slug="servicemeshcon-na-2019",
        name="ServiceMeshCon North America 2019",
        short_name="ServiceMeshCon 2019",
        location="San Diego",
        parent=PARENT.slug,
    ),
    "EnvoyCon": EventRecord(
        slug="envoycon-2019",
        name="EnvoyCon 2019",
        short_name="EnvoyCon 2019",
        location="San Diego",
        parent=PARENT.slug,
    ),
    "Observability Summit": EventRecord(
        slug="observability-summit-na-2019",
        name="Observability Practitioners Summit North America 2019",
        short_name="Observability Summit 2019",
        location="San Diego",
        parent=PARENT.slug,
    ),
}
# Section -> (track shown with the talk or None, kind, topics). Sections that are events keep no track.
SECTIONS: dict[str, tuple[str | None, str, tuple[str, ...]]] = {
    "Keynote": ("Keynote", "keynote", ()),
    "Tutorial": ("Tutorial", "tutorial", ()),
    "Lightning Talks": ("Lightning Talks", "lightning", ()),
    "Introduction Sessions for various topics": ("Project Intros", "talk", ("project-intro",)),
    "Deep Dive Sessions": ("Project Deep Dives", "talk", ("project-deep-dive",)),
    "Unsorted": (None, "talk", ()),
    "Case Studies": ("Case Studies", "talk", ("case-study",)),
    "Operations": ("Operations", "talk", ("operations",)),
    "Machine Learning + Data": ("Machine Learning + Data", "talk", ("machine-learning", "data")),
    "Application + Development": ("Application + Development", "talk", ("application-development",)),
    "Customizing + Extending Kubernetes": (
        "Customizing + Extending Kubernetes",
        "talk",
        ("extending-kubernetes",),
    ),
    "Security + Identity + Policy": ("Security + Identity + Policy", "talk", ("security", "identity", "policy")),
    "Service Mesh": ("Service Mesh", "talk", ("service-mesh",)),
    "Observability": ("Observability", "talk", ("observability",)),
    "Networking": ("Networking", "talk", ("networking",)),
    "CI/CD": ("CI/CD", "talk", ("ci-cd",)),
    "Storage": ("Storage", "talk", ("storage",)),
    "Performance": ("Performance", "talk", ("performance",)),
    "Serverless": ("Serverless", "talk", ("serverless",)),
    "Runtimes": ("Runtimes", "talk", ("container-runtimes",)),
    "ServiceMeshCon": (None, "talk", ("service-mesh",)),
    "EnvoyCon": (None, "talk", ("envoy", "service-mesh")),
    "Observability Summit": (None, "talk", ("observability",)),
}
# Topic names; those the bundled catalogue also declares are spelt the same, so both files agree.
TOPICS = {
    "application-development": "Application development",
    "autoscaling": "Autoscaling",
    "case-study": "Case study",
    "chaos-engineering": "Chaos engineering",
    "ci-cd": "CI/CD",
    "cluster-lifecycle": "Cluster lifecycle",
    "community": "Community",
    "container-runtimes": "Container runtimes",
    "data": "Data",
    "databases": "Databases",
    "debugging": "Debugging",
    "developer-experience": "Developer experience",
    "edge": "Edge computing",
    "envoy": "Envoy",
    "etcd": "etcd",
    "extending-kubernetes": "Extending Kubernetes",
    "gitops": "GitOps",
    "grpc": "gRPC",
    "helm": "Helm",
    "identity": "Identity",
    "istio": "Istio",
    "linkerd": "Linkerd",
    "logging": "Logging",
    "machine-learning": "Machine learning",
    "messaging": "Messaging",
    "metrics": "Metrics",
    "migration": "Migration",
    "mtls": "mTLS",
    "multi-cluster": "Multi-cluster",
    "multi-tenancy": "Multi-tenancy",
    "networking": "Networking",
    "observability": "Observability",
    "operations": "Operations",
    "operators": "Operators",
    "performance": "Performance",
    "policy": "Policy",
    "project-deep-dive": "Project deep dive",
    "project-intro": "Project intro",
    "prometheus": "Prometheus",
    "resilience": "Resilience",
    "scheduling": "Scheduling",
    "security": "Security",
    "serverless": "Serverless",
    "service-mesh": "Service mesh",
    "storage": "Storage",
    "tracing": "Tracing",
    "webassembly": "WebAssembly",
    "windows": "Windows containers",
}
# Title keyword (folded words; several words must appear in that order) -> topics.
TITLE_TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("linkerd", ("linkerd", "service-mesh")),
    ("istio", ("istio", "service-mesh")),
    ("envoy", ("envoy",)),
    ("service mesh", ("service-mesh",)),
    ("smi", ("service-mesh",)),
    ("mtls", ("mtls", "security")),
    ("tls", ("security",)),
    ("prometheus", ("prometheus", "metrics", "observability")),
    ("cortex", ("prometheus", "metrics")),
    ("thanos", ("prometheus", "metrics")),
    ("metrics", ("metrics", "observability")),
    ("cardinality", ("metrics",)),
    ("monitoring", ("observability",)),
    ("observability", ("observability",)),
    ("observing", ("observability",)),
    ("opentelemetry", ("tracing", "observability")),
    ("opentracing", ("tracing", "observability")),
    ("telemetry", ("observability",)),
    ("tracing", ("tracing", "observability")),
    ("traces", ("tracing", "observability")),
    ("jaeger", ("tracing", "observability")),
    ("logging", ("logging", "observability")),
    ("logs", ("logging", "observability")),
    ("fluentd", ("logging", "observability")),
    ("fluent bit", ("logging", "observability")),
    ("chaos", ("chaos-engineering", "resilience")),
    ("resilience", ("resilience",)),
    ("resilient", ("resilience",)),
    ("security", ("security",)),
    ("secure", ("security",)),
    ("securing", ("security",)),
    ("attack", ("security",)),
    ("attacking", ("security",)),
    ("attacker", ("security",)),
    ("vulnerabilities", ("security",)),
    ("falco", ("security",)),
    ("tuf", ("security",)),
    ("notary", ("security",)),
    ("spiffe", ("identity", "security")),
    ("spire", ("identity", "security")),
    ("identity", ("identity",)),
    ("authentication", ("identity", "security")),
    ("auth", ("identity", "security")),
    ("rbac", ("policy", "security")),
    ("opa", ("policy",)),
    ("gatekeeper", ("policy",)),
    ("policy", ("policy",)),
    ("policies", ("policy",)),
    ("multi cluster", ("multi-cluster",)),
    ("multicluster", ("multi-cluster",)),
    ("federation", ("multi-cluster",)),
    ("multi tenancy", ("multi-tenancy",)),
    ("multitenancy", ("multi-tenancy",)),
    ("multi tenant", ("multi-tenancy",)),
    ("operator", ("operators", "extending-kubernetes")),
    ("operators", ("operators", "extending-kubernetes")),
    ("crd", ("extending-kubernetes",)),
    ("crds", ("extending-kubernetes",)),
    ("controller", ("extending-kubernetes",)),
    ("controllers", ("extending-kubernetes",)),
    ("kubebuilder", ("operators", "extending-kubernetes")),
    ("gitops", ("gitops", "ci-cd")),
    ("flux", ("gitops", "ci-cd")),
    ("argo", ("gitops", "ci-cd")),
    ("tekton", ("ci-cd",)),
    ("jenkins", ("ci-cd",)),
    ("spinnaker", ("ci-cd",)),
    ("pipelines", ("ci-cd",)),
    ("continuous delivery", ("ci-cd",)),
    ("helm", ("helm",)),
    ("kubeflow", ("machine-learning",)),
    ("machine learning", ("machine-learning",)),
    ("ml", ("machine-learning",)),
    ("ai", ("machine-learning",)),
    ("gpu", ("machine-learning",)),
    ("serverless", ("serverless",)),
    ("knative", ("serverless",)),
    ("openfaas", ("serverless",)),
    ("functions", ("serverless",)),
    ("cloudevents", ("serverless", "messaging")),
    ("nats", ("messaging",)),
    ("kafka", ("messaging", "data")),
    ("storage", ("storage",)),
    ("csi", ("storage",)),
    ("volumes", ("storage",)),
    ("rook", ("storage",)),
    ("ceph", ("storage",)),
    ("openebs", ("storage",)),
    ("database", ("databases",)),
    ("databases", ("databases",)),
    ("vitess", ("databases",)),
    ("tikv", ("databases",)),
    ("etcd", ("etcd",)),
    ("dns", ("networking",)),
    ("coredns", ("networking",)),
    ("cni", ("networking",)),
    ("network", ("networking",)),
    ("networking", ("networking",)),
    ("networks", ("networking",)),
    ("ingress", ("networking",)),
    ("load balancing", ("networking",)),
    ("ebpf", ("networking",)),
    ("grpc", ("grpc",)),
    ("edge", ("edge",)),
    ("iot", ("edge",)),
    ("windows", ("windows",)),
    ("containerd", ("container-runtimes",)),
    ("cri o", ("container-runtimes",)),
    ("runtime", ("container-runtimes",)),
    ("runtimes", ("container-runtimes",)),
    ("kata", ("container-runtimes", "security")),
    ("gvisor", ("container-runtimes", "security")),
    ("firecracker", ("container-runtimes",)),
    ("webassembly", ("webassembly",)),
    ("wasm", ("webassembly",)),
    ("autoscaling", ("autoscaling",)),
    ("autoscaler", ("autoscaling",)),
    ("scaling", ("performance",)),
    ("scalability", ("performance",)),
    ("performance", ("performance",)),
    ("benchmarks", ("performance",)),
    ("microbenchmarks", ("performance",)),
    ("latency", ("performance",)),
    ("scheduler", ("scheduling",)),
    ("scheduling", ("scheduling",)),
    ("kubeadm", ("cluster-lifecycle",)),
    ("cluster api", ("cluster-lifecycle",)),
    ("cluster lifecycle", ("cluster-lifecycle",)),
    ("upgrades", ("cluster-lifecycle", "operations")),
    ("debug", ("debugging",)),
    ("debugging", ("debugging",)),
    ("kubectl", ("developer-experience",)),
    ("developer", ("developer-experience",)),
    ("developers", ("developer-experience",)),
    ("migration", ("migration",)),
    ("migrating", ("migration",)),
    ("community", ("community",)),
    ("contributor", ("community",)),
    ("contributors", ("community",)),
    ("contributions", ("community",)),
    ("mentoring", ("community",)),
    ("inclusive", ("community",)),
    ("diversity", ("community",)),
    ("sig", ("community",)),
    ("birds of a feather", ("community",)),
    ("bof", ("community",)),
    ("working group", ("community",)),
    ("user group", ("community",)),
    ("toc", ("community",)),
    ("steering committee", ("community",)),
    ("release team", ("community",)),
    ("maintainer", ("community",)),
    ("maintainers", ("community",)),
    ("speaking", ("community",)),
    ("mental health", ("community",)),
    ("release engineering", ("ci-cd",)),
    ("minikube", ("developer-experience",)),
    ("confidential computing", ("security",)),
    ("virtualization", ("container-runtimes",)),
)
_LABEL_KINDS = {"keynote": "keynote", "sponsored keynote": "keynote", "lightning talk": "lightning",
                "tutorial": "tutorial", "panel": "panel", "workshop": "workshop"}  # fmt: skip
# Rows the list itself garbles, fixed before splitting.
CORRECTIONS = {"Haibing Zhou & Ben, Ye,": "Haibing Zhou & Ben Ye"}
# One spelling per organisation: the writer tells people of the same name apart by organisation, so
# "Cheryl Hung, CNCF" and "Cheryl Hung, Cloud Native Computing Foundation" must agree to stay one person.
ORGANIZATION_NAMES = {
    "Cloud Native Computing Foundation": "CNCF",
    "Microsoft Azure": "Microsoft",
    "VMWare": "VMware",
    "Red Hat, Inc.": "Red Hat",
    "Google Cloud": "Google",
    "Uber Technologies": "Uber",
    "OpenFaaS, LTD": "OpenFaaS Ltd",
    "Linux": "The Linux Foundation",
    "AWS": "Amazon",
    "Cilium / Isovalent": "Isovalent",
}
_ROLE_WORDS = {
    "chair", "co-chair", "ceo", "cto", "coo", "founder", "director", "engineer", "advocate", "manager",
    "principal", "vp", "president", "architect", "lead", "head", "developer", "staff", "senior",
}  # fmt: skip
# Parts after a comma that finish a name or an organisation rather than start a new one.
_SUFFIXES = {"jr.", "jr", "sr.", "inc.", "inc", "ltd", "ltd.", "llc", "b.v."}


def convert(data: bytes | str, filename: str = "talks.json") -> CatalogueDocument:
    """The KubeCon NA 2019 list as a catalogue document (see the module docstring)."""
    root = load_json(data, filename)
    if not isinstance(root, dict) or not isinstance(root.get("talks"), list):
        raise CatalogueFormatError(f"{filename}: not the KubeCon list: no 'talks' list at the top")
    document = CatalogueDocument(source="kubecon-list", events=[PARENT, *CHILD_EVENTS.values()])
    organizations = organizations_in(
        [str(item.get("raw_topic", "")) for item in root["talks"] if isinstance(item, dict)]
    )
    slugs: set[str] = set()
    for position, item in enumerate(root["talks"], start=1):
        if not isinstance(item, dict):
            raise CatalogueFormatError(f"{filename}: talk #{position}: must be an object")
        record = Record(filename, f"talk #{position} (id {str(item.get('id'))[:40]!r})", item)
        section = record.line("section", required=True) or ""
        if section not in SECTIONS:
            raise record.fail("section", f"is not a known section ({section!r}); add it to SECTIONS")
        track, kind, section_topics = SECTIONS[section]
        event = CHILD_EVENTS[section].slug if section in CHILD_EVENTS else PARENT.slug
        title, speakers = split_topic(record.line("raw_topic", required=True, limit=1000) or "", organizations)
        kind = _label_kind(title) or kind
        recording = http_url(record.raw("youtube_url", limit=2000))
        base = f"{event}-{slugify(_unlabelled(title), max_length=60) or 'talk'}"
        slug = _unique(fit_id(base, TALK_ID_MAX - 4), slugs)  # room for a "-2" suffix
        topics = list(section_topics) + title_topics(title)
        document.talks.append(
            TalkRecord(
                slug=slug,
                title=title,
                event=event,
                kind=kind,
                track=track,
                recording_url=recording,
                slides_url=http_url(record.raw("slides_url", limit=2000)),
                speakers=speakers,
                topics=tuple(dict.fromkeys(topics)),
                source_id=_video_id(recording) or record.line("id"),
            )
        )
    used = {topic for talk in document.talks for topic in talk.topics}
    document.topics = {slug: TOPICS[slug] for slug in sorted(used)}
    return document


def split_topic(raw: str, organizations: frozenset[str] = frozenset()) -> tuple[str, tuple[SpeakerRecord, ...]]:
    """A row's title and speakers, from Sched's "Title - Name, Org & Name, Org" (or "Title... Names")."""
    raw = " ".join(raw.split())
    for wrong, right in CORRECTIONS.items():
        raw = raw.replace(wrong, right)
    if raw.endswith(" -"):
        return raw[:-2].strip(), ()
    dash, dots = raw.rfind(" - "), raw.rfind("... ")
    if dash < 0 and dots < 0 and raw.rfind("- ") > 0:  # "…for Practitioners- Kam Kasravi & Kunming Qu"
        title, people = raw[: raw.rfind("- ")], raw[raw.rfind("- ") + 2 :]
    elif dots > dash:  # a title cut short on YouTube runs straight into the names
        title, people = raw[: dots + 3], raw[dots + 4 :]
    elif dash >= 0:
        title, people = raw[:dash], raw[dash + 3 :]
    else:
        return raw, ()
    credits = parse_people(people, organizations)
    if not credits:
        return raw, ()
    return title.strip(), credits


def _groups(text: str) -> list[str]:
    return [group.strip(" ,") for group in re.split(r"\s*(?:;|&)\s*", text) if group.strip(" ,")]


def organizations_in(raw_topics: list[str]) -> frozenset[str]:
    """Organisations the list names unambiguously: after the comma of the last person in a row."""
    found = set()
    for raw in raw_topics:
        _, _, people = " ".join(raw.split()).rpartition(" - ")
        groups = _groups(people)
        if groups:
            parts = _merge_suffixes([part.strip() for part in groups[-1].split(",") if part.strip()])
            if len(parts) == 2:
                found.add(fold(parts[1]))
    return frozenset(found)


def parse_people(text: str, known: frozenset[str] = frozenset()) -> tuple[SpeakerRecord, ...]:
    """Speakers from "A, Org & B, Org", "A & B, Org", "A, B & C", "A, Role, Org" and "A; B; & C".

    `known` organisations (see `organizations_in`) settle "A, Vulk Coop & B": Vulk Coop is no person.
    """
    groups = _groups(text)
    credits: list[tuple[str, str | None]] = []
    for number, group in enumerate(groups, start=1):
        parts = _merge_suffixes([part.strip() for part in group.split(",") if part.strip()])
        names, employers = parts[0::2], parts[1::2]
        if len(parts) == 1:
            credits.append((parts[0], None))
        elif (
            len(parts) >= 4
            and len(parts) % 2 == 0
            and all(_looks_like_name(name) for name in names)
            and not any(_looks_like_name(org) for org in employers)
        ):
            credits.extend(zip(names, employers, strict=True))  # "A, Org, B, Org"
        elif len(parts) == 2 and number < len(groups) and _looks_like_name(parts[1]) and fold(parts[1]) not in known:
            credits.extend((part, None) for part in parts)  # "A, B & C": a list of people
        elif len(parts) >= 3 and all(_looks_like_name(part) for part in parts[1:]):
            credits.extend((part, None) for part in parts)
        else:
            credits.append((parts[0], None if _is_role(parts[-1]) else parts[-1]))  # "A, Role, Org"
    # "A & B, Org": Sched names a shared organisation once, after the last of the people who share it.
    for index in range(len(credits) - 2, -1, -1):
        name, organization = credits[index]
        if organization is None and credits[index + 1][1] is not None:
            credits[index] = (name, credits[index + 1][1])
    return distinct_speakers(
        speaker(_clean_name(name), ORGANIZATION_NAMES.get(organization or "", organization))
        for name, organization in credits
    )


def _merge_suffixes(parts: list[str]) -> list[str]:
    merged: list[str] = []
    for part in parts:
        if merged and (part.lower() in _SUFFIXES or fold(part) in _SUFFIXES):
            merged[-1] = f"{merged[-1]}, {part}"
        else:
            merged.append(part)
    return merged


# Organisations that read like two-word names; without them "Ana Calin, Paybase" and "Doug Smith, Red
# Hat" would be taken for lists of people.
KNOWN_ORGANIZATIONS = {
    "red hat", "grafana labs", "samsung sds", "microsoft azure", "palo alto networks", "uber technologies",
    "blood orange", "growth coaching institute", "cloud native computing foundation", "we-amp b.v.",
    "frame.io", "linux foundation", "hashicorp", "solo.io", "google cloud",
}  # fmt: skip


def _is_known_org(text: str) -> bool:
    return fold(text) in KNOWN_ORGANIZATIONS


def _is_role(text: str) -> bool:
    return bool(set(words(text)) & _ROLE_WORDS) or "co-chair" in fold(text)


def _looks_like_name(text: str) -> bool:
    """Two to four words, each capitalised or a particle (van, de, der), none an organisation's mark."""
    parts = text.split()
    if not 2 <= len(parts) <= 4 or _is_known_org(text) or _is_role(text):
        return False
    particles = {"van", "de", "der", "von", "da", "del", "la", "le"}
    return (
        all(part[:1].isupper() or part in particles for part in parts)
        and not any(len(part) >= 3 and part.isupper() for part in parts)  # CNCF, IBM: acronyms, not names
        and not any(
            mark in text
            for mark in (".io", "Labs", "Inc", "Technologies", "Systems", "Networks", "Cloud", "Foundation")
        )
    )


def _clean_name(name: str) -> str:
    """A name without handles and trailing titles: "Chris Anizczyk (@cra) CTO/COO" -> "Chris Anizczyk"."""
    name = re.sub(r"\s*\(@[^)]*\).*$", "", name)
    aka = re.search(r"\(aka ([^)]*)\)", name)
    if aka:
        return aka.group(1).strip()
    return name.strip(" ,")


def _label_kind(title: str) -> str | None:
    """The kind a title's opening words name: "Keynote: …", "Lightning Talk - …", "Workshop on …"."""
    first = words(title)[:2]
    for size in (2, 1):
        kind = _LABEL_KINDS.get(" ".join(first[:size]))
        if kind:
            return kind
    return None


def _unlabelled(title: str) -> str:
    label, colon, rest = title.partition(":")
    return rest if colon and fold(label) in _LABEL_KINDS else title


def _unique(slug: str, taken: set[str]) -> str:
    candidate, number = slug, 1
    while candidate in taken:
        number += 1
        candidate = f"{slug}-{number}"
    taken.add(candidate)
    return candidate


def _video_id(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc.endswith("youtu.be"):
        return parts.path.strip("/") or None
    values = parse_qs(parts.query).get("v")
    return values[0] if values else None


def title_topics(title: str) -> list[str]:
    """Topics a title's words point to, by the TITLE_TOPICS table."""
    found = " " + " ".join(words(title.replace("-", " "))) + " "
    topics: list[str] = []
    for phrase, slugs in TITLE_TOPICS:
        if f" {phrase} " in found:
            topics.extend(slugs)
    return list(dict.fromkeys(topics))


HEADER = (
    "# KubeCon + CloudNativeCon North America 2019 (San Diego) and its co-located ServiceMeshCon, EnvoyCon\n"
    "# and Observability Summit: 373 talks, with recordings and slides where the list has them, from the list at\n"
    "# github.com/arghya88/kubecon-NA-2019 (Apache-2.0).\n"
    "# Generated by benchmarks/kubecon_list.py; regenerate rather than edit by hand.\n"
    "# The format is described at the top of bot/data/catalogue.toml.\n\n"
)


@functools.cache
def document() -> CatalogueDocument:
    """The converted list, from the real data beside the checkout (see `benchmarks.realdata`)."""
    return convert(KUBECON_JSON.read_bytes(), str(KUBECON_JSON))


def render(document: CatalogueDocument) -> str:
    """The document in the bundled format, with this file's own header."""
    lines = dump_native(document).splitlines(keepends=True)
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)  # dump_native's own header, replaced by this file's
    return HEADER + "".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Convert talks.json (first argument) into a bundled-format file (second argument)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m benchmarks.kubecon_list TALKS_JSON OUTPUT_TOML\n")
        return 2
    source, target = Path(args[0]), Path(args[1])
    document = convert(source.read_bytes(), str(source))
    target.write_text(render(document), encoding="utf-8")
    sys.stdout.write(f"{target}: {len(document.talks)} talks, {len(document.events)} events\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the real data lives: a `shared/` folder beside the checkout, which a user's clone does not have.

The program never reads it. Real-data tests (marked `realdata`) and the benchmarks that need real
programmes find it here and, where it is absent, are skipped or left out with one line saying so.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TALK_HIGHLIGHTS_SHARED") or ROOT.parent / "shared")
DATASETS = SHARED / "datasets"
DISCORD_API_SPEC = SHARED / "discord-api-spec" / "openapi.json"
KUBECON_JSON = DATASETS / "kubecon-na-2019-talks" / "talks.json"
FOSDEM_2026_XML = DATASETS / "fosdem-2026-xml" / "schedule.xml"
CCC_38C3_XML = DATASETS / "38c3-hub-xml" / "schedule-38c3-20251206.xml"
ABSENT = f"needs the real data in {SHARED} (not part of a clone)"


def present() -> bool:
    """Whether the real data is beside the checkout."""
    return DATASETS.is_dir()


def use_discord_spec() -> bool:
    """Point `$DISCORD_API_SPEC` at the real description when it is not set and the file is here."""
    if not os.environ.get("DISCORD_API_SPEC") and DISCORD_API_SPEC.is_file():
        os.environ["DISCORD_API_SPEC"] = str(DISCORD_API_SPEC)
    return bool(os.environ.get("DISCORD_API_SPEC"))

"""Helpers shared by the benchmark scripts that write a JSON record (not a benchmark)."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path


def seed_list(text: str) -> list[int]:
    """``"0-4"`` or ``"1,2,5"`` -> list of seeds."""
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",")]


def machine() -> dict:
    """The machine a record was measured on."""
    from analysis_lib import __version__

    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "analysis_lib": __version__,
    }


def write_record(path: Path, record: dict) -> None:
    """Write ``record`` atomically (a run cut short keeps the last complete record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)

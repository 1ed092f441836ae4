"""List every dataset, its subjects, space and whether it is available on this machine.

Simulated phantoms are always available (generated locally). Real datasets are found in
the extra data roots (ANALYSIS_LIB_EXTRA_DATA) or the data home: alice under
``alice/``, Narratives under ``narratives/`` (or ``ds002345/``), HCP movie runs under
``hcp-movie/``; loaders also take ``root=`` for data kept elsewhere.
"""

from __future__ import annotations

import argparse
import json

NAME = "datasets"
HELP = "list datasets, their subjects, space and availability on this machine"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _subjects_text(subjects: list[str], limit: int = 8) -> str:
    if not subjects:
        return "-"
    shown = ", ".join(subjects[:limit])
    more = f" ... (+{len(subjects) - limit})" if len(subjects) > limit else ""
    return f"{len(subjects)}: {shown}{more}"


def run(args: argparse.Namespace) -> int:
    from ..datasets import describe

    rows = describe()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        status = "available" if row["available"] else "not available"
        print(f"{row['name']:<20} {row['space']:<20} {status}")
        print(f"    {row['description']}")
        print(f"    subjects {_subjects_text(row['subjects'])}")
        for note in row.get("notes", []):
            print(f"    note: {note}")
    return 0

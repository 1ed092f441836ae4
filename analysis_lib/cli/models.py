"""List the registered models: family, kind, neuron sites with their neuron counts, and
whether the weights are available offline on this machine."""

from __future__ import annotations

import argparse
import json

NAME = "models"
HELP = "list registered models, their neuron sites and offline availability"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def format_table(rows: list[dict]) -> str:
    """Format :func:`analysis_lib.models.describe` rows as an aligned table."""
    width = max([len("name"), *(len(row["name"]) for row in rows)]) + 1
    header = f"{'name':<{width}} {'family':<12} {'kind':<8} {'offline':<8} sites (neurons)"
    lines = [header, "-" * len(header)]
    for row in rows:
        sites = ", ".join(
            f"{s}{'*' if s == row['default_site'] else ''} {n:,}"
            for s, n in row["neurons"].items()
        )
        ok = "yes" if row["available"] else "no"
        lines.append(
            f"{row['name']:<{width}} {row['family']:<12} {row['kind']:<8} {ok:<8} {sites}"
        )
    lines.append("")
    lines.append("* default site. Hub models load from <root>/models/<hub id> or the HF cache.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..models import describe, model_names

    rows = [describe(name) for name in model_names()]
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0

"""Print versions, data roots and what is available offline on this machine."""

from __future__ import annotations

import argparse
import json

NAME = "info"
HELP = "versions, data roots, and which models and datasets are available offline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    from ..info import environment_report, format_report

    report = environment_report()
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0

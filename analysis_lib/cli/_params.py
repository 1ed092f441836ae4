"""Build a command's options from a stage's parameters dataclass.

Every field declared with :func:`analysis_lib.pipeline.param` becomes ``--field-name``
with the field's type, choices, default and help, so the CLI can never disagree with the
stage's defaults. Fields typed ``tuple[...]`` take several values (``nargs``); ``bool``
fields become ``--name`` / ``--no-name``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any

from ..pipeline.params import StageParams, field_meta


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _base_type(tp: Any) -> tuple[Any, bool, bool]:
    """Return (scalar type, optional, is_tuple) of an annotation."""
    optional = False
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        tp = args[0] if len(args) == 1 else str
        origin = typing.get_origin(tp)
    if origin is tuple:
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return (args[0] if args else str), optional, True
    return tp, optional, False


def _scalar(tp: Any):
    if tp in (int, float, str):
        return tp
    return str


def add_params_arguments(
    parser: argparse.ArgumentParser,
    cls: type[StageParams],
    *,
    exclude: typing.Iterable[str] = (),
    required: typing.Iterable[str] = (),
) -> None:
    """Add one option per field of ``cls`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    cls : type of StageParams
        The stage's parameters dataclass.
    exclude : iterable of str
        Field names the command sets otherwise (not exposed).
    required : iterable of str
        Field names that must be given on the command line.
    """
    exclude, required = set(exclude), set(required)
    types_ = cls.field_types()
    for f in dataclasses.fields(cls):
        meta = field_meta(f)
        if f.name in exclude or not meta.get("cli", True):
            continue
        tp, optional, is_tuple = _base_type(types_[f.name])
        default = f.default if f.default is not dataclasses.MISSING else None
        kwargs: dict[str, Any] = {"help": meta.get("help", "")}
        if tp is bool and not is_tuple:
            kwargs["action"] = argparse.BooleanOptionalAction
            kwargs["default"] = default
            kwargs["help"] += " (default: %(default)s)"
            parser.add_argument(_option(f.name), dest=f.name, **kwargs)
            continue
        kwargs["type"] = _scalar(tp)
        if meta.get("choices") is not None:
            kwargs["choices"] = list(meta["choices"])
        if is_tuple:
            kwargs["nargs"] = "+"
        if f.name in required:
            kwargs["required"] = True
        else:
            kwargs["default"] = list(default) if isinstance(default, tuple) else default
            kwargs["help"] += " (default: %(default)s)"
        if optional and not is_tuple:
            kwargs["metavar"] = f.name.upper()
        parser.add_argument(_option(f.name), dest=f.name, **kwargs)


def params_from_args(
    cls: type[StageParams], args: argparse.Namespace, **overrides: Any
) -> StageParams:
    """Build ``cls`` from the parsed options (fields missing from ``args`` keep defaults).

    Parameters
    ----------
    cls : type of StageParams
        The stage's parameters class.
    args : argparse.Namespace
        Options parsed by a parser built with add_params_arguments.
    **overrides
        Values that replace those of ``args`` (fields built elsewhere).

    Returns
    -------
    StageParams
        An instance of ``cls``, checked on creation.
    """
    values = {}
    for f in dataclasses.fields(cls):
        if hasattr(args, f.name):
            values[f.name] = getattr(args, f.name)
    values.update(overrides)
    return cls(**values)


def check_output(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Refuse an output path that cannot be written, before any work starts.

    Parameters
    ----------
    path : path-like
        The output file.
    option : str
        The option that gave it (for the message).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        When ``path`` is an existing folder, or a parent is an existing file.
    """
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"{option} {out}: is an existing folder; give a file name")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{option} {out}: {parent} is a file, not a folder")
            break
    return out

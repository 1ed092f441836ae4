"""Frozen parameter objects shared by the stage functions, the CLI and the notebooks.

A stage's parameters are a frozen dataclass deriving from :class:`StageParams`; each field
is declared with :func:`param`, which records the help text and, where the value is one of a
fixed set, its choices. Checks of the values live in ``check()`` and run when the object is
made, so a bad value fails before any work starts, with a message naming the option.

Example
-------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class ToyParams(StageParams):
...     stage = "toy"
...     n_perm: int = param(1000, "null surrogates (0: none)", minimum=0)
...     null: str = param("shift", "surrogate kind", choices=("shift", "phase"))
>>> ToyParams(n_perm=10).as_dict()
{'n_perm': 10, 'null': 'shift'}
>>> try:
...     ToyParams(n_perm=-5)
... except ValueError as err:
...     print(err)
toy: n_perm must be >= 0, got -5
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..io import provenance

_META = "analysis_lib"


def param(
    default: Any,
    help: str,
    *,
    choices: Sequence[Any] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
    cli: bool = True,
) -> Any:
    """Declare one stage parameter (a dataclass field with its help and constraints).

    Parameters
    ----------
    default : object
        The single default value of this parameter (lists are stored as tuples).
    help : str
        One line shown by ``--help`` and in the API reference.
    choices : sequence, optional
        Allowed values.
    minimum, maximum : float, optional
        Inclusive bounds of a numeric value (``None`` values are always allowed).
    exclusive_minimum : bool, default False
        Make ``minimum`` exclusive (a value must be strictly greater).
    exclusive_maximum : bool, default False
        Make ``maximum`` exclusive (a value must be strictly smaller).
    cli : bool, default True
        Whether the CLI exposes this field as an option.

    Returns
    -------
    dataclasses.Field
        The field, to assign in the dataclass body.
    """
    if isinstance(default, list):
        default = tuple(default)
    meta = {
        "help": help,
        "choices": tuple(choices) if choices is not None else None,
        "minimum": minimum,
        "maximum": maximum,
        "exclusive_minimum": exclusive_minimum,
        "exclusive_maximum": exclusive_maximum,
        "cli": cli,
    }
    return dataclasses.field(default=default, metadata={_META: meta})


def field_meta(field: dataclasses.Field) -> dict[str, Any]:
    """Return the metadata :func:`param` recorded for ``field`` (empty for plain fields)."""
    return dict(field.metadata.get(_META, {}))


def _type_of(cls: type, field: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(cls)
    return hints.get(field.name, field.type)


_KIND = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _coerce(value: Any, tp: Any) -> tuple[bool, Any, str]:
    """Check ``value`` against the annotation ``tp``.

    Returns (ok, value, expected): ``value`` converted where the conversion loses nothing
    (lists to tuples, NumPy scalars to Python ones, integers to floats for float fields),
    and a description of what was expected for the error message.
    """
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return True, None, "None"
        expected = []
        for arg in args:
            if arg is type(None):
                continue
            ok, out, what = _coerce(value, arg)
            if ok:
                return True, out, what
            expected.append(what)
        return False, value, " or ".join(expected + ["None"] * (type(None) in args))
    if origin is tuple:
        inner = [a for a in typing.get_args(tp) if a is not Ellipsis]
        item = inner[0] if inner else Any
        what = f"a list of {getattr(item, '__name__', 'values')}"
        if isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, tuple):
            return False, value, what
        out = []
        for v in value:
            ok, v2, _ = _coerce(v, item)
            if not ok:
                return False, value, what
            out.append(v2)
        return True, tuple(out), what
    if tp is bool:
        if isinstance(value, (bool, np.bool_)):
            return True, bool(value), _KIND[bool]
        return False, value, _KIND[bool]
    if tp is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return True, int(value), _KIND[int]
        return False, value, _KIND[int]
    if tp is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return True, float(value), _KIND[float]
        return False, value, _KIND[float]
    if tp is str:
        return isinstance(value, str), value, _KIND[str]
    return True, value, "any"


@dataclasses.dataclass(frozen=True)
class StageParams:
    """Base of every stage's parameters: frozen, checked on creation, JSON-serialisable.

    Subclasses set the class attribute ``stage`` (the stage's name, as used on the command
    line and in the ``stage`` provenance attribute) and declare their fields with
    :func:`param`. Override :meth:`check` for constraints between fields; call
    ``super().check()`` first.
    """

    stage: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            ok, value, expected = _coerce(value, hints.get(f.name, Any))
            if not ok:
                raise ValueError(
                    f"{self.stage or type(self).__name__}: {f.name} must be {expected}, "
                    f"got {value!r}"
                )
            object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Raise ValueError naming the parameter when a value is outside its constraints.

        Types are checked before (on creation, against the annotations): a string where a
        number or a list is expected fails with the parameter's name.
        """
        for f in dataclasses.fields(self):
            meta = field_meta(f)
            value = getattr(self, f.name)
            if value is None or not meta:
                continue
            name = f"{self.stage or type(self).__name__}: {f.name}"
            choices = meta.get("choices")
            if choices is not None and value not in choices:
                raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
            lo, hi = meta.get("minimum"), meta.get("maximum")
            if (lo is not None or hi is not None) and not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if lo is not None:
                if meta.get("exclusive_minimum") and not value > lo:
                    raise ValueError(f"{name} must be > {lo}, got {value!r}")
                if not meta.get("exclusive_minimum") and not value >= lo:
                    raise ValueError(f"{name} must be >= {lo}, got {value!r}")
            if hi is not None:
                if meta.get("exclusive_maximum") and not value < hi:
                    raise ValueError(f"{name} must be < {hi}, got {value!r}")
                if not meta.get("exclusive_maximum") and not value <= hi:
                    raise ValueError(f"{name} must be <= {hi}, got {value!r}")

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Return ``{field: default}`` of every field (the single set of defaults)."""
        out = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                out[f.name] = f.default_factory()  # type: ignore[misc]
        return out

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        """Return ``{field: annotated type}``."""
        return {f.name: _type_of(cls, f) for f in dataclasses.fields(cls)}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> StageParams:
        """Build from a mapping, refusing unknown keys with the closest valid name."""
        import difflib

        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in values if k not in names]
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, names, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ValueError(f"{cls.stage or cls.__name__}: unknown parameter {', '.join(hints)}")
        return cls(**dict(values))

    def as_dict(self) -> dict[str, Any]:
        """Return the parameters as a plain dict (tuples become lists when JSON-encoded)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def to_json(self) -> str:
        """Return the parameters as sorted JSON (what the ``params`` attribute stores)."""
        return json.dumps(self.as_dict(), sort_keys=True, default=str)

    def replace(self, **changes: Any) -> StageParams:
        """Return a copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)


def stage_provenance(
    params: StageParams, *, paths: Mapping[str, Any] | None = None, **inputs: str
) -> dict[str, str]:
    """Provenance attrs of a stage's result: one schema for every stage.

    Parameters
    ----------
    params : StageParams
        The stage's parameters; stored as sorted JSON under ``params``, and the stage name
        under ``stage``.
    paths : mapping, optional
        Named paths of the input files (``None`` values are left out), stored as
        ``input_<name>_path``.
    **inputs : str
        Named SHA-256 digests of the inputs, stored as ``input_<name>_sha256``.

    Returns
    -------
    dict
        ``stage``, ``analysis_lib_version``, ``params``, ``input_<name>_sha256`` and
        ``input_<name>_path`` keys, ready to merge into an xarray object's ``attrs``.
    """
    attrs = {"stage": params.stage}
    attrs.update(provenance(params.as_dict(), **inputs))
    for name, path in (paths or {}).items():
        if path is not None:
            attrs[f"input_{name}_path"] = str(path)
    return attrs


def subject_list(value: Any, *, minimum: int = 1, name: str = "subjects") -> list[str]:
    """Check a list of subject ids (a notebook or grid parameter) before any work starts.

    Parameters
    ----------
    value : list of str
        The subject ids.
    minimum : int
        Fewest subjects allowed.
    name : str
        The parameter's name, for the message.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        Not a list of strings (e.g. one string ``"sub-01"``, whose letters would be read
        as subjects), fewer than ``minimum`` ids, or an id twice.
    """
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list of subject ids, got {value!r}")
    if not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{name} must be a list of subject ids (strings), got {value!r}")
    if len(value) < minimum:
        raise ValueError(f"{name} must name at least {minimum} subject(s), got {list(value)}")
    twice = sorted({v for v in value if list(value).count(v) > 1})
    if twice:
        raise ValueError(f"{name} lists {twice} more than once")
    return list(value)

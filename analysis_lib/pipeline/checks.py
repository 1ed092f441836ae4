"""Provenance checks of the results a stage combines (subject encodings, group maps).

A stage that combines results refuses, with a message naming the files that disagree:
a group result where a subject encoding is expected (and the reverse), the same subject
(or the same BOLD) twice, encodings fitted on different atoms, of different datasets or
spaces. Attributes missing from a result (e.g. arrays made by hand) are not held against
it; the atoms, space and voxel coordinates are still compared by the library functions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

#: Variables only a group result holds.
GROUP_VARIABLES = ("mean_beta", "reliability")


def load_named(items: Sequence[Any]) -> list[tuple[str, Any]]:
    """Read paths and name every result: ``(file name or subject, Dataset)``."""
    from ..io import read_netcdf

    out = []
    for i, item in enumerate(items):
        if isinstance(item, (str, os.PathLike)):
            out.append((str(item), read_netcdf(item)))
        else:
            out.append((str(item.attrs.get("subject", f"result {i}")), item))
    return out


def is_group_result(ds) -> bool:
    """True for the output of the group stage (or of ``group_encoding``)."""
    return ds.attrs.get("stage") == "group" or any(v in ds for v in GROUP_VARIABLES)


def is_subject_result(ds) -> bool:
    """True for the output of the encode stage (or of ``fit_encoding``)."""
    return ds.attrs.get("stage") == "encode" or ("beta" in ds and not is_group_result(ds))


def _short(digest: str) -> str:
    return f"{digest[:12]}..." if len(digest) > 12 else digest


def _same(named: list[tuple[str, Any]], key: str, what: str, show=str) -> None:
    values = [(n, ds.attrs.get(key)) for n, ds in named if ds.attrs.get(key) not in (None, "")]
    if len({str(v) for _, v in values}) > 1:
        ref_name, ref = values[0]
        other_name, other = next((n, v) for n, v in values if str(v) != str(ref))
        raise ValueError(
            f"{what} differ: {ref_name} has {show(ref)} but {other_name} has {show(other)}"
        )


def subject_id(name: str, ds) -> str:
    """The subject of an encoding result (its ``subject`` attr, else its name).

    Parameters
    ----------
    name : str
        The result's file name (or label).
    ds : xarray.Dataset
        An encoding result.

    Returns
    -------
    str
        The subject id.
    """
    return str(ds.attrs.get("subject") or name)


def check_subject_results(named: list[tuple[str, Any]], *, role: str = "encodings") -> None:
    """Refuse a set of subject encodings that should not be combined.

    Parameters
    ----------
    named : list of (name, Dataset)
        From :func:`load_named`.
    role : str
        What the inputs are called in messages (e.g. ``"--subjects"``).

    Raises
    ------
    ValueError
        A group result among them; a subject (or a BOLD, by its digest) twice; different
        atoms (``input_atoms_sha256``), datasets or spaces. The message names the files.
    """
    for name, ds in named:
        if is_group_result(ds):
            raise ValueError(
                f"{name}: is a group result (it holds {sorted(GROUP_VARIABLES)}), not a "
                f"subject encoding; {role} takes the outputs of `encode`"
            )
        if not is_subject_result(ds):
            raise ValueError(
                f"{name}: is not a subject encoding (no 'beta'); {role} takes the outputs of "
                "`encode`"
            )
    seen: dict[str, str] = {}
    for name, ds in named:
        sid = subject_id(name, ds)
        if sid in seen:
            raise ValueError(f"subject {sid!r} is given twice in {role}: {seen[sid]} and {name}")
        seen[sid] = name
    bolds: dict[str, str] = {}
    for name, ds in named:
        digest = ds.attrs.get("input_bold_sha256")
        if digest:
            if digest in bolds:
                raise ValueError(
                    f"{bolds[digest]} and {name} were fitted on the same BOLD data "
                    f"(sha256 {_short(digest)}); {role} needs one encoding per subject"
                )
            bolds[digest] = name
    _same(named, "input_atoms_sha256", f"{role} were fitted on atoms that", _short)
    _same(named, "dataset", f"datasets of {role}")
    _same(named, "space", f"spaces of {role}")


def recorded_subjects(group) -> list[str] | None:
    """The subjects a group result records (attr ``subjects``, a JSON list), or None."""
    value = group.attrs.get("subjects")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        value = list(value.tolist() if hasattr(value, "tolist") else value)
        return [str(v) for v in value]
    return None


def check_group_result(name: str, ds, *, role: str = "--group") -> None:
    """Refuse a subject encoding (or anything without ``tstat``) where group maps are expected.

    Group maps made by hand (``tstat`` and p values, no ``beta``) are accepted.

    Parameters
    ----------
    name : str
        The result's file name, named in the error.
    ds : xarray.Dataset
        The result given as group maps.
    role : str
        The option or argument it came from, named in the error.
    """
    if is_subject_result(ds):
        raise ValueError(
            f"{name}: is a single-subject encoding (stage {ds.attrs.get('stage', 'encode')!r}, "
            f"subject {ds.attrs.get('subject', '?')!r}), not group maps; {role} takes the "
            "output of `group`"
        )
    if "tstat" not in ds:
        raise ValueError(
            f"{name}: holds no group maps (no 'tstat'; it holds {sorted(ds.data_vars)}); "
            f"{role} takes the output of `group`"
        )


def check_group_and_subjects(
    group_name: str, group, named: list[tuple[str, Any]], *, role: str = "--subjects"
) -> None:
    """Refuse subject encodings that are not those the group maps were made from.

    Compares the atoms digest, dataset and space, and, when the group records its
    subjects, the set of subjects.

    Parameters
    ----------
    group_name : str
        The group result's file name, named in the errors.
    group : xarray.Dataset
        Group maps (:func:`analysis_lib.pipeline.group`).
    named : list of (str, xarray.Dataset)
        Subject encodings with their file names.
    role : str
        The option the encodings came from, named in the errors.
    """
    check_subject_results(named, role=role)
    digest = group.attrs.get("input_atoms_sha256")
    for name, ds in named:
        other = ds.attrs.get("input_atoms_sha256")
        if digest and other and digest != other:
            raise ValueError(
                f"{name} was fitted on other atoms (sha256 {_short(other)}) than the group "
                f"maps {group_name} (sha256 {_short(digest)})"
            )
        for key in ("dataset", "space"):
            a, b = group.attrs.get(key), ds.attrs.get(key)
            if a and b and a != b:
                raise ValueError(f"{key} differs: {group_name} has {a!r} but {name} has {b!r}")
    recorded = recorded_subjects(group)
    if recorded is not None:
        recorded = sorted(recorded)
        given = sorted(subject_id(n, ds) for n, ds in named)
        if given != recorded:
            raise ValueError(
                f"{role} holds subjects {given} but the group maps {group_name} were made "
                f"from {recorded}"
            )

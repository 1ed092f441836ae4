"""Stage ``group``: group maps of the subjects' encodings (one-sample t, sign flips).

:func:`group` checks what it combines (:mod:`analysis_lib.pipeline.checks`: subject
encodings only, distinct subjects, same atoms, dataset and space), takes exactly the
subjects its parameters name, and calls :func:`analysis_lib.encoding.group_encoding`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._extract import check_device
from .checks import check_subject_results, load_named, subject_id
from .params import StageParams, param, stage_provenance, subject_list


@dataclass(frozen=True)
class GroupParams(StageParams):
    """Parameters of the group stage (see :func:`analysis_lib.encoding.group_encoding`)."""

    stage = "group"
    subjects: tuple[str, ...] | None = param(
        None, "the subjects to combine, exactly (default: every input)"
    )
    variable: str = param("beta", "per-subject map to combine", choices=("beta", "tstat"))
    n_perm: int = param(1000, "sign-flip permutations (all 2^S - 1 when fewer)", minimum=1)
    seed: int = param(0, "seed of the sign flips")
    device: str = param("cpu", "torch device")

    def check(self) -> None:
        """Also refuse fewer than two subjects, or one twice."""
        super().check()
        if self.subjects is not None:
            subject_list(self.subjects, minimum=2, name=f"{self.stage}: subjects")
        check_device(self.device, self.stage)


def encoding_files(folder: str | Path, subjects: Sequence[str]) -> list[Path]:
    """The encode stage's files ``<folder>/encoding_<subject>.nc`` of ``subjects``.

    Raises
    ------
    FileNotFoundError
        Naming every missing file.
    """
    files = [Path(folder) / f"encoding_{s}.nc" for s in subjects]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"no encoding for {len(missing)} subject(s): {', '.join(missing)}")
    return files


def select_subjects(params: GroupParams, named: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The inputs of exactly ``params.subjects``, in that order (all inputs when None)."""
    if params.subjects is None:
        return named
    by_subject = {subject_id(n, ds): (n, ds) for n, ds in named}
    missing = [s for s in params.subjects if s not in by_subject]
    extra = sorted(set(by_subject) - set(params.subjects))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no input for {missing}")
        if extra:
            parts.append(
                "inputs of subjects not named: "
                + ", ".join(f"{s} ({by_subject[s][0]})" for s in extra)
            )
        raise ValueError(f"group: subjects {list(params.subjects)}: {'; '.join(parts)}")
    return [by_subject[s] for s in params.subjects]


def group(params: GroupParams, encodings: Sequence[Any], *, progress: bool = False):
    """Run the group stage.

    Parameters
    ----------
    params : GroupParams
    encodings : list of paths or Datasets
        Outputs of the encode stage, one per subject.
    progress : bool

    Returns
    -------
    xarray.Dataset
        As :func:`~analysis_lib.encoding.group_encoding` (``mean_beta``, ``tstat``, p and q
        values (atom, voxel), ``reliability`` (atom)), coordinate ``subject``, attrs
        ``subjects`` (list), ``dataset``, ``space``, ``input_atoms_sha256`` (of the
        subjects' atoms) and the stage provenance.

    Raises
    ------
    ValueError
        Inputs that disagree (see :func:`~analysis_lib.pipeline.checks.check_subject_results`)
        or that are not exactly ``params.subjects``; fewer than two subjects.
    """
    from ..encoding import group_encoding

    named = load_named(encodings)
    check_subject_results(named, role="group inputs")
    named = select_subjects(params, named)
    if len(named) < 2:
        raise ValueError(f"group maps need at least 2 subjects, got {[n for n, _ in named]}")
    subjects = [subject_id(n, ds) for n, ds in named]
    results = [ds.assign_attrs(subject=s) for s, (_, ds) in zip(subjects, named, strict=True)]
    result = group_encoding(
        results,
        variable=params.variable,
        n_perm=params.n_perm,
        seed=params.seed,
        device=params.device,
        progress=progress,
    )
    maps_digest = result.attrs["input_maps_sha256"]
    result.attrs["group_params"] = result.attrs.pop("params")
    ref = named[0][1]
    atoms_digest = ref.attrs.get("input_atoms_sha256", "")
    result.attrs.update(stage_provenance(params, maps=maps_digest, atoms=atoms_digest))
    result.attrs["subjects"] = subjects
    for key in ("dataset", "model"):
        if ref.attrs.get(key):
            result.attrs[key] = ref.attrs[key]
    paths = [n for n, _ in named if n.endswith(".nc")]
    if len(paths) == len(named):
        result.attrs["input_encodings_path"] = paths
    return result

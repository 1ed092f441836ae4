"""Stage ``encode``: the voxel-wise encoding model of one subject (atoms as fixed regressors).

:func:`encode` wraps :func:`analysis_lib.encoding.fit_encoding` with the parameters of
:class:`EncodeParams`, and refuses a subject none of whose voxels could be fitted (all
NaN or inf, or constant): downstream, such a subject would look like a null result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ._extract import check_device
from .params import StageParams, param, stage_provenance

NULLS = ("shift", "phase")
NOISE_MODELS = ("ols", "ar1")
DRIFT_MODELS = ("cosine", "polynomial", "none")


@dataclass(frozen=True)
class EncodeParams(StageParams):
    """Parameters of the encoding stage (see :func:`analysis_lib.encoding.fit_encoding`)."""

    stage = "encode"
    n_perm: int = param(1000, "null surrogates (0: none)", minimum=0)
    null: str = param("shift", "circular shifts or phase randomisation", choices=NULLS)
    min_shift: int = param(1, "smallest circular shift in volumes", minimum=1)
    noise_model: str = param("ols", "ols, or ar1 prewhitening", choices=NOISE_MODELS)
    drift_model: str = param("cosine", "drift regressors (nilearn)", choices=DRIFT_MODELS)
    high_pass: float = param(0.01, "cut-off of the cosine drift in Hz", minimum=0)
    cv: int = param(5, "outer CV folds of the ridge prediction (0: skip)", minimum=0)
    confounds_drop_first: int = param(
        0,
        "drop the first N rows of every confound file (volumes dropped from the BOLD)",
        minimum=0,
    )
    seed: int = param(0, "seed of the null surrogates")
    device: str = param("cpu", "torch device, e.g. cpu or cuda")
    chunk_size: int | None = param(None, "voxels per chunk (default: from memory)", minimum=1)

    def check(self) -> None:
        """Also refuse cv = 1 (a single fold cannot hold anything out) and a missing device."""
        super().check()
        if self.cv == 1:
            raise ValueError(f"{self.stage}: cv must be 0 (skip) or >= 2, got 1")
        check_device(self.device, self.stage)


def atoms_array(atoms, name: str = "atoms"):
    """The (time, atom) DataArray of a decomposition Dataset or DataArray."""
    import xarray as xr

    da = atoms
    if isinstance(atoms, xr.Dataset):
        if "atoms" in atoms:
            da = atoms["atoms"]
        elif len(atoms.data_vars) == 1:
            da = next(iter(atoms.data_vars.values()))
        else:
            raise ValueError(
                f"{name}: has no 'atoms' variable; it holds {sorted(atoms.data_vars)}"
            )
    return da


def encode(
    params: EncodeParams,
    atoms,
    bold,
    confounds: Sequence | None = None,
    *,
    subject: str | None = None,
    dataset: str | None = None,
    paths: dict | None = None,
    progress: bool = False,
):
    """Run the encoding stage for one subject.

    Parameters
    ----------
    params : EncodeParams
    atoms : Dataset (decomposition result) or DataArray (time, atom)
    bold : DataArray (time, voxel)
        One subject's BOLD (e.g. :func:`analysis_lib.datasets.load`).
    confounds : list of DataFrame / arrays / paths, optional
        Nuisance regressors; paths are read with ``confounds_drop_first``.
    subject, dataset : str, optional
        Recorded in the attrs (default: the BOLD's ``subject`` and ``dataset`` attrs).
    paths : dict, optional
        Input files (``atoms``, ``bold``, ``confounds``), recorded as ``input_<name>_path``.
    progress : bool

    Returns
    -------
    xarray.Dataset
        As :func:`~analysis_lib.encoding.fit_encoding` (``beta``, ``tstat``, p values
        (atom, voxel); ``r2``, ``r_cv`` ... (voxel)), with attrs ``subject``, ``dataset``,
        ``space``, the stage provenance (``input_atoms_sha256``, ``input_bold_sha256``) and
        ``fit_params`` (the resolved options of ``fit_encoding``: TR, gap, shifts).

    Raises
    ------
    ValueError
        Mismatched inputs (from ``fit_encoding``), or no voxel of the subject could be
        fitted (every voxel NaN/inf somewhere, or constant); the message names the subject.
    """
    from ..encoding import fit_encoding, read_confounds

    atoms_da = atoms_array(atoms)
    subject = subject or str(getattr(bold, "attrs", {}).get("subject", "")) or None
    dataset = dataset or str(getattr(bold, "attrs", {}).get("dataset", "")) or None
    who = " ".join(x for x in (dataset, subject) if x) or "the BOLD"
    conf = []
    for item in confounds or []:
        if isinstance(item, str) or hasattr(item, "__fspath__"):
            item = read_confounds(item, drop_first=params.confounds_drop_first)
        conf.append(item)
    result = fit_encoding(
        atoms_da,
        bold,
        conf or None,
        n_perm=params.n_perm,
        cv=params.cv or None,
        seed=params.seed,
        device=params.device,
        null=params.null,
        min_shift=params.min_shift,
        noise_model=params.noise_model,
        drift_model=None if params.drift_model == "none" else params.drift_model,
        high_pass=params.high_pass,
        chunk_size=params.chunk_size,
        progress=progress,
    )
    if result.attrs["n_voxels_fitted"] == 0:
        raise ValueError(
            f"{who}: no voxel could be fitted ({result.attrs['n_voxels_nan']} of "
            f"{result.attrs['n_voxels']} hold NaN or inf values, "
            f"{result.attrs['n_voxels_constant']} are constant); check this subject's BOLD"
        )
    digests = {
        "atoms": result.attrs["input_atoms_sha256"],
        "bold": result.attrs["input_bold_sha256"],
    }
    result.attrs["fit_params"] = result.attrs.pop("params")
    result.attrs.update(stage_provenance(params, paths=paths, **digests))
    if subject:
        result.attrs["subject"] = subject
    if dataset:
        result.attrs["dataset"] = dataset
    source = atoms if hasattr(atoms, "attrs") else None
    if source is not None and "model" in source.attrs and "model" not in result.attrs:
        result.attrs["model"] = source.attrs["model"]
    return result


def fit_params(result) -> dict:
    """The resolved ``fit_encoding`` options stored by :func:`encode` (``fit_params``)."""
    return json.loads(result.attrs["fit_params"])

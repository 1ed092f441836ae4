"""Shared helpers of the Study B pages: where the grid's results are, which runs exist.

The pages run with their own folder as working directory, so the results of the default
grid (``results/`` at the project root) are ``../../results``; set
``ANALYSIS_LIB_RESULTS`` to read another results folder (e.g. the one of a custom grid).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import xarray as xr

from analysis_lib.io import read_netcdf
from analysis_lib.models import TWINS

RESULTS = Path(os.environ.get("ANALYSIS_LIB_RESULTS", "../../results"))

#: (untrained, trained, label) of every Study B model pair, in display order (one table:
#: :data:`analysis_lib.models.TWINS`).
PAIRS = tuple((t.untrained, t.trained, t.label) for t in TWINS)
MODELS = tuple(m for pair in PAIRS for m in pair[:2])
LABEL = {
    m: f"{label}, {'trained' if m.endswith('-trained') else 'untrained'}"
    for u, t, label in PAIRS
    for m in (u, t)
}
FAMILY = {m: label for u, t, label in PAIRS for m in (u, t)}


def run_dir(grid: str, model: str) -> Path:
    """Results folder of one run of the grid."""
    return RESULTS / grid / f"model={model}"


def encoding_files(model: str, grid: str = "study-b-encode") -> list[str]:
    """Per-subject encoding results of one model (sorted)."""
    return sorted(glob.glob(str(run_dir(grid, model) / "encoding_*.nc")))


def has_run(model: str, prefix: str = "study-b") -> bool:
    """Whether the three stages of ``model`` wrote their results."""
    return (
        (run_dir(f"{prefix}-atoms", model) / "atoms.nc").is_file()
        and len(encoding_files(model, f"{prefix}-encode")) >= 2
        and (run_dir(f"{prefix}-group", model) / "group.nc").is_file()
    )


def available_models(prefix: str = "study-b") -> tuple[list[str], list[str]]:
    """(models with results, models of :data:`MODELS` without) for a grid prefix.

    Raises
    ------
    FileNotFoundError
        When no Study B model has results: the grid has not been run.
    """
    have = [m for m in MODELS if has_run(m, prefix)]
    missing = [m for m in MODELS if m not in have]
    if not have:
        raise FileNotFoundError(
            f"no Study B results under {RESULTS.resolve()}/{prefix}-*: run the grid first "
            "(python -m analysis_lib run --config configs/default.yaml)"
        )
    return have, missing


def load_r_cv(model: str, grid: str = "study-b-encode") -> xr.DataArray:
    """Cross-validated r of every subject, dims (subject, voxel)."""
    files = encoding_files(model, grid)
    arrays = [read_netcdf(f)["r_cv"].load() for f in files]
    subjects = [Path(f).stem.removeprefix("encoding_") for f in files]
    return xr.concat(arrays, "subject").assign_coords(subject=subjects)


def load_group(model: str, prefix: str = "study-b") -> dict[str, xr.Dataset]:
    """Atoms/loadings, group maps, correspondence and metrics of one model."""
    out = {
        "atoms": read_netcdf(run_dir(f"{prefix}-atoms", model) / "atoms.nc"),
        "group": read_netcdf(run_dir(f"{prefix}-group", model) / "group.nc"),
        "networks": read_netcdf(run_dir(f"{prefix}-group", model) / "networks.nc"),
    }
    return {k: v.load() for k, v in out.items()}

"""Reading the results of the Study A grid (``configs/default.yaml``) for the book's pages.

The grid (:mod:`analysis_lib.grid`) writes one folder per run:
``<results>/<grid>/model=<name>/`` with ``atoms.nc`` (``study-a-atoms``),
``encoding_<subject>.nc`` (``study-a-encode``), and ``group.nc``, ``networks.nc``,
``metrics.nc``, ``atoms_per_network.nc`` (``study-a-group``). The chapters read these files
and never recompute them; a missing file is an error that says how to produce it.
"""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from .grid import load_config
from .io import read_netcdf
from .models import get_spec

GRIDS = ("study-a-atoms", "study-a-encode", "study-a-group")
RESULTS_ENV = "ANALYSIS_LIB_RESULTS"
HOW_TO_RUN = "python -m analysis_lib run --config {config}  (or: make book)"


def results_root(default: str | os.PathLike[str]) -> Path:
    """Results folder the chapters read: ``$ANALYSIS_LIB_RESULTS`` if set, else ``default``.

    Set the variable when the grid wrote elsewhere (``python -m analysis_lib run
    --results-dir DIR``).
    """
    return Path(os.environ.get(RESULTS_ENV) or default)


def grid_models(config: str | os.PathLike[str], grid: str = "study-a-atoms") -> list[str]:
    """Models of one grid of a configuration, in the configuration's order.

    Raises
    ------
    ValueError
        When the grid is not in the configuration or does not vary ``model``.
    """
    cfg = load_config(config)
    for g in cfg["grids"]:
        if g["name"] == grid:
            models = (g.get("parameters") or {}).get("model")
            if not models:
                raise ValueError(f"{config}: grid {grid!r} has no 'model' parameter list")
            return [str(m) for m in models]
    raise ValueError(f"{config}: no grid named {grid!r}")


def run_dir(
    results: str | os.PathLike[str],
    grid: str,
    model: str,
    config: str | os.PathLike[str] = "configs/default.yaml",
) -> Path:
    """Folder of one model's run of a grid; FileNotFoundError (with the command) if absent."""
    path = Path(results) / grid / f"model={model}"
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path}: no results of grid {grid!r} for model {model!r}; produce them with "
            + HOW_TO_RUN.format(config=config)
        )
    return path


def read_result(
    results: str | os.PathLike[str],
    grid: str,
    model: str,
    filename: str,
    config: str | os.PathLike[str] = "configs/default.yaml",
) -> xr.Dataset:
    """Read one result file of one model's run (a Dataset), with a clear error if missing."""
    path = run_dir(results, grid, model, config) / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; the run of grid {grid!r} for {model!r} did not finish. "
            "Re-run " + HOW_TO_RUN.format(config=config)
        )
    return read_netcdf(path)


def model_info(name: str) -> dict[str, str]:
    """Weights (``"pretrained"``, ``"random"`` or ``"toy-trained"``) and description of a model."""
    try:
        spec = get_spec(name)
    except ValueError:
        return {"model": name, "weights": "unknown", "description": name}
    weights = {"tiny": "random", "trained": "toy-trained"}.get(spec.kind, "pretrained")
    return {"model": name, "weights": weights, "description": spec.description}

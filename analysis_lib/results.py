"""Finding and reading the results of the grid, for the book's chapters and the notebooks.

The grid (:mod:`analysis_lib.grid`) writes one folder per run,
``<results>/<grid>/<run id>/``; the grids of the book vary ``model`` only, so a run folder
is ``<results>/<grid>/model=<name>/``. Each stage writes its files there: ``atoms.nc``
(``*-atoms`` grids), ``encoding_<subject>.nc`` (``*-encode``) and ``group.nc``,
``networks.nc``, ``metrics.nc``, ``atoms_per_network.nc`` (``*-group``). Chapters read these
files with this module and never recompute them.

The results folder is, in order: ``$ANALYSIS_LIB_RESULTS``; the ``results_dir`` of the
configuration (relative to the project root); ``results/`` in the project root (the folder
that holds ``configs/``). The configuration is ``configs/default.yaml`` of the project that
holds this package unless given.

A missing folder or file is a :class:`FileNotFoundError` naming it and the command that
produces it. Which models have results comes from the configuration's grids; the
trained/untrained pairs and their labels from :data:`analysis_lib.models.TWINS`.
"""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from .grid import load_config, run_id
from .io import read_netcdf
from .models.registry import TWINS, get_spec

RESULTS_ENV = "ANALYSIS_LIB_RESULTS"
"""Environment variable that points the chapters at another results folder."""

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The project that holds this package (its ``configs/`` and default ``results/``)."""

DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.yaml"
"""The grid configuration of the book."""

MODEL_LABELS: dict[str, str] = {
    name: f"{row.label}, {state}"
    for row in TWINS
    for name, state in ((row.untrained, "untrained"), (row.trained, "trained"))
}
"""Display label of every member of a twin pair, e.g. ``"CLIP, trained"``."""

PAIR_LABELS: dict[str, str] = {
    name: row.label for row in TWINS for name in (row.untrained, row.trained)
}
"""Architecture label shared by the two members of a pair, e.g. ``"CLIP"``."""


def _config_path(config: str | os.PathLike[str] | None) -> Path:
    return Path(config) if config is not None else DEFAULT_CONFIG


def results_root(
    default: str | os.PathLike[str] | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
) -> Path:
    """The results folder the chapters read.

    Parameters
    ----------
    default : path-like, optional
        Used when ``$ANALYSIS_LIB_RESULTS`` is not set (before the configuration's).
    config : path-like, optional
        Grid configuration (default :data:`DEFAULT_CONFIG`); its ``results_dir``, else
        ``results/`` next to its ``configs/`` folder.

    Returns
    -------
    pathlib.Path
        ``$ANALYSIS_LIB_RESULTS``, else ``default``, else the configuration's folder.
        Set the variable when the grid wrote elsewhere (``python -m analysis_lib run
        --results-dir DIR``).
    """
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Path(env)
    if default is not None:
        return Path(default)
    return _configured_root(config)


def _configured_root(config: str | os.PathLike[str] | None) -> Path:
    """The results folder the grid writes with ``config`` (no command-line override)."""
    path = _config_path(config)
    root = path.resolve().parent.parent
    if path.is_file():
        configured = load_config(path).get("results_dir")
        if configured:
            return root / configured
    return root / "results"


def how_to_produce(
    config: str | os.PathLike[str] | None = None,
    results: str | os.PathLike[str] | None = None,
) -> str:
    """The command that runs the grid and writes the results.

    Parameters
    ----------
    config : path-like, optional
        Grid configuration (default :data:`DEFAULT_CONFIG`).
    results : path-like, optional
        Results folder (default :func:`results_root`); named with ``--results-dir`` when
        it is not the one the grid writes by default.

    Returns
    -------
    str
        E.g. ``"python -m analysis_lib run --config configs/default.yaml (or: make book)"``.
    """
    path = _config_path(config)
    try:
        shown = path.resolve().relative_to(PROJECT_ROOT)
    except ValueError:
        shown = path
    command = f"python -m analysis_lib run --config {shown}"
    root = Path(results) if results is not None else results_root(config=config)
    if root.resolve() != _configured_root(config).resolve():
        command += f" --results-dir {root}"
    elif path.resolve() == DEFAULT_CONFIG.resolve():
        command += " (or: make book)"
    return command


def grid_models(grid: str, *, config: str | os.PathLike[str] | None = None) -> list[str]:
    """Models of one grid of a configuration, in the configuration's order.

    Parameters
    ----------
    grid : str
        Name of a grid, e.g. ``"study-a-atoms"``.
    config : path-like, optional
        Grid configuration (default :data:`DEFAULT_CONFIG`).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        When the grid is not in the configuration or does not vary ``model``.
    """
    path = _config_path(config)
    for g in load_config(path)["grids"]:
        if g["name"] == grid:
            models = (g.get("parameters") or {}).get("model")
            if not models:
                raise ValueError(f"{path}: grid {grid!r} has no 'model' parameter list")
            return [str(m) for m in models]
    raise ValueError(f"{path}: no grid named {grid!r}")


def run_folder(grid: str, model: str, *, results: str | os.PathLike[str] | None = None) -> Path:
    """Folder of one model's run of a grid (not checked).

    Parameters
    ----------
    grid : str
    model : str
    results : path-like, optional
        Results folder (default :func:`results_root`).

    Returns
    -------
    pathlib.Path
        ``<results>/<grid>/model=<model>``, named as the grid names its runs
        (:func:`analysis_lib.grid.run_id`).
    """
    root = Path(results) if results is not None else results_root()
    return root / grid / run_id({"model": model}, ["model"])


def run_dir(
    grid: str,
    model: str,
    *,
    results: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
) -> Path:
    """Folder of one model's run of a grid, which must exist.

    Parameters
    ----------
    grid : str
    model : str
    results : path-like, optional
        Results folder (default :func:`results_root`).
    config : path-like, optional
        Configuration named in the error message (default :data:`DEFAULT_CONFIG`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        When the folder does not exist; the message names it and the command that
        produces it.
    """
    path = run_folder(grid, model, results=results)
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path}: no results of grid {grid!r} for model {model!r}; produce them with "
            + how_to_produce(config, results)
        )
    return path


def result_file(
    grid: str,
    model: str,
    filename: str,
    *,
    results: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
) -> Path:
    """Path of one result file of one model's run, which must exist.

    Parameters
    ----------
    grid, model : str
    filename : str
        E.g. ``"atoms.nc"``, ``"group.nc"``, ``"encoding_sub-01.nc"``.
    results : path-like, optional
        Results folder (default :func:`results_root`).
    config : path-like, optional
        Configuration named in the error message (default :data:`DEFAULT_CONFIG`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        When the run folder or the file is missing; the message names the file and the
        command that produces it.
    """
    path = run_dir(grid, model, results=results, config=config) / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; the run of grid {grid!r} for {model!r} did not finish. "
            "Re-run " + how_to_produce(config, results)
        )
    return path


def read_result(
    grid: str,
    model: str,
    filename: str,
    *,
    results: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
    variable: str | None = None,
) -> xr.Dataset | xr.DataArray:
    """Read one result file of one model's run, fully into memory.

    Parameters
    ----------
    grid, model, filename : str
        As in :func:`result_file`.
    results, config : path-like, optional
        As in :func:`result_file`.
    variable : str, optional
        Return only this data variable.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        The file's dataset (its variables keep their named dims), or one variable of it.

    Raises
    ------
    FileNotFoundError
        As :func:`result_file`.
    ValueError
        When the file is not readable netCDF or lacks ``variable``.
    """
    path = result_file(grid, model, filename, results=results, config=config)
    return read_netcdf(path, variable=variable)


def encoding_files(
    model: str, grid: str = "study-b-encode", *, results: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Per-subject encoding results of one model's run (possibly none).

    Parameters
    ----------
    model : str
    grid : str
        An ``*-encode`` grid.
    results : path-like, optional
        Results folder (default :func:`results_root`).

    Returns
    -------
    list of pathlib.Path
        ``encoding_<subject>.nc`` files, sorted; empty when the run has none.
    """
    return sorted(run_folder(grid, model, results=results).glob("encoding_*.nc"))


def read_r_cv(
    model: str,
    grid: str = "study-b-encode",
    *,
    results: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
) -> xr.DataArray:
    """Cross-validated prediction accuracy of every subject of one model's run.

    Parameters
    ----------
    model : str
    grid : str
        An ``*-encode`` grid.
    results, config : path-like, optional
        As in :func:`result_file`.

    Returns
    -------
    xarray.DataArray, dims (subject, voxel)
        ``r_cv`` of each ``encoding_<subject>.nc``, with a ``subject`` coordinate.

    Raises
    ------
    FileNotFoundError
        When the run has no encoding file (the message names the pattern and the command).
    """
    files = encoding_files(model, grid, results=results)
    if not files:
        pattern = run_folder(grid, model, results=results) / "encoding_*.nc"
        raise FileNotFoundError(
            f"{pattern}: no encoding results of {model!r}; produce them with "
            + how_to_produce(config, results)
        )
    arrays = [read_netcdf(f, variable="r_cv") for f in files]
    subjects = [f.stem.removeprefix("encoding_") for f in files]
    return xr.concat(arrays, "subject").assign_coords(subject=subjects)


def has_run(
    model: str, prefix: str = "study-b", *, results: str | os.PathLike[str] | None = None
) -> bool:
    """Whether the three stages of one model wrote their results.

    Parameters
    ----------
    model : str
    prefix : str
        Grid prefix: the grids are ``<prefix>-atoms``, ``<prefix>-encode`` and
        ``<prefix>-group``.
    results : path-like, optional
        Results folder (default :func:`results_root`).

    Returns
    -------
    bool
        ``atoms.nc``, at least two ``encoding_*.nc`` (a group needs two subjects) and
        ``group.nc`` exist.
    """
    return (
        (run_folder(f"{prefix}-atoms", model, results=results) / "atoms.nc").is_file()
        and len(encoding_files(model, f"{prefix}-encode", results=results)) >= 2
        and (run_folder(f"{prefix}-group", model, results=results) / "group.nc").is_file()
    )


def available_models(
    prefix: str = "study-b",
    models: list[str] | None = None,
    *,
    results: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Models with results and models without, for a grid prefix.

    Parameters
    ----------
    prefix : str
        Grid prefix (see :func:`has_run`).
    models : list of str, optional
        Models to look for (default: the models of the ``<prefix>-atoms`` grid of the
        configuration, in its order).
    results, config : path-like, optional
        As in :func:`result_file`.

    Returns
    -------
    have : list of str
        Models whose three stages wrote their results, in the order of ``models``.
    missing : list of str
        The others.

    Raises
    ------
    FileNotFoundError
        When no model has results: the grid has not been run (the message says how).
    """
    models = list(models) if models is not None else grid_models(f"{prefix}-atoms", config=config)
    have = [m for m in models if has_run(m, prefix, results=results)]
    missing = [m for m in models if m not in have]
    if not have:
        root = Path(results) if results is not None else results_root()
        raise FileNotFoundError(
            f"no results of {', '.join(models)} under {root.resolve()}/{prefix}-*: run the "
            "grid first: " + how_to_produce(config, results)
        )
    return have, missing


def available_twins(models: list[str]) -> list[tuple[str, str]]:
    """The trained/untrained pairs of :data:`~analysis_lib.models.TWINS` within ``models``.

    Parameters
    ----------
    models : list of str
        E.g. the models with results (:func:`available_models`).

    Returns
    -------
    list of (str, str)
        ``(untrained, trained)`` for every pair whose two members are in ``models``, in
        the table's order.
    """
    present = set(models)
    return [
        (row.untrained, row.trained)
        for row in TWINS
        if row.untrained in present and row.trained in present
    ]


def read_group(
    model: str,
    prefix: str = "study-b",
    *,
    results: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
) -> dict[str, xr.Dataset]:
    """Decomposition, group maps and network correspondence of one model.

    Parameters
    ----------
    model : str
    prefix : str
        Grid prefix (see :func:`has_run`).
    results, config : path-like, optional
        As in :func:`result_file`.

    Returns
    -------
    dict of str to xarray.Dataset
        ``"atoms"`` (``atoms.nc``: atoms (time, atom), loadings (atom, neuron)),
        ``"group"`` (``group.nc``) and ``"networks"`` (``networks.nc``), loaded.
    """
    kw = {"results": results, "config": config}
    return {
        "atoms": read_result(f"{prefix}-atoms", model, "atoms.nc", **kw),
        "group": read_result(f"{prefix}-group", model, "group.nc", **kw),
        "networks": read_result(f"{prefix}-group", model, "networks.nc", **kw),
    }


def model_info(name: str) -> dict[str, str]:
    """Kind of weights and description of a model, for the chapters' tables.

    Parameters
    ----------
    name : str
        A registered model name (others are reported as ``"unknown"``).

    Returns
    -------
    dict of str to str
        ``model``, ``weights`` (``"pretrained"``, ``"random"``, ``"toy-trained"`` or
        ``"unknown"``) and ``description``.
    """
    try:
        spec = get_spec(name)
    except ValueError:
        return {"model": name, "weights": "unknown", "description": name}
    weights = {"tiny": "random", "trained": "toy-trained"}.get(spec.kind, "pretrained")
    return {"model": name, "weights": weights, "description": spec.description}

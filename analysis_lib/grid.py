"""A grid of parameterized notebook runs, executed on dask.distributed.

A grid configuration (YAML) lists *grids*; each names a notebook and lists parameter
values. The cartesian product of the values gives the runs::

    grids:
      - name: study-a
        notebook: notebooks/10_study_a_run.py
        parameters:
          model: [minilm, smollm2]
          dataset: [phantom-story]
          subject: [sub-01, sub-02]
        fixed:
          n_atoms: 16
      - name: study-a-summary
        notebook: notebooks/12_study_a_summary.py
        depends_on: [study-a]

Every run is executed with papermill (:func:`analysis_lib.runner.execute_notebook`). It
receives two extra parameters, ``results_dir`` (where it writes its netCDF results) and
``run_id``. Executed notebooks go to ``<runs_dir>/<grid>/<run_id>.ipynb`` and results to
``<results_dir>/<grid>/<run_id>/``.

Grids run in the order the configuration lists them; the runs of one grid run in
parallel. A grid that reads what earlier grids wrote names them in ``depends_on``: their
runs' hashes enter its own, so it re-runs whenever they change. String parameters may
use ``{results}`` (the results folder) and ``{name}`` of any other parameter, e.g.
``atoms: "{results}/study-a-atoms/model={model}/atoms.nc"``.

A run is **skipped** when a record of a successful run with the same hash exists; the
hash covers the notebook's text, the parameters, the analysis_lib version and the
SHA-256 of any declared input files. A failed run is reported and the others go on.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .io import atomic_write_text, sha256_file
from .runner import notebook_parameters

RECORD_SUFFIX = ".done.json"


@dataclass(frozen=True)
class Run:
    """One notebook execution of a grid."""

    grid: str
    notebook: Path
    parameters: dict[str, Any]
    run_id: str
    output: Path
    results: Path
    inputs: tuple[Path, ...] = field(default_factory=tuple)
    upstream: tuple[Run, ...] = field(default_factory=tuple)

    @property
    def record(self) -> Path:
        """The file that marks this run as done, holding its hash."""
        return self.output.with_name(self.output.stem + RECORD_SUFFIX)

    def digest(self) -> str:
        """Hash of everything that determines the run's result."""
        h = hashlib.sha256()
        h.update(__version__.encode())
        h.update(self.notebook.read_bytes())
        h.update(json.dumps(self.parameters, sort_keys=True, default=str).encode())
        for path in self.inputs:
            h.update(f"{path}:{sha256_file(path)}".encode())
        for run in self.upstream:
            h.update(f"{run.grid}/{run.run_id}:{run.digest()}".encode())
        return h.hexdigest()

    def is_current(self) -> bool:
        """True when a successful run with the same hash is recorded."""
        if not (self.record.exists() and self.output.exists()):
            return False
        try:
            return json.loads(self.record.read_text())["hash"] == self.digest()
        except (ValueError, KeyError):
            return False


@dataclass
class RunResult:
    """What happened to one run."""

    run_id: str
    grid: str
    status: str  # "done", "skipped" or "failed"
    seconds: float = 0.0
    error: str = ""


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "-", str(value)).strip("-")


def run_id(parameters: Mapping[str, Any], varying: Iterable[str]) -> str:
    """A readable id from the varying parameters, e.g. ``model=minilm_subject=sub-01``."""
    parts = [f"{k}={_slug(parameters[k])}" for k in varying]
    return "_".join(parts) or "default"


#: Keys a configuration may hold at its top level.
TOP_LEVEL_KEYS = frozenset({"grids", "runs_dir", "results_dir"})


def load_config(path: str | os.PathLike[str]) -> dict:
    """Read and validate a grid configuration file.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When it is not valid YAML or misses required keys; the message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such grid configuration")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(config, dict) or not isinstance(config.get("grids"), list):
        raise ValueError(f"{path}: needs a top-level 'grids' list")
    unknown = sorted(set(config) - TOP_LEVEL_KEYS)
    if unknown:
        raise ValueError(
            f"{path}: unknown top-level key(s) {unknown}; allowed: {sorted(TOP_LEVEL_KEYS)}"
        )
    for i, grid in enumerate(config["grids"]):
        missing = {"name", "notebook"} - set(grid)
        if missing:
            raise ValueError(f"{path}: grid #{i} misses {sorted(missing)}")
        for key, values in (grid.get("parameters") or {}).items():
            if not isinstance(values, list) or not values:
                raise ValueError(
                    f"{path}: grid {grid['name']!r} parameter {key!r} must be a non-empty list"
                )
    config["_path"] = str(path.resolve())
    return config


def expand(
    config: Mapping[str, Any],
    *,
    root: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    results_dir: str | os.PathLike[str] | None = None,
) -> list[Run]:
    """Expand a configuration into its runs.

    Parameters
    ----------
    config : mapping
        As returned by :func:`load_config`.
    root : path-like, optional
        Folder that notebook and input paths are relative to (default: the folder that
        holds the configuration's parent ``configs/`` folder, i.e. the project root).
    runs_dir, results_dir : path-like, optional
        Where executed notebooks and results go (defaults ``book/runs`` and ``results``
        under ``root``, or the config's ``runs_dir``/``results_dir``).
    """
    cfg_path = Path(config.get("_path", "configs/x.yaml"))
    root = Path(root) if root else cfg_path.parent.parent
    runs_dir = Path(runs_dir or config.get("runs_dir") or root / "book" / "runs")
    results_dir = Path(results_dir or config.get("results_dir") or root / "results")
    runs: list[Run] = []
    by_grid: dict[str, list[Run]] = {}
    for grid in config["grids"]:
        unknown = [d for d in grid.get("depends_on", []) if d not in by_grid]
        if unknown:
            raise ValueError(
                f"grid {grid['name']!r} depends on {unknown}, which are not listed before it"
            )
        upstream = tuple(r for d in grid.get("depends_on", []) for r in by_grid[d])
        notebook = (root / grid["notebook"]).resolve()
        if not notebook.exists():
            raise FileNotFoundError(f"grid {grid['name']!r}: notebook {notebook} does not exist")
        declared = notebook_parameters(notebook)
        given = set(grid.get("fixed") or {}) | set(grid.get("parameters") or {})
        undeclared = sorted(given - set(declared))
        if undeclared:
            raise ValueError(
                f"{cfg_path}: grid {grid['name']!r} sets {undeclared}, which {notebook.name} "
                f"does not declare in its parameters cell ({sorted(declared)})"
            )
        inputs = tuple((root / p).resolve() for p in grid.get("inputs", []))
        for p in inputs:
            if not p.exists():
                raise FileNotFoundError(f"grid {grid['name']!r}: input {p} does not exist")
        space = grid.get("parameters") or {}
        names = list(space)
        for values in itertools.product(*(space[n] for n in names)):
            params = {**(grid.get("fixed") or {}), **dict(zip(names, values, strict=True))}
            params = _fill_templates(params, results_dir, grid["name"])
            rid = run_id(params, names)
            results = results_dir / grid["name"] / rid
            params = {**params, "results_dir": str(results), "run_id": rid}
            runs.append(
                Run(
                    grid=grid["name"],
                    notebook=notebook,
                    parameters=params,
                    run_id=rid,
                    output=runs_dir / grid["name"] / f"{rid}.ipynb",
                    results=results,
                    inputs=inputs,
                    upstream=upstream,
                )
            )
        by_grid[grid["name"]] = [r for r in runs if r.grid == grid["name"]]
    ids = [(r.grid, r.run_id) for r in runs]
    if len(set(ids)) != len(ids):
        raise ValueError("two runs of the same grid have the same id; check the configuration")
    return runs


def execute_run(run: Run) -> RunResult:
    """Execute one run (on a worker) and record its hash on success."""
    from .runner import execute_notebook

    start = time.perf_counter()
    # hashed before execution: a notebook or input edited while the run executes must not
    # be recorded as done (the next `run` executes it again)
    digest = run.digest()
    try:
        run.results.mkdir(parents=True, exist_ok=True)
        execute_notebook(
            run.notebook,
            run.output,
            run.parameters,
            progress_bar=False,
            cwd=run.notebook.parent,
            title_suffix=f"{run.grid}, {run.run_id}",
        )
    except Exception as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return RunResult(run.run_id, run.grid, "failed", time.perf_counter() - start, text)
    record = {"hash": digest, "parameters": run.parameters, "version": __version__}
    atomic_write_text(run.record, json.dumps(record, indent=2, default=str))
    return RunResult(run.run_id, run.grid, "done", time.perf_counter() - start)


def run_grid(
    runs: list[Run],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[RunResult]:
    """Execute runs on dask.distributed, skipping the current ones.

    Parameters
    ----------
    runs : list of Run
        From :func:`expand`.
    scheduler : str, optional
        Address of an existing dask scheduler (``tcp://host:8786``). Default: a
        :class:`distributed.LocalCluster` with ``workers`` single-threaded processes.
    workers : int, optional
        Workers of the LocalCluster (default: 2).
    force : bool
        Run even the runs whose hash is unchanged.
    progress : bool
        Show a progress bar over the grid.

    Returns
    -------
    list of RunResult
        One per run, in the order of ``runs``.
    """
    from distributed import Client, LocalCluster, as_completed
    from tqdm.auto import tqdm

    results: dict[tuple[str, str], RunResult] = {}
    todo = []
    for run in runs:
        if not force and run.is_current():
            results[(run.grid, run.run_id)] = RunResult(run.run_id, run.grid, "skipped")
        else:
            todo.append(run)
    if todo:
        cluster = None
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers or 2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
        client = Client(scheduler or cluster)
        try:
            bar = tqdm(total=len(todo), desc="notebook runs", disable=None if progress else True)
            for stage in _stages(todo):
                futures = client.map(execute_run, stage, pure=False)
                for future in as_completed(futures):
                    result = future.result()
                    results[(result.grid, result.run_id)] = result
                    bar.update(1)
                    bar.set_postfix_str(f"{result.status}: {result.grid}/{result.run_id}")
            bar.close()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return [results[(r.grid, r.run_id)] for r in runs]


def _fill_templates(params: dict, results_dir: Path, grid: str) -> dict:
    """Fill ``{results}`` and ``{<parameter>}`` placeholders in string parameters."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and "{" in value:
            try:
                value = value.format(results=results_dir, **params)
            except KeyError as exc:
                raise ValueError(
                    f"grid {grid!r}: parameter {key!r} uses unknown placeholder {exc}"
                ) from None
        out[key] = value
    return out


def _stages(runs: list[Run]) -> list[list[Run]]:
    """Group runs by grid, keeping the order in which grids first appear."""
    stages: dict[str, list[Run]] = {}
    for run in runs:
        stages.setdefault(run.grid, []).append(run)
    return list(stages.values())


def summarize(results: list[RunResult]) -> str:
    """A short text report: counts by status, then every failure."""
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    lines = [", ".join(f"{n} {s}" for s, n in counts.items())]
    lines += [f"FAILED {r.grid}/{r.run_id}: {r.error}" for r in results if r.status == "failed"]
    return "\n".join(lines)

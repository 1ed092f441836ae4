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

The schema is strict: the top level holds ``grids`` and optionally ``runs_dir`` and
``results_dir``; a grid holds ``name`` and ``notebook`` and optionally ``parameters``
(name -> non-empty list), ``fixed`` (name -> value), ``depends_on`` (list of grid names)
and ``inputs`` (list of files). Any other key is an error that names the closest valid
one. Every parameter is checked against the notebook's ``parameters`` cell (declared
name and type, :func:`analysis_lib.runner.check_parameters`) and a ``model`` against the
model registry, when the grid is expanded: before anything runs, and by ``--dry-run``.

**Paths.** Paths in a configuration (``notebook``, ``inputs``, ``runs_dir``,
``results_dir`` and any relative path in a parameter) are relative to the *project
root*: the folder that holds the configuration's ``configs/`` folder. ``--runs-dir`` and
``--results-dir`` given on the command line are relative to the current directory, as
for any command. Both are made absolute before anything runs, and the notebook kernels
run in the project root, so the runner and the kernels see the same folders. Grid names
are plain names (letters, digits, ``.``, ``_``, ``=``, ``-``): a run cannot write outside
``<runs_dir>/<grid>/`` and ``<results_dir>/<grid>/<run_id>/``.

Every run is executed with papermill (:func:`analysis_lib.runner.execute_notebook`). It
receives two extra parameters, ``results_dir`` (where it writes its netCDF results, an
absolute path to a folder that holds only this run's results) and ``run_id``. Executed
notebooks go to ``<runs_dir>/<grid>/<run_id>.ipynb`` and results to
``<results_dir>/<grid>/<run_id>/``.

A run starts as soon as the runs it depends on have finished (not when the whole of
their grids has): the workers stay busy while one long run of an earlier grid is still
going, and among the runs that can start, those on the longest chain of dependents go
first. A grid that reads what earlier grids wrote names them in ``depends_on``; a run
depends on the runs of those grids that agree with it on their varying parameters
(``study-a-encode`` with ``model=minilm`` depends on ``study-a-atoms`` with
``model=minilm``; a grid without that parameter depends on all of them). Their hashes
enter its own, so it re-runs whenever they change. String parameters may use
``{results}`` (the results folder) and ``{name}`` of any other parameter, e.g.
``atoms: "{results}/study-a-atoms/model={model}/atoms.nc"``.

A run is **skipped** when a record of a successful run with the same hash exists and
every output it recorded is still there and opens (netCDF files with xarray, notebooks
and JSON files as such); otherwise it is run again. The hash covers the notebook's
text, the digest of the library code the notebook imports (its transitive closure,
:mod:`analysis_lib.codehash`), the weights of the ``model`` parameter where the notebook
extracts from a model, the parameters, the SHA-256 of any declared input files and the
hashes of the runs it depends on. A run starts from an empty results folder, and the
temporary files of writes interrupted by a killed run are removed on the next run.

A **failed** run keeps its executed notebook, with the error, at
``<runs_dir>/<grid>/failed/<run_id>.ipynb``; the runs that depend on it are not run
(reported as ``blocked``); the other runs go on.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import os
import re
import shutil
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .io import atomic_write_text, sha256_file
from .runner import check_parameters, parameter_specs

RECORD_SUFFIX = ".done.json"
FAILED_FOLDER = "failed"

#: Keys a configuration may hold at its top level.
TOP_LEVEL_KEYS = frozenset({"grids", "runs_dir", "results_dir"})
#: Keys a grid may hold (``name`` and ``notebook`` are required).
GRID_KEYS = frozenset({"name", "notebook", "parameters", "fixed", "depends_on", "inputs"})
#: What a grid name may look like: one path component, never ``.`` or ``..``.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]*$")
#: Temporary files of :func:`analysis_lib.io.atomic_path`: ``.<stem>.<8 chars>.tmp<suffix>``.
TMP_PATTERN = re.compile(r"^\.(?P<stem>.+)\.[a-z0-9_]{8}\.tmp(?P<suffix>\.[^.]+)?$")

# the runner's own parameters, injected into every run
_RUNNER_PARAMETERS = ("results_dir", "run_id")


@dataclass(frozen=True)
class Run:
    """One notebook execution of a grid.

    Attributes
    ----------
    grid : str
        Name of its grid.
    notebook : pathlib.Path
        Absolute path of the notebook.
    parameters : dict
        Everything injected (the grid's values, ``results_dir`` and ``run_id``).
    run_id : str
        Readable id from the varying parameters.
    output : pathlib.Path
        The executed notebook (``<runs_dir>/<grid>/<run_id>.ipynb``).
    results : pathlib.Path
        Its results folder (``<results_dir>/<grid>/<run_id>``).
    inputs : tuple of pathlib.Path
        Declared input files (hashed).
    upstream : tuple of Run
        The runs it depends on.
    workdir : pathlib.Path, optional
        Working directory of the notebook kernel (the project root; default: the
        notebook's folder).
    """

    grid: str
    notebook: Path
    parameters: dict[str, Any]
    run_id: str
    output: Path
    results: Path
    inputs: tuple[Path, ...] = field(default_factory=tuple)
    upstream: tuple[Run, ...] = field(default_factory=tuple)
    workdir: Path | None = None

    @property
    def record(self) -> Path:
        """The file that marks this run as done, holding its hash and outputs."""
        return self.output.with_name(self.output.stem + RECORD_SUFFIX)

    @property
    def failed_output(self) -> Path:
        """Where the executed notebook of a failed execution is kept."""
        return self.output.parent / FAILED_FOLDER / self.output.name

    def digest(self) -> str:
        """Hash of everything that determines the run's result.

        The notebook's text, the digest of the library code it imports (transitively),
        the weights of its ``model`` where it extracts from one, the parameters, the
        declared inputs and the digests of the upstream runs.
        """
        from . import codehash

        modules, _ = codehash.notebook_modules(self.notebook)
        h = hashlib.sha256()
        h.update(f"analysis_lib {__version__}\n".encode())
        h.update(self.notebook.read_bytes())
        h.update(f"\ncode:{codehash.notebook_code_digest(self.notebook)}\n".encode())
        model = self.parameters.get("model")
        if model and "analysis_lib.extraction" in codehash.dependencies(modules):
            h.update(f"weights:{_weights_digest(str(model), self.workdir)}\n".encode())
        h.update(json.dumps(self.parameters, sort_keys=True, default=str).encode())
        for path in self.inputs:
            h.update(f"{path}:{sha256_file(path)}".encode())
        for run in self.upstream:
            h.update(f"{run.grid}/{run.run_id}:{run.digest()}".encode())
        return h.hexdigest()

    def stale_reason(self) -> str | None:
        """Why the run must be executed again, or None when its recorded result is current.

        Current means: a record with the run's :meth:`digest` exists, the executed
        notebook is there and parses, and every output file the record lists is there
        with its recorded size and opens (netCDF with xarray, ``.ipynb`` and ``.json`` as
        such).
        """
        if not self.record.is_file():
            return "not run yet"
        try:
            record = json.loads(self.record.read_text())
        except (OSError, ValueError):
            return f"its record {self.record} is unreadable"
        if record.get("hash") != self.digest():
            return "its notebook, parameters, inputs, library code or upstream runs changed"
        outputs = record.get("outputs")
        if not isinstance(outputs, dict):
            return "its record lists no outputs (written by an older version)"
        problem = _check_output(self.output, None)
        if problem:
            return problem
        for rel, size in sorted(outputs.items()):
            problem = _check_output(self.results / rel, size)
            if problem:
                return problem
        return None

    def is_current(self) -> bool:
        """True when :meth:`stale_reason` finds nothing to redo."""
        return self.stale_reason() is None


@dataclass
class RunResult:
    """What happened to one run."""

    run_id: str
    grid: str
    status: str  # "done", "skipped", "failed" or "blocked" (an upstream run failed)
    seconds: float = 0.0
    error: str = ""


def _check_output(path: Path, size: int | None) -> str | None:
    """None when ``path`` exists (with ``size`` bytes, if given) and opens; else why not."""
    if not path.is_file():
        return f"{path} is missing"
    if size is not None and path.stat().st_size != size:
        return f"{path} has {path.stat().st_size} bytes, {size} were recorded"
    try:
        if path.suffix in (".nc", ".nc4", ".h5", ".hdf5"):
            import xarray as xr

            with xr.open_dataset(path):
                pass  # opening reads the header and the variables' metadata
        elif path.suffix == ".ipynb":
            import nbformat

            nbformat.read(path, as_version=4)
        elif path.suffix == ".json":
            json.loads(path.read_text())
    except Exception as exc:
        return f"{path} does not open ({type(exc).__name__}: {exc})"
    return None


def _weights_digest(model: str, workdir: Path | None) -> str:
    """Digest of a model's weights, for run digests (tiny and trained: their code)."""
    from .models import get_spec

    try:
        kind = get_spec(model).kind
    except ValueError:
        kind = "path"
    if kind in ("tiny", "trained"):
        # built (or trained, deterministically) by library code the digest covers
        return f"{kind}:{model}"
    from .extraction import _weights_key

    if kind == "path" and workdir is not None and (workdir / model).is_dir():
        model = str(workdir / model)
    try:
        return _weights_key(model, None, 0)
    except FileNotFoundError:
        return "missing"  # the run fails; weights put in place later change the digest


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "-", str(value)).strip("-")


def run_id(parameters: Mapping[str, Any], varying: Iterable[str]) -> str:
    """A readable id from the varying parameters, e.g. ``model=minilm_subject=sub-01``.

    Parameters
    ----------
    parameters : mapping
        The run's parameters.
    varying : iterable of str
        Names of the parameters that vary across the grid.

    Returns
    -------
    str
        ``name=value`` pairs of the varying parameters joined by ``_`` (``default`` when none
        vary).
    """
    parts = [f"{k}={_slug(parameters[k])}" for k in varying]
    return "_".join(parts) or "default"


def _closest(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def validate_config(config: Mapping[str, Any], where: str = "grid configuration") -> None:
    """Check a configuration's schema; every problem is a ValueError naming ``where``.

    Unknown keys (top level and per grid) name the closest valid key; ``name`` must be
    a plain name (:data:`NAME_PATTERN`), names unique, ``parameters`` a mapping of
    non-empty lists, ``fixed`` a mapping, ``depends_on`` and ``inputs`` lists of strings.

    Parameters
    ----------
    config : mapping
        The parsed YAML configuration.
    where : str
        What the configuration is (its file), named in the errors.
    """
    if not isinstance(config, Mapping) or not isinstance(config.get("grids"), list):
        raise ValueError(f"{where}: needs a top-level 'grids' list")
    for key in config:
        if key not in TOP_LEVEL_KEYS and key != "_path":
            raise ValueError(
                f"{where}: unknown top-level key(s) [{key!r}]{_closest(key, TOP_LEVEL_KEYS)}; "
                f"allowed: {sorted(TOP_LEVEL_KEYS)}"
            )
    for key in ("runs_dir", "results_dir"):
        if key in config and not isinstance(config[key], str):
            raise ValueError(f"{where}: {key} must be a path (a string)")
    names: set[str] = set()
    for i, grid in enumerate(config["grids"]):
        if not isinstance(grid, Mapping):
            raise ValueError(f"{where}: grid #{i} must be a mapping with name and notebook")
        label = f"grid {grid.get('name', f'#{i}')!r}"
        for key in grid:
            if key not in GRID_KEYS:
                raise ValueError(
                    f"{where}: {label} has unknown key {key!r}{_closest(key, GRID_KEYS)}; "
                    f"allowed: {sorted(GRID_KEYS)}"
                )
        missing = {"name", "notebook"} - set(grid)
        if missing:
            raise ValueError(f"{where}: grid #{i} misses {sorted(missing)}")
        name = grid["name"]
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(
                f"{where}: grid #{i} name {name!r} must be a plain name (letters, digits, "
                "'.', '_', '=', '-'; no '/' and not starting with '.'), as it names folders"
            )
        if name in names:
            raise ValueError(f"{where}: two grids are named {name!r}")
        names.add(name)
        if not isinstance(grid["notebook"], str):
            raise ValueError(f"{where}: {label} notebook must be a path (a string)")
        for key in ("parameters", "fixed"):
            if grid.get(key) is not None and not isinstance(grid[key], Mapping):
                raise ValueError(f"{where}: {label} {key} must be a mapping of names to values")
        for key, values in (grid.get("parameters") or {}).items():
            if not isinstance(values, list) or not values:
                raise ValueError(
                    f"{where}: grid {name!r} parameter {key!r} must be a non-empty list"
                )
        for key in ("depends_on", "inputs"):
            value = grid.get(key)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                raise ValueError(f"{where}: {label} {key} must be a list of strings")
        overlap = set(grid.get("parameters") or {}) & set(grid.get("fixed") or {})
        if overlap:
            raise ValueError(
                f"{where}: {label} sets {sorted(overlap)} in both parameters and fixed"
            )


def load_config(path: str | os.PathLike[str]) -> dict:
    """Read and validate a grid configuration file.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When it is not valid YAML or breaks the schema (:func:`validate_config`); the
        message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such grid configuration")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from exc
    validate_config(config, str(path))
    config["_path"] = str(path.resolve())
    return config


def _check_model(value: Any, root: Path, where: str) -> None:
    """Refuse a ``model`` parameter that is neither registered nor a folder nor a hub id."""
    if not isinstance(value, str) or not value:
        return  # an empty label, or another type the notebook's declaration checks
    path = Path(value).expanduser()
    if (root / path).is_dir() or "/" in value:
        return  # a weights folder, or a hub id ("org/name") looked up when it runs
    from .models import get_spec

    try:
        get_spec(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _inside(path: Path, folder: Path, what: str) -> Path:
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ValueError(f"{what} {path} would be outside {folder}")
    return path


def expand(
    config: Mapping[str, Any],
    *,
    root: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    results_dir: str | os.PathLike[str] | None = None,
) -> list[Run]:
    """Expand a configuration into its runs, checking everything that can be checked.

    Parameters
    ----------
    config : mapping
        As returned by :func:`load_config`.
    root : path-like, optional
        The project root: notebook, input and configured paths are relative to it, and
        the kernels run in it (default: the folder that holds the configuration's parent
        ``configs/`` folder).
    runs_dir, results_dir : path-like, optional
        Where executed notebooks and results go; relative to the current directory
        (command-line options). Defaults: the config's ``runs_dir``/``results_dir``
        (relative to ``root``), else ``book/runs`` and ``results`` under ``root``.

    Returns
    -------
    list of Run
        In configuration order, with absolute paths.

    Raises
    ------
    ValueError
        A schema error, a parameter the notebook does not declare or of another type,
        an unknown model, a dependency on a grid not listed before.
    FileNotFoundError
        A missing notebook or input file.
    """
    cfg_path = Path(config.get("_path", "configs/x.yaml"))
    validate_config(config, str(cfg_path))
    root = Path(root).resolve() if root else cfg_path.resolve().parent.parent

    def folder(given, key: str, default: str) -> Path:
        if given:
            return Path(given).expanduser().resolve()  # command line: the current directory
        return (root / Path(config.get(key) or default).expanduser()).resolve()

    runs_dir = folder(runs_dir, "runs_dir", "book/runs")
    results_dir = folder(results_dir, "results_dir", "results")
    runs: list[Run] = []
    by_grid: dict[str, tuple[list[str], list[tuple[dict, Run]]]] = {}
    for grid in config["grids"]:
        name = grid["name"]
        where = f"{cfg_path}: grid {name!r}"
        depends_on = grid.get("depends_on") or []
        unknown = [d for d in depends_on if d not in by_grid]
        if unknown:
            raise ValueError(f"grid {name!r} depends on {unknown}, which are not listed before it")
        notebook = (root / grid["notebook"]).resolve()
        if not notebook.exists():
            raise FileNotFoundError(f"grid {name!r}: notebook {notebook} does not exist")
        specs = parameter_specs(notebook)
        given = set(grid.get("fixed") or {}) | set(grid.get("parameters") or {})
        undeclared = sorted(given - set(specs))
        if undeclared:
            hint = _closest(undeclared[0], specs)
            raise ValueError(
                f"{where} sets {undeclared}{hint}, which {notebook.name} does not declare in "
                f"its parameters cell ({sorted(specs)})"
            )
        runner_own = sorted(given & set(_RUNNER_PARAMETERS))
        if runner_own:
            raise ValueError(f"{where} sets {runner_own}, which the runner sets itself")
        inputs = tuple((root / p).resolve() for p in grid.get("inputs") or [])
        for p in inputs:
            if not p.exists():
                raise FileNotFoundError(f"grid {name!r}: input {p} does not exist")
        space = grid.get("parameters") or {}
        names = list(space)
        grid_runs: list[tuple[dict, Run]] = []
        for values in itertools.product(*(space[n] for n in names)):
            params = {**(grid.get("fixed") or {}), **dict(zip(names, values, strict=True))}
            params = _fill_templates(params, results_dir, name)
            rid = run_id(params, names)
            check_parameters(notebook, params, specs)
            if "model" in params:
                _check_model(params["model"], root, f"{where}, run {rid}")
            results = _inside(results_dir / name / rid, results_dir, f"{where}: results folder")
            output = _inside(runs_dir / name / f"{rid}.ipynb", runs_dir, f"{where}: output")
            upstream = tuple(
                r
                for d in depends_on
                for up_params, r in by_grid[d][1]
                if all(params[k] == up_params[k] for k in by_grid[d][0] if k in params)
            )
            run = Run(
                grid=name,
                notebook=notebook,
                parameters={**params, "results_dir": str(results), "run_id": rid},
                run_id=rid,
                output=output,
                results=results,
                inputs=inputs,
                upstream=upstream,
                workdir=root,
            )
            grid_runs.append((params, run))
        runs.extend(r for _, r in grid_runs)
        by_grid[name] = (names, grid_runs)
    ids = [(r.grid, r.run_id) for r in runs]
    if len(set(ids)) != len(ids):
        raise ValueError("two runs of the same grid have the same id; check the configuration")
    return runs


def remove_interrupted(runs: Iterable[Run]) -> list[Path]:
    """Remove the temporary files that writes interrupted by a killed run left behind.

    :func:`analysis_lib.io.atomic_path` writes ``.<stem>.<random>.tmp<suffix>`` next to
    its destination and renames it into place; a killed process leaves it there. This
    removes such files of these runs: their executed notebooks and records (in
    ``<runs_dir>/<grid>/`` and its ``failed/`` folder) and anything in their results
    folders.

    Returns
    -------
    list of pathlib.Path
        The removed files.
    """
    removed = []
    for run in runs:
        stems = {run.output.stem, run.record.stem}
        candidates = []
        for folder in (run.output.parent, run.failed_output.parent):
            if folder.is_dir():
                candidates += [p for p in folder.iterdir() if p.name.startswith(".")]
        if run.results.is_dir():
            candidates += list(run.results.rglob(".*"))
        for path in candidates:
            match = TMP_PATTERN.match(path.name)
            if not (match and path.is_file()):
                continue
            if path.parent in (run.output.parent, run.failed_output.parent) and (
                match["stem"] not in stems
            ):
                continue  # another run's file
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _outputs(folder: Path) -> dict[str, int]:
    """``{relative path: size}`` of the files a run wrote (temporary files excluded)."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not TMP_PATTERN.match(p.name)
    }


def _one_line(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text


def execute_run(run: Run) -> RunResult:
    """Execute one run (on a worker) and record its hash and outputs on success.

    The run starts from an empty results folder and without a record (a run killed
    midway is never taken as done). On failure the executed notebook is kept at
    :attr:`Run.failed_output` and the previous executed notebook, computed from other
    inputs, is removed.
    """
    from . import codehash
    from .runner import execute_notebook

    start = time.perf_counter()
    # hashed before execution: a notebook or input edited while the run executes must not
    # be recorded as done (the next `run` executes it again)
    digest = run.digest()
    remove_interrupted([run])
    run.record.unlink(missing_ok=True)
    run.failed_output.unlink(missing_ok=True)
    try:
        if run.results.exists():
            shutil.rmtree(run.results)  # only what this execution writes is its result
        run.results.mkdir(parents=True, exist_ok=True)
        execute_notebook(
            run.notebook,
            run.output,
            run.parameters,
            progress_bar=False,
            cwd=run.workdir or run.notebook.parent,
            title_suffix=f"{run.grid}, {run.run_id}",
            failed_output=run.failed_output,
        )
    except Exception as exc:
        text = _one_line(exc)
        if run.failed_output.is_file():
            text += f"\n  executed notebook with the error: {run.failed_output}"
        run.output.unlink(missing_ok=True)
        return RunResult(run.run_id, run.grid, "failed", time.perf_counter() - start, text)
    record = {
        "hash": digest,
        "parameters": run.parameters,
        "version": __version__,
        "package": str(codehash.package_dir()),
        "outputs": _outputs(run.results),
    }
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
        :class:`distributed.LocalCluster` with ``workers`` single-threaded processes,
        whose notebook kernels get the cores divided among the workers as their BLAS and
        torch threads (:func:`kernel_thread_env`).
    workers : int, optional
        Workers of the LocalCluster (default: 2).
    force : bool
        Run even the runs whose hash is unchanged.
    progress : bool
        Show a progress bar over the grid.

    Returns
    -------
    list of RunResult
        One per run, in the order of ``runs``. A run whose upstream run failed (or was
        blocked) is not executed: its status is ``blocked``.

    Notes
    -----
    A run is submitted when every run it depends on is done, with a dask priority of
    its longest chain of dependents (:func:`_chain_lengths`); a failed run blocks exactly
    the runs downstream of it.
    """
    from tqdm.auto import tqdm

    remove_interrupted(runs)
    results: dict[tuple[str, str], RunResult] = {}
    todo = []
    for run in runs:
        if not force and run.is_current():
            results[(run.grid, run.run_id)] = RunResult(run.run_id, run.grid, "skipped")
        else:
            todo.append(run)
    if not todo:
        return [results[(r.grid, r.run_id)] for r in runs]
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        n_workers = workers or 2
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # the notebook kernels inherit these: the cores divided among the workers
            # (dask's own default is one thread per worker process, whatever the cores)
            env=kernel_thread_env(n_workers),
        )
    client = Client(scheduler or cluster)
    key = _key
    pending = {key(r): r for r in todo}
    waiting = {key(r): {key(u) for u in r.upstream if key(u) in pending} for r in todo}
    dependents: dict[tuple[str, str], list[Run]] = {k: [] for k in pending}
    for run in todo:
        for up in waiting[key(run)]:
            dependents[up].append(run)
    priority = _chain_lengths(todo, dependents)
    futures = as_completed()
    try:
        bar = tqdm(total=len(todo), desc="notebook runs", disable=None if progress else True)

        def submit(run: Run) -> None:
            # longest chains of dependents first, then the configuration's order
            futures.add(client.submit(execute_run, run, pure=False, priority=priority[key(run)]))

        def block(run: Run, failed: Run) -> None:
            """Mark ``run`` and everything downstream of it as not run."""
            if key(run) in results:
                return
            error = f"upstream {failed.grid}/{failed.run_id} failed"
            results[key(run)] = RunResult(run.run_id, run.grid, "blocked", error=error)
            bar.update(1)
            for child in dependents[key(run)]:
                block(child, failed)

        for run in todo:
            if not waiting[key(run)]:
                submit(run)
        for future in futures:
            result = future.result()
            run = pending[(result.grid, result.run_id)]
            results[key(run)] = result
            bar.update(1)
            bar.set_postfix_str(f"{result.status}: {result.grid}/{result.run_id}")
            for child in dependents[key(run)]:
                if result.status == "failed":
                    block(child, run)
                    continue
                waiting[key(child)].discard(key(run))
                if not waiting[key(child)] and key(child) not in results:
                    submit(child)
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


def _key(run: Run) -> tuple[str, str]:
    return (run.grid, run.run_id)


def _chain_lengths(
    runs: list[Run], dependents: Mapping[tuple[str, str], list[Run]]
) -> dict[tuple[str, str], int]:
    """Dask priority of each run: the number of runs on its longest chain of dependents.

    A run that others wait on starts before a run of the same readiness that nobody
    waits on, so the last runs of a grid do not leave a worker idle at the end.
    """
    length: dict[tuple[str, str], int] = {}

    def chain(run: Run) -> int:
        k = _key(run)
        if k not in length:
            length[k] = 1 + max((chain(c) for c in dependents.get(k, ())), default=0)
        return length[k]

    for run in runs:
        chain(run)
    return length


def kernel_thread_env(n_workers: int, cores: int | None = None) -> dict[str, str]:
    """Thread counts for the notebook kernels of ``n_workers`` workers sharing ``cores``.

    Parameters
    ----------
    n_workers : int
        Workers running one notebook each at a time.
    cores : int, optional
        CPU cores (default: those this process may run on).

    Returns
    -------
    dict
        ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` (read by torch
        and numpy's BLAS at start-up): the cores divided among the workers, at least 1.
        A variable already set in the environment is kept.
    """
    if cores is None:
        cores = (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        )
    threads = str(max(1, int(cores or 1) // max(1, int(n_workers))))
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    return {name: os.environ.get(name, threads) for name in names}


def summarize(results: list[RunResult]) -> str:
    """A short text report: counts by status, then every failed and every blocked run."""
    statuses = ("done", "skipped", "failed", "blocked")
    counts = {s: sum(r.status == s for r in results) for s in statuses}
    lines = [", ".join(f"{n} {s}" for s, n in counts.items() if n or s != "blocked")]
    lines += [f"FAILED {r.grid}/{r.run_id}: {r.error}" for r in results if r.status == "failed"]
    lines += [f"NOT RUN {r.grid}/{r.run_id}: {r.error}" for r in results if r.status == "blocked"]
    return "\n".join(lines)

r"""Execute a grid of notebooks (models x datasets x subjects x parameters) on dask.

Examples::

    python -m analysis_lib run --config configs/default.yaml
    python -m analysis_lib run --config configs/default.yaml --workers 2
    python -m analysis_lib run --config configs/full.yaml --dry-run
    python -m analysis_lib run --config configs/full.yaml --scheduler tcp://10.0.0.5:8786

Every parameter is checked against its notebook's declared types, and every model
against the registry, before anything runs (``--dry-run`` checks the same and lists the
runs). Paths in the configuration are relative to the project root (the folder that
holds ``configs/``); ``--runs-dir`` and ``--results-dir`` are relative to the current
directory.

A run is skipped when its notebook, the library code it imports, its parameters, inputs
and upstream runs are unchanged and its recorded outputs still open. A failed run keeps
its executed notebook under ``<runs-dir>/<grid>/failed/``; the runs that depend on it
are not run. Failed and blocked runs are listed at the end and make the exit status 1;
the other runs still complete.
"""

from __future__ import annotations

import argparse

NAME = "run"
HELP = "execute a grid of parameterized notebooks on dask (resumable)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="grid configuration (YAML)")
    parser.add_argument("--scheduler", help="address of an existing dask scheduler")
    parser.add_argument("--workers", type=int, help="LocalCluster workers (default 2)")
    parser.add_argument("--runs-dir", help="executed notebooks (default <project root>/book/runs)")
    parser.add_argument("--results-dir", help="netCDF results (default <project root>/results)")
    parser.add_argument("--force", action="store_true", help="re-run unchanged runs too")
    parser.add_argument(
        "--dry-run", action="store_true", help="check the configuration, list the runs, exit"
    )


def run(args: argparse.Namespace) -> int:
    from ..grid import expand, load_config, remove_interrupted, run_grid, summarize

    runs = expand(load_config(args.config), runs_dir=args.runs_dir, results_dir=args.results_dir)
    if args.dry_run:
        for r in runs:
            reason = None if args.force else r.stale_reason()
            state = "current" if not args.force and reason is None else "to run"
            why = f" ({reason})" if reason else ""
            print(f"{r.grid}/{r.run_id}  [{state}]{why}  -> {r.output}")
        return 0
    removed = remove_interrupted(runs)
    if removed:
        print(f"removed {len(removed)} temporary file(s) of interrupted writes")
    results = run_grid(runs, scheduler=args.scheduler, workers=args.workers, force=args.force)
    print(summarize(results))
    return 1 if any(r.status in ("failed", "blocked") for r in results) else 0

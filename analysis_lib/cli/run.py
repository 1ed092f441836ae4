"""Execute a grid of notebooks (models x datasets x subjects x parameters) on dask.

Examples::

    python -m analysis_lib run --config configs/default.yaml
    python -m analysis_lib run --config configs/default.yaml --workers 2
    python -m analysis_lib run --config configs/full.yaml --scheduler tcp://10.0.0.5:8786

Runs whose notebook, parameters and inputs are unchanged are skipped. Failed runs are
listed at the end and make the exit status 1; the other runs still complete.
"""

from __future__ import annotations

import argparse

NAME = "run"
HELP = "execute a grid of parameterized notebooks on dask (resumable)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="grid configuration (YAML)")
    parser.add_argument("--scheduler", help="address of an existing dask scheduler")
    parser.add_argument("--workers", type=int, help="LocalCluster workers (default 2)")
    parser.add_argument("--runs-dir", help="executed notebooks (default book/runs)")
    parser.add_argument("--results-dir", help="netCDF results (default results)")
    parser.add_argument("--force", action="store_true", help="re-run unchanged runs too")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and exit")


def run(args: argparse.Namespace) -> int:
    from ..grid import expand, load_config, run_grid, summarize

    runs = expand(load_config(args.config), runs_dir=args.runs_dir, results_dir=args.results_dir)
    if args.dry_run:
        for r in runs:
            state = "current" if r.is_current() else "to run"
            print(f"{r.grid}/{r.run_id}  [{state}]  -> {r.output}")
        return 0
    results = run_grid(runs, scheduler=args.scheduler, workers=args.workers, force=args.force)
    print(summarize(results))
    return 1 if any(r.status == "failed" for r in results) else 0

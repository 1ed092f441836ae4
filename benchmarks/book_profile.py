"""Where a cold ``make book`` spends its time: the grid's notebook runs and the pages.

Claim checked (issue 15): ``make book`` stays under 30 minutes on 2 cores. This script does
not time anything itself: it reads a tree that ``make book`` has just built (for example
the clean clone that ``.ci/run`` builds) and records, from what the build wrote,

- each grid run's execution time (``metadata.papermill.duration`` of the executed
  notebooks under ``book/runs``), summed per grid; the grid runs on a LocalCluster of
  single-threaded workers, so its wall time is about this sum divided by the workers;
- each page's execution time (``execution_seconds`` of the jupyter-cache records in
  ``_build/.jupyter_cache``) and, where ``book/_build.py`` executed the pages several at a
  time before the build, that step's measured wall time and jobs
  (``_build/.page_execution.json``); otherwise the pages ran one after another;
- the wall time of ``make book`` as ``.ci/run`` printed it (``--make-book-s``).

Exact command (after ``.ci/run`` in a clean clone CLONE, whose log says
``make book finished in S s``)::

    .venv/bin/python benchmarks/book_profile.py --tree CLONE --make-book-s S \\
        --out benchmarks/results/book_profile.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _records import machine, write_record  # noqa: E402


def grid_runs(tree: Path) -> dict[str, dict[str, float]]:
    """``{grid: {run: seconds}}`` from the executed notebooks under ``book/runs``."""
    out: dict[str, dict[str, float]] = {}
    for nb in sorted((tree / "book" / "runs").rglob("*.ipynb")):
        meta = json.loads(nb.read_text()).get("metadata", {}).get("papermill", {})
        if meta.get("duration") is None:
            raise SystemExit(f"{nb}: no papermill duration (was it executed by the grid?)")
        out.setdefault(nb.parent.name, {})[nb.stem] = round(float(meta["duration"]), 1)
    if not out:
        raise SystemExit(f"{tree}/book/runs: no executed grid notebooks")
    return out


def page_times(tree: Path) -> dict[str, float]:
    """``{page: seconds}`` from the book's execution cache."""
    db = tree / "_build" / ".jupyter_cache" / "global.db"
    if not db.is_file():
        raise SystemExit(f"{db}: missing (build the book in {tree} first)")
    with sqlite3.connect(db) as con:
        rows = con.execute("select uri, data from nbcache").fetchall()
    pages = {}
    for uri, data in rows:
        seconds = json.loads(data).get("execution_seconds") if data else None
        if seconds is not None:
            pages[str(Path(uri).resolve().relative_to(tree.resolve()))] = round(seconds, 1)
    return dict(sorted(pages.items(), key=lambda kv: -kv[1]))


def boot_time() -> int | None:
    """Boot time of this machine (seconds since the epoch), from ``/proc/stat``."""
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def portable_command(argv: list[str]) -> str:
    """The command as a reader would type it: the built tree is named CLONE.

    The record is shown in the book, which must not carry a path of the machine
    that built it (``check_book`` refuses absolute machine paths).
    """
    out, skip = ["python", "benchmarks/book_profile.py"], False
    for arg in argv:
        if skip:
            out.append("CLONE")
            skip = False
        elif arg == "--tree":
            out.append(arg)
            skip = True
        elif arg.startswith("--tree="):
            out.append("--tree=CLONE")
        else:
            out.append(arg)
    return " ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", type=Path, required=True, help="a tree make book has built")
    ap.add_argument("--make-book-s", type=float, required=True, help="make book wall time")
    ap.add_argument("--workers", type=int, default=2, help="workers of the grid")
    ap.add_argument(
        "--with-series",
        action="store_true",
        help="the build had the Qwen weights in its data home (the model-size series)",
    )
    ap.add_argument("--out", type=Path, default=HERE / "results" / "book_profile.json")
    args = ap.parse_args()
    tree = args.tree.resolve()
    grids = grid_runs(tree)
    pages = page_times(tree)
    grid_sum = sum(sum(r.values()) for r in grids.values())
    page_sum = sum(pages.values())
    step = tree / "_build" / ".page_execution.json"
    step = json.loads(step.read_text()) if step.is_file() else {"jobs": 1, "wall_s": page_sum}
    commit = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    record = {
        "command": portable_command(sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "make_book_s": args.make_book_s,
        "with_series": bool(args.with_series),
        "workers": args.workers,
        "grid_notebook_s": round(grid_sum, 1),
        "grid_wall_estimate_s": round(grid_sum / args.workers, 1),
        "page_execution_s": round(page_sum, 1),
        "page_jobs": int(step["jobs"]),
        "page_wall_s": round(float(step["wall_s"]), 1),
        "other_s": round(args.make_book_s - grid_sum / args.workers - float(step["wall_s"]), 1),
        "grids": {g: {"sum_s": round(sum(r.values()), 1), "runs": r} for g, r in grids.items()},
        "pages": pages,
        # The boot time tells whether two records come from one machine (one session).
        "machine": machine() | {"boot_time": boot_time()},
    }
    write_record(args.out, record)
    print(json.dumps({k: v for k, v in record.items() if k not in ("grids", "pages")}, indent=1))


if __name__ == "__main__":
    main()

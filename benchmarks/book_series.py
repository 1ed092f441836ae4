"""What the Qwen series adds to the book build: the Alice chapter with and without it.

Claim checked (issue 15): ``make book`` stays under 30 minutes on 2 cores with the model
series. Only the Alice chapter (``book/study_a/alice.py``) computes the Qwen feature sets,
and only when the weights are prepared in the data home; every other page and the grid
are the same either way. This script executes that chapter (as the book build does: its
own folder as working directory, a fresh kernel) twice, each time in a fresh, empty data
home, so that nothing is cached: once without the weights (as in CI) and once with the
prepared weights linked into the data home. The difference is the series' cost on a cold
build. Exact command (needs ``make weights`` and the Alice data)::

    ANALYSIS_LIB_EXTRA_DATA=../shared/data .venv/bin/python benchmarks/book_series.py

The total of a cold ``make book`` with the series is then the CI build time of the same
commit plus this difference (both measured on the same 2-core machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = ROOT / "book" / "study_a" / "alice.py"

RUN = r"""
import sys, jupytext, nbclient
page = sys.argv[1]
nb = jupytext.read(page)
client = nbclient.NotebookClient(
    nb, timeout=7200, kernel_name="python3",
    resources={"metadata": {"path": str(__import__("pathlib").Path(page).parent)}},
)
client.execute()
"""


def run_case(weights: Path | None) -> dict:
    """Execute the chapter in a fresh data home; ``weights``: the folder to link in."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "analysis_lib_data"
        home.mkdir()
        if weights is not None:
            (home / "weights").symlink_to(weights, target_is_directory=True)
        env = {**os.environ, "ANALYSIS_LIB_DATA": str(home), "MPLBACKEND": "Agg"}
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", RUN, str(PAGE)], env=env, capture_output=True, text=True
        )
        wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(
            f"the chapter failed ({'with' if weights else 'without'} weights):\n"
            + done.stderr[-3000:]
        )
    return {"weights": weights is not None, "wall_s": round(wall, 1)}


def main(argv: list[str] | None = None) -> int:
    from analysis_lib.io import atomic_write_text
    from analysis_lib.paths import data_home
    from analysis_lib.weights import gguf_parts as gp

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results" / "book_series.json")
    args = ap.parse_args(argv)
    missing = [m for m in ("qwen2.5-0.5b", "qwen2.5-1.5b") if not gp.is_converted(m)]
    if missing:
        raise SystemExit(f"weights not prepared: {missing}; run make weights")
    weights = data_home() / "weights"
    load_before = os.getloadavg()
    cases = [run_case(None), run_case(weights)]
    for c in cases:
        print(
            f"alice chapter, {'with' if c['weights'] else 'without'} the Qwen weights: "
            f"{c['wall_s']:.1f} s",
            flush=True,
        )
    record = {
        "command": "python benchmarks/book_series.py",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "page": "book/study_a/alice.py",
        "cases": cases,
        "series_added_s": round(cases[1]["wall_s"] - cases[0]["wall_s"], 1),
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_average_before": list(load_before),
            "load_average_after": list(os.getloadavg()),
        },
    }
    atomic_write_text(args.out, json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Record the Alice comparison of the book preset with the Qwen series (issue 15).

The Alice chapter runs :func:`analysis_lib.comparison.compare` with the ``book`` preset
during the build. The Qwen2.5-Coder models take part only when their weights are prepared
in the data home (``python -m analysis_lib fetch-weights qwen2.5-0.5b qwen2.5-1.5b``,
about 1.6 GB and a conversion), which a fresh CI build does not do. This script runs the
same stage, with the same parameters as the chapter, on a machine where the weights are
prepared, and records per feature set the mean held-out dR^2 over ROIs with its interval,
the Holm-corrected p and each causal model's perplexity. When the weights are missing the
chapter draws the Qwen points from this record, marked as recorded and with its command,
date and commit, and checks the record's other rows against the ones it has just computed
(the same code gives the same numbers). Exact command::

    python -m analysis_lib fetch-weights qwen2.5-0.5b qwen2.5-1.5b
    ANALYSIS_LIB_EXTRA_DATA=../shared/data python benchmarks/alice_series.py --n-jobs 2

Result: ``benchmarks/results/alice_series.json`` (written atomically).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
OUT = HERE / "results" / "alice_series.json"


def _commit() -> str:
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    from _records import machine, write_record

    from analysis_lib.comparison import CompareParams, cached_compare
    from analysis_lib.comparison.stage import SERIES, series_rows
    from analysis_lib.models import is_available

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    missing = [m for m in SERIES if m.startswith("qwen") and not is_available(m)]
    if missing:
        raise SystemExit(
            "the Qwen weights are not prepared ("
            + ", ".join(missing)
            + "): run python -m analysis_lib fetch-weights "
            + " ".join(missing)
        )
    params = CompareParams(dataset="alice", features="book", n_jobs=args.n_jobs)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"alice: subject .* left out")
        ds = cached_compare(params, progress=True)
    record = {
        "what": "Alice comparison, book preset, with the Qwen series (mean dR^2 over ROIs)",
        "command": "python benchmarks/alice_series.py " + " ".join(argv or sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "commit": _commit(),
        "seconds": round(time.perf_counter() - t0, 1),
        "params": {k: v for k, v in params.as_dict().items() if k != "n_jobs"},
        "n_subjects": int(ds.sizes["subject"]),
        "subjects": [str(s) for s in ds["subject"].values],
        "rows": series_rows(ds),
        "machine": machine(),
    }
    write_record(Path(args.out), record)
    print(f"wrote {args.out}: {len(record['rows'])} feature sets, {record['n_subjects']} subjects")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

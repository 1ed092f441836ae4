"""Time to train the four tiny models on the default-movie world, and what they learned.

Exact command (from the repository root)::

    .venv/bin/python benchmarks/training_time.py

Runs ``python -m analysis_lib train --report --json --no-progress`` once in a fresh,
temporary data home (so everything is trained from scratch: world rendering, the four
trainings in two worker processes, the untrained-twin evaluations, the report), and
records its wall time, the CPU time of the process tree (user + system, from
``RUSAGE_CHILDREN``), the number of CPUs and the load average before and after. The
target of issue 9 is at most 5 minutes wall time on 2 cores for all four models; on a
shared machine compare CPU time (which load inflates far less than wall time) with
2 x 300 s. Results: ``benchmarks/results/training_time.json``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "training_time.json"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="analysis_lib_train_") as home:
        env = dict(os.environ, ANALYSIS_LIB_DATA=home, HF_HUB_OFFLINE="1")
        env["TRANSFORMERS_OFFLINE"] = "1"
        load_before = os.getloadavg()
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "analysis_lib", "train", "--report", "--json", "--no-progress"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        print(proc.stdout, proc.stderr, sep="\n", file=sys.stderr)
        return proc.returncode
    report = json.loads(proc.stdout[proc.stdout.index("[") :])
    result = {
        "command": "python -m analysis_lib train --report --json --no-progress (fresh data home)",
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "target": "<= 300 s wall on 2 cores for all four models",
        "report": report,
        "stdout_head": proc.stdout[: proc.stdout.index("[")].strip().splitlines(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "report"}, indent=2))
    for row in report:
        print(
            f"{row['model']:<26} {row['metric']:<16} trained {row['trained']:.3f} "
            f"untrained {row['untrained']:.3f} chance {row['chance']:.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

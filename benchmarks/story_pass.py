"""One pass over a story for neurons and surprisal, against two separate passes.

Claim checked (issue 15, build time): :func:`analysis_lib.surprisal.cached_story_pass`
gives a causal LM's neuron responses and its word surprisal from one set of forward passes
(the LM head applied only to the rows that predict each window's targets), in less time
than the reference, the extraction (``cached_extract``) followed by the surprisal-only pass
(``cached_surprisal``), and with the same numbers: responses identical, surprisal equal to
float32 rounding (the head runs on a subset of rows instead of every position).

Each case runs in a fresh subprocess and a fresh, empty data home (nothing cached; the
prepared Qwen weights are linked in), reference first, then the shared pass. Exact command
(needs the Alice data; the Qwen cases need ``make weights``)::

    ANALYSIS_LIB_EXTRA_DATA=../shared/data .venv/bin/python benchmarks/story_pass.py

Result: ``benchmarks/results/story_pass.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _records import machine, write_record  # noqa: E402

MODELS = ("smollm2", "qwen2.5-0.5b", "qwen2.5-1.5b")

CASE = r"""
import json, sys, time, warnings
import numpy as np
from analysis_lib import extraction, surprisal
warnings.simplefilter("ignore")
model, mode = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode == "separate":
    r = extraction.cached_extract(model, "alice", progress=False)
    t = surprisal.cached_surprisal(model, "alice")
else:
    r, t = surprisal.cached_story_pass(model, "alice")
wall = time.perf_counter() - t0
np.save(sys.argv[3] + ".npy", r.values)
t.to_csv(sys.argv[3] + ".csv", index=False)
print(json.dumps({"wall_s": wall, "perplexity": t.attrs["perplexity"]}))
"""


def run(model: str, mode: str, out: Path, weights: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "analysis_lib_data"
        home.mkdir()
        if weights is not None:
            (home / "weights").symlink_to(weights, target_is_directory=True)
        env = {**os.environ, "ANALYSIS_LIB_DATA": str(home)}
        done = subprocess.run(
            [sys.executable, "-c", CASE, model, mode, str(out)],
            env=env,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise SystemExit(f"{model} ({mode}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import pandas as pd

    from analysis_lib.paths import data_home
    from analysis_lib.weights import gguf_parts as gp

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--out", type=Path, default=HERE / "results" / "story_pass.json")
    args = ap.parse_args(argv)
    weights = data_home() / "weights"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            if model.startswith("qwen") and not gp.is_converted(model):
                print(f"{model}: weights not prepared (make weights); skipped", flush=True)
                continue
            a, b = Path(tmp) / f"{model}-sep", Path(tmp) / f"{model}-one"
            sep = run(model, "separate", a, weights if weights.is_dir() else None)
            one = run(model, "one-pass", b, weights if weights.is_dir() else None)
            same = bool(np.array_equal(np.load(f"{a}.npy"), np.load(f"{b}.npy")))
            ta, tb = pd.read_csv(f"{a}.csv"), pd.read_csv(f"{b}.csv")
            diff = float(np.nanmax(np.abs(ta["surprisal"] - tb["surprisal"])))
            row = {
                "model": model,
                "separate_s": round(sep["wall_s"], 1),
                "one_pass_s": round(one["wall_s"], 1),
                "ratio": round(one["wall_s"] / sep["wall_s"], 3),
                "responses_identical": same,
                "max_abs_surprisal_diff_nats": diff,
                "perplexity": one["perplexity"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    write_record(
        args.out,
        {
            "command": "python benchmarks/story_pass.py " + " ".join(argv or sys.argv[1:]),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "rows": rows,
            "machine": machine(),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Scale of SparseDictionary: wall time and peak memory vs number of neurons.

Exact command (from the repository root)::

    .venv/bin/python benchmarks/decomposition_scale.py
    .venv/bin/python benchmarks/decomposition_scale.py --sizes 1000000   # the full size

Each size runs in a fresh subprocess (so its peak resident set size, ``ru_maxrss``, is its
own): a float32 matrix of 1,000 volumes x N neurons (smooth shared time courses mixed
sparsely plus noise), ``SparseDictionary(n_atoms=64, alpha=0.1, normalize="unit",
max_iter=EPOCHS, tol=0)`` (a fixed number of epochs, so times compare across sizes), one
torch thread. Reported per size: fit wall time (epochs plus the final coding pass), peak RSS,
and the bytes of the input matrix. Then, on the same process, two evaluations of the L-BFGS
refinement stage (``refine_atoms_lbfgs`` with ``max_eval=2``, on the fitted atoms and codes,
the matrix unit-normalized in place): seconds per evaluation and the peak RSS after it (the
refinement starts only once block coordinate descent slows down, so a fixed-epoch fit never
reaches it; this measures its cost at each size). A least-squares line through (N, peak RSS) and
(N, time) checks linear growth; values at sizes that were not run are extrapolations and
labelled so in the JSON. Results: ``benchmarks/results/decomposition_scale.json`` (merged
with earlier runs of other sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "decomposition_scale.json"
N_TIME = 1000
TARGET = 1_000_000


def child(n_neuron: int, epochs: int) -> None:
    """Run one size and print a JSON line with the measurements."""
    import warnings

    import torch

    from analysis_lib.decomposition import SparseDictionary, column_sqnorm, refine_atoms_lbfgs

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    F = np.cumsum(rng.standard_normal((N_TIME, 16)), axis=0).astype(np.float32)
    X = np.empty((N_TIME, n_neuron), dtype=np.float32)
    step = 10_000
    for i in range(0, n_neuron, step):  # generated in chunks to keep temporaries small
        m = min(step, n_neuron - i)
        W = rng.standard_normal((16, m), dtype=np.float32)
        W *= rng.random((16, m), dtype=np.float32) < 0.2
        X[:, i : i + m] = F @ W + rng.standard_normal((N_TIME, m), dtype=np.float32)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    model = SparseDictionary(
        n_atoms=64,
        alpha=0.1,
        normalize="unit",
        max_iter=epochs,
        tol=0.0,
        n_threads=1,
        verbose=False,
    )
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # one L-BFGS refinement stage of two evaluations, on the data normalized in place
    for i in range(0, n_neuron, step):
        block = X[:, i : i + step]
        block /= np.sqrt(np.einsum("ij,ij->j", block, block, dtype=np.float64)).astype(np.float32)
    with torch.no_grad():
        Xt = torch.from_numpy(X)
        xx = column_sqnorm(Xt)
        A = torch.from_numpy(model.loadings_.copy())
        t = time.perf_counter()
        _, _, refine_trace, _ = refine_atoms_lbfgs(
            Xt, xx, model.atoms_.astype(np.float64), A, 0.1, max_eval=2, tol=0.0
        )
        refine_wall = (time.perf_counter() - t) / len(refine_trace)
    peak_refine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "n_neuron": n_neuron,
                "n_time": N_TIME,
                "epochs": model.n_iter_,
                "fit_wall_s": wall,
                "peak_rss_bytes": peak,
                "lbfgs_eval_s": refine_wall,
                "peak_rss_after_lbfgs_bytes": peak_refine,
                "rss_after_data_bytes": rss_data,
                "input_bytes": X.nbytes,
                "objective": float(model.objective_[-1]),
                "mean_r2": float(np.nanmean(model.r2_)),
            }
        )
    )


def linear(x: np.ndarray, y: np.ndarray) -> dict:
    slope, intercept = np.polyfit(x, y, 1)
    pred = slope * x + intercept
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else 1.0
    return {
        "slope_per_neuron": float(slope),
        "intercept": float(intercept),
        "r2": r2,
        "at_1e6": float(slope * TARGET + intercept),
    }


def write_results(runs: dict, epochs: int) -> None:
    """Summarize the runs so far (linear fits, 1e6 value) and write the JSON."""
    ordered = [runs[n] for n in sorted(runs)]
    x = np.array([r["n_neuron"] for r in ordered], dtype=float)
    result = {
        "command": ".venv/bin/python benchmarks/decomposition_scale.py --sizes "
        + " ".join(str(n) for n in sorted(runs))
        + f" --epochs {epochs}",
        "setup": {
            "n_time": N_TIME,
            "n_atoms": 64,
            "alpha": 0.1,
            "normalize": "unit",
            "dtype": "float32",
            "torch_threads": 1,
            "epochs": epochs,
        },
        "runs": ordered,
        "memory_budget_bytes": 24 * 2**30,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_avg_at_end": os.getloadavg(),
            "note": "CPU shared with other jobs; timings are noisy",
        },
    }
    if len(ordered) >= 2:
        for r in ordered:  # the process peak, over the fit and the L-BFGS evaluations
            r["peak_rss_overall_bytes"] = max(
                r["peak_rss_bytes"], r.get("peak_rss_after_lbfgs_bytes", 0)
            )
        fit_rss = linear(x, np.array([r["peak_rss_overall_bytes"] for r in ordered], dtype=float))
        fit_time = linear(x, np.array([r["fit_wall_s"] for r in ordered], dtype=float))
        measured_full = TARGET in runs
        result["peak_rss_vs_neurons"] = fit_rss
        result["wall_time_vs_neurons"] = fit_time
        result["at_1e6_neurons"] = {
            "measured": measured_full,
            "peak_rss_bytes": runs[TARGET]["peak_rss_overall_bytes"] if measured_full else None,
            "lbfgs_eval_s": runs[TARGET].get("lbfgs_eval_s") if measured_full else None,
            "fit_wall_s": runs[TARGET]["fit_wall_s"] if measured_full else None,
            "extrapolated_peak_rss_bytes": fit_rss["at_1e6"],
            "extrapolated_fit_wall_s": fit_time["at_1e6"],
            "label": "measured"
            if measured_full
            else "EXTRAPOLATION from the smaller sizes (linear fit), not a measurement",
            "fits_in_24GB": bool(
                (runs[TARGET]["peak_rss_overall_bytes"] if measured_full else fit_rss["at_1e6"])
                < 24 * 2**30
            ),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    from analysis_lib.io import atomic_write_text

    atomic_write_text(RESULTS, json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 40_000, 80_000, 160_000])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.epochs)
        return

    runs = {}
    if RESULTS.exists():
        old = json.loads(RESULTS.read_text())
        runs = {int(r["n_neuron"]): r for r in old.get("runs", []) if r["epochs"] == args.epochs}
    for n in args.sizes:
        print(f"n_neuron={n} ...", flush=True)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--epochs", str(args.epochs)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"size {n} failed:\n{out.stderr[-3000:]}")
        rec = json.loads(out.stdout.strip().splitlines()[-1])
        rec["command"] = f"benchmarks/decomposition_scale.py --sizes {n} --epochs {args.epochs}"
        runs[n] = rec
        print(
            f"  {rec['fit_wall_s']:.1f} s, peak RSS {rec['peak_rss_bytes'] / 2**30:.2f} GiB; "
            f"L-BFGS evaluation {rec['lbfgs_eval_s']:.1f} s, peak RSS "
            f"{rec['peak_rss_after_lbfgs_bytes'] / 2**30:.2f} GiB",
            flush=True,
        )
        write_results(runs, args.epochs)


if __name__ == "__main__":
    main()

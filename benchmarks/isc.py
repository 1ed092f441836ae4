"""Benchmark: the ``isc`` stage (ISC + circular-shift null + subject bootstrap) vs subjects.

Exact command (it produced benchmarks/results/isc.json)::

    ANALYSIS_LIB_EXTRA_DATA=../shared/data OMP_NUM_THREADS=2 \\
        .venv/bin/python benchmarks/isc.py

1. Every Partly Cloudy subject present (60 in the development copy) x 293 regions, the
   stage's defaults (pairwise, median, 1,000 circular-shift null draws, 1,000 bootstrap
   samples, network means): wall and CPU time, for ``pairs="all"`` and ``pairs="twins"``.
2. Scaling: the subjects replicated (each copy gets independent Gaussian noise of SD 0.5 so
   that no two series are identical) to 30 .. 289 subjects (289: the public repository),
   ``pairwise`` and ``loo``, with ``--scale-perm`` null draws and bootstrap samples (default
   200: every draw costs the same, so the shape of the curve does not depend on it). Each
   step is timed on its own: the observed ISC, the null, the bootstrap. A straight line
   ``time = a + b n`` is fitted to each and its R^2 reported, with the time per subject.

What to expect from the method: ``loo`` costs ``O(n T R)`` per draw (linear). ``pairwise``
has ``n (n - 1) / 2`` pairs: the observed ISC and the bootstrap (which resamples the pair
correlations) are quadratic in ``n``; the null uses at most ``null_max_subjects`` (64)
subjects per draw, so beyond 64 its per-draw cost is constant (plus a one-off FFT of all
pairs, quadratic). The benchmark measures all of this rather than assuming it.

Timings are on a 2-core CPU shared with other jobs: wall times are noisy, CPU times
(``time.process_time``, all threads of this process) less so; both are recorded, with the
1-minute load average at the start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from analysis_lib import __version__
from analysis_lib.datasets import partly_cloudy as pc
from analysis_lib.io import atomic_write_text
from analysis_lib.isc import ISCParams, core, isc

OUT = Path(__file__).parent / "results" / "isc.json"


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - w, time.process_time() - c


def _replicate(bold: xr.DataArray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = bold.values
    idx = np.arange(n) % base.shape[0]
    out = base[idx].copy()
    extra = np.arange(n) >= base.shape[0]
    out[extra] += 0.5 * rng.standard_normal(out[extra].shape)
    return out


def _line(ns, ts) -> dict:
    ns, ts = np.asarray(ns, float), np.asarray(ts, float)
    b, a = np.polyfit(ns, ts, 1)
    pred = a + b * ns
    r2 = 1 - ((ts - pred) ** 2).sum() / ((ts - ts.mean()) ** 2).sum()
    return {"intercept_s": float(a), "slope_s_per_subject": float(b), "r2_linear": float(r2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 60, 120, 200, 289])
    parser.add_argument("--scale-perm", type=int, default=200)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        subjects = pc.subjects()
        bold = pc.load_group(subjects)
        pairs = pc.twin_pairs(subject_ids=subjects)
        people = pc.participants()
    report: dict = {
        "command": "OMP_NUM_THREADS=2 .venv/bin/python benchmarks/isc.py",
        "analysis_lib_version": __version__,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "load_avg_1min_start": load_start,
        },
        "data": {"subjects": len(subjects), "regions": int(bold.sizes["voxel"]), "times": 380},
    }
    full = {}
    for kind in ("all", "twins"):
        params = ISCParams(pairs=kind)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, wall, cpu = _timed(
                lambda params=params: isc(params, bold, pairs=pairs, people=people, progress=False)
            )
        full[kind] = {"params": params.as_dict(), "wall_s": wall, "cpu_s": cpu}
        print(f"{len(subjects)} subjects, pairs={kind}: wall {wall:.1f} s, cpu {cpu:.1f} s")
    report["full"] = full
    scaling: dict = {}
    for method in ("pairwise", "loo"):
        rows = []
        for n in args.sizes:
            z = core.zscore_time(_replicate(bold, n))
            kw = {"method": method, "summary": "median"}
            _, w_obs, c_obs = _timed(lambda z=z, kw=kw: core.statistic(z, **kw))
            _, w_null, c_null = _timed(
                lambda z=z, kw=kw: core.null_distribution(z, n_perm=args.scale_perm, **kw)
            )
            _, w_boot, c_boot = _timed(
                lambda z=z, kw=kw: core.bootstrap_subjects(z, n_boot=args.scale_perm, **kw)
            )
            row = {
                "n_subjects": n,
                "observed_wall_s": w_obs,
                "observed_cpu_s": c_obs,
                "null_wall_s": w_null,
                "null_cpu_s": c_null,
                "bootstrap_wall_s": w_boot,
                "bootstrap_cpu_s": c_boot,
                "total_cpu_s": c_obs + c_null + c_boot,
            }
            rows.append(row)
            print(method, json.dumps({k: round(v, 2) for k, v in row.items()}))
        ns = [r["n_subjects"] for r in rows]
        scaling[method] = {
            "rows": rows,
            "fit_total_cpu": _line(ns, [r["total_cpu_s"] for r in rows]),
            "fit_null_cpu": _line(ns, [r["null_cpu_s"] for r in rows]),
            "fit_bootstrap_cpu": _line(ns, [r["bootstrap_cpu_s"] for r in rows]),
        }
    report["scaling"] = {"n_perm": args.scale_perm, "n_boot": args.scale_perm, **scaling}
    report["machine"]["load_avg_1min_end"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

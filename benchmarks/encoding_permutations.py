"""Benchmark: permutation inference of the voxel-wise encoding model vs the GEMM lower bound.

Exact command (it produced benchmarks/results/encoding_permutations.json)::

    .venv/bin/python benchmarks/encoding_permutations.py --fraction 0.05

``--full-only`` times the default shift null on all 91,282 voxels and writes
``benchmarks/results/encoding_permutations_full.json``; that file was produced on an idle
2-core machine with::

    .venv/bin/python benchmarks/encoding_permutations.py --full-only

Problem: 91,282 grayordinates x 900 volumes x 64 atoms, 1,000 null surrogates.

* Permutation part, on ``--fraction`` of the voxels (the full size needs about 1e16 FLOPs,
  hours on a shared 2-core CPU; time and FLOPs are both linear in the voxel count, so the
  ratio to the lower bound does not depend on it). ``lower bound = permutation FLOPs /
  float32 matmul rate``, with ``permutation FLOPs = 2 K V P (T + K)`` (the surrogate
  cross-products ``A_s' Y``, a (P K x T) by (T x V) GEMM, plus the K x K coefficient solve
  per surrogate and voxel) and the matmul rate measured in this run on a GEMM of the shape
  the GEMM path uses (best of several repetitions, before and after; the best is used, so
  the bound is the most favourable to the reference). Two nulls: circular shifts (FFT
  cross-correlation path; with T = 900 there are only 899 distinct non-zero shifts, all
  used: P = 899) and phase randomization (explicit batched GEMM path, P = 1000).
* Fixed cost: the surrogate Gram inverses (built once per run, shared by all voxel
  chunks) are timed separately, so the full-size wall time is extrapolated as
  ``fixed + (wall - fixed) * 91282 / voxels`` and compared with the full-size bound.
* Plain GLM: ours vs nilearn's ``run_glm`` (the engine of ``FirstLevelModel``) on the same
  design and data, on all 91,282 voxels, OLS and AR(1) (nilearn's AR(1) takes minutes;
  ``--skip-nilearn-ar1`` leaves it out), with the largest difference of the betas.
* Threads: 1 by default, for ours and for the matmul reference alike (with 2 cores shared
  by several jobs, multi-threaded small operations stall on descheduled threads).
* Memory: peak resident memory of the process sampled every 50 ms during each step.

The CPU is shared with other jobs: timings are noisy; ours and the references are
measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis_lib.encoding import fit_encoding  # noqa: E402
from analysis_lib.encoding.design import drift_regressors  # noqa: E402


class PeakMemory:
    """Sample this process's RSS in a thread; ``peak_gb`` after the block."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.proc = psutil.Process()

    def __enter__(self):
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.peak_gb = self.peak / 2**30
        self.extra_gb = (self.peak - self.base) / 2**30


def matmul_rate(m: int, k: int, n: int, reps: int = 5) -> float:
    """Best float32 GEMM rate (FLOP/s) of an (m x k) by (k x n) product with torch."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=gen)
    b = torch.randn(k, n, generator=gen)
    a @ b
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * m * k * n / best


def synthetic(n_time: int, n_atoms: int, n_vox: int, seed: int = 0):
    """Smooth atoms and AR(1) BOLD with a sparse planted effect (float32)."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    atoms = lfilter([1.0], [1.0, -0.8], rng.standard_normal((n_time, n_atoms)), axis=0)
    bold = np.empty((n_time, n_vox), np.float32)
    for s in range(0, n_vox, 8192):
        v = min(8192, n_vox - s)
        noise = lfilter([1.0], [1.0, -0.4], rng.standard_normal((n_time, v)), axis=0)
        beta = rng.standard_normal((n_atoms, v)) * (rng.uniform(size=v) < 0.1) * 0.1
        bold[:, s : s + v] = atoms @ beta + noise + 100.0
    return atoms, bold


def timed(fn):
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
    return out, wall, mem


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voxels", type=int, default=91282)
    parser.add_argument(
        "--fraction",
        type=float,
        default=0.05,
        help="fraction of the voxels for the permutation timings",
    )
    parser.add_argument("--time", type=int, default=900)
    parser.add_argument("--atoms", type=int, default=64)
    parser.add_argument("--n-perm", type=int, default=1000)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for ours and for the matmul reference",
    )
    parser.add_argument("--skip-nilearn-ar1", action="store_true")
    parser.add_argument(
        "--full-only",
        action="store_true",
        help="only time the default shift null on all voxels (no subset, no GLM reference); "
        "results go to encoding_permutations_full.json",
    )
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks/results/encoding_permutations.json")
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    T, K, P = args.time, args.atoms, args.n_perm
    tr = 1.0
    n_sub = max(1, round(args.voxels * args.fraction))
    load_start = os.getloadavg()
    print(
        f"data: {args.voxels} voxels x {T} volumes x {K} atoms; threads {args.threads}; "
        f"load average {load_start}"
    )
    atoms, bold = synthetic(T, K, args.voxels)
    sub = bold[:, :n_sub]
    fit_encoding(atoms[:100], sub[:100, :10], tr=tr, n_perm=5, cv=None, progress=False)  # warm

    rate_before = matmul_rate(64 * K, T, 2048)
    if args.full_only:
        ds, t_all, mem = timed(
            lambda: fit_encoding(atoms, bold, tr=tr, n_perm=P, cv=None, progress=False)
        )
        rate = max(rate_before, matmul_rate(64 * K, T, 2048))
        p_eff = json.loads(ds.attrs["params"])["n_perm_effective"]
        flops = 2.0 * K * args.voxels * p_eff * (T + K)
        report = dict(
            command="python benchmarks/encoding_permutations.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            machine=dict(
                platform=platform.platform(),
                cpu_count=os.cpu_count(),
                torch=torch.__version__,
                threads=args.threads,
                load_average_start=load_start,
                load_average_end=os.getloadavg(),
            ),
            problem=dict(
                voxels=args.voxels,
                volumes=T,
                atoms=K,
                n_perm=P,
                n_perm_effective=p_eff,
                null="shift (FFT path)",
            ),
            matmul_rate_gflops=rate / 1e9,
            wall_s=t_all,
            flops=flops,
            gemm_lower_bound_s=flops / rate,
            ratio_to_lower_bound=t_all / (flops / rate),
            peak_rss_gb=mem.peak_gb,
            extra_rss_gb=mem.extra_gb,
        )
        from analysis_lib.io import atomic_write_text

        out = Path(args.out).with_name("encoding_permutations_full.json")
        atomic_write_text(out, json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
        return 0
    results = {"perm": {}, "glm": {}}
    from analysis_lib.encoding import nulls as nl
    from analysis_lib.encoding.design import build_design

    design = build_design(atoms, [f"a{i}" for i in range(K)], None, tr * np.arange(T))
    a64 = torch.as_tensor(design.atoms, dtype=torch.float64)
    n64 = torch.as_tensor(design.nuisance, dtype=torch.float64)
    for null, label in (
        ("shift", "circular shifts, FFT path"),
        ("phase", "phase randomization, GEMM path"),
    ):
        spec = nl.draw_null(null, T, P, 0)
        _, t_ctx, _ = timed(lambda spec=spec: nl.build_context(a64, n64, spec))
        _glm_only, t_glm, _ = timed(
            lambda: fit_encoding(atoms, sub, tr=tr, n_perm=0, cv=None, progress=False)
        )
        ds, t_all, mem = timed(
            lambda null=null: fit_encoding(
                atoms, sub, tr=tr, n_perm=P, cv=None, null=null, progress=False
            )
        )
        p_eff = json.loads(ds.attrs["params"])["n_perm_effective"]
        results["perm"][null] = dict(
            label=label,
            voxels=n_sub,
            n_perm_effective=p_eff,
            wall_s=t_all,
            glm_part_s=t_glm,
            permutation_part_s=t_all - t_glm,
            fixed_context_s=t_ctx,
            flops=2.0 * K * n_sub * p_eff * (T + K),
            peak_rss_gb=mem.peak_gb,
            extra_rss_gb=mem.extra_gb,
        )
        print(
            f"{null}: {t_all:.1f} s on {n_sub} voxels (GLM {t_glm:.1f} s), peak {mem.peak_gb:.2f} GB"
        )
    rate_after = matmul_rate(64 * K, T, 2048)
    rate = max(rate_before, rate_after)
    for r in results["perm"].values():
        r["gemm_lower_bound_s"] = r["flops"] / rate
        r["ratio_total_to_lower_bound"] = r["wall_s"] / r["gemm_lower_bound_s"]
        r["ratio_permutation_part_to_lower_bound"] = (
            r["permutation_part_s"] / r["gemm_lower_bound_s"]
        )
        scale = args.voxels / n_sub
        full = r["fixed_context_s"] + (r["wall_s"] - r["fixed_context_s"]) * scale
        r["extrapolated_full_size_wall_s"] = full
        r["extrapolated_full_size_ratio"] = full / (r["gemm_lower_bound_s"] * scale)

    # plain GLM on every voxel: ours vs nilearn run_glm (the engine of FirstLevelModel)
    from nilearn.glm.first_level import run_glm

    X = np.hstack([atoms, drift_regressors(tr * np.arange(T), "cosine", 0.01).to_numpy()])
    for model in ("ols", "ar1"):
        ours, t_ours, m_ours = timed(
            lambda model=model: fit_encoding(
                atoms, bold, tr=tr, n_perm=0, cv=None, noise_model=model, progress=False
            )
        )
        entry = dict(voxels=args.voxels, ours_s=t_ours, ours_peak_rss_gb=m_ours.peak_gb)
        if model == "ar1" and args.skip_nilearn_ar1:
            results["glm"][model] = entry
            continue
        (labels, res), t_ref, m_ref = timed(
            lambda model=model: run_glm(bold, X, noise_model=model)
        )
        ref_beta = np.empty((K, args.voxels))
        for key, r in res.items():
            ref_beta[:, labels == key] = r.theta[:K]
        entry.update(
            nilearn_run_glm_s=t_ref,
            nilearn_peak_rss_gb=m_ref.peak_gb,
            speedup=t_ref / t_ours,
            max_abs_beta_difference=float(np.nanmax(np.abs(ref_beta - ours.beta.values))),
        )
        results["glm"][model] = entry
        print(
            f"GLM {model}: ours {t_ours:.1f} s, nilearn {t_ref:.1f} s, "
            f"max |dbeta| {entry['max_abs_beta_difference']:.2e}"
        )

    report = dict(
        command="python benchmarks/encoding_permutations.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        machine=dict(
            platform=platform.platform(),
            processor=platform.processor(),
            cpu_count=os.cpu_count(),
            torch=torch.__version__,
            threads=args.threads,
            load_average_start=load_start,
            load_average_end=os.getloadavg(),
        ),
        problem=dict(voxels=args.voxels, volumes=T, atoms=K, n_perm=P, fraction=args.fraction),
        matmul_rate_gflops=dict(before=rate_before / 1e9, after=rate_after / 1e9, used=rate / 1e9),
        **results,
    )
    out = Path(args.out)
    from analysis_lib.io import atomic_write_text

    atomic_write_text(out, json.dumps(report, indent=2))
    print(
        f"\nmatmul rate {rate / 1e9:.1f} GFLOP/s (before {rate_before / 1e9:.1f}, after {rate_after / 1e9:.1f})"
    )
    print(
        f"{'null':8s} {'voxels':>7s} {'P':>5s} {'wall s':>8s} {'bound s':>8s} {'ratio':>6s} {'perm-part ratio':>15s} {'full-size ratio':>15s} {'peak GB':>8s}"
    )
    for null, r in results["perm"].items():
        print(
            f"{null:8s} {r['voxels']:7d} {r['n_perm_effective']:5d} {r['wall_s']:8.1f} "
            f"{r['gemm_lower_bound_s']:8.1f} {r['ratio_total_to_lower_bound']:6.2f} "
            f"{r['ratio_permutation_part_to_lower_bound']:15.2f} "
            f"{r['extrapolated_full_size_ratio']:15.2f} {r['peak_rss_gb']:8.2f}"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

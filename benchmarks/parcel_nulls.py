"""Benchmark: the two spatial nulls of ``networks.parcels`` on the Partly Cloudy parcels.

Exact command (it produced benchmarks/results/parcel_nulls.json)::

    ANALYSIS_LIB_EXTRA_DATA=../shared/data OMP_NUM_THREADS=2 \\
        .venv/bin/python benchmarks/parcel_nulls.py --n-perm 100

For the 268 Shen parcels (centroid distances) and ``--n-maps`` smooth random maps
(Gaussian kernel of 20 mm over the centroids): wall time per surrogate of Moran spectral
randomisation (brainspace, ``null="moran"``, the default) and of variogram-matched
surrogates (brainsmash ``Base``, ``null="variogram"``, the reference of Burt et al. 2020),
their ratio, and how well each keeps the maps' spatial autocorrelation: the absolute
difference of Moran's I between map and surrogate, and the correlation of the surrogates'
empirical variogram with the map's (10 distance bins). Random permutations are shown as
the null that keeps no autocorrelation.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from analysis_lib import __version__
from analysis_lib.datasets import partly_cloudy as pc
from analysis_lib.io import atomic_write_text
from analysis_lib.networks.parcels import centroid_distances, surrogate_maps

OUT = Path(__file__).parent / "results" / "parcel_nulls.json"


def _moran(v: np.ndarray, w: np.ndarray) -> float:
    v = v - v.mean()
    return float(len(v) / w.sum() * (v @ w @ v) / (v @ v))


def _variogram(v: np.ndarray, d: np.ndarray, edges: np.ndarray) -> np.ndarray:
    iu = np.triu_indices_from(d, 1)
    diff = 0.5 * (v[:, None] - v[None, :])[iu] ** 2
    dist = d[iu]
    return np.array([diff[(dist >= a) & (dist < b)].mean() for a, b in itertools.pairwise(edges)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-perm", type=int, default=100)
    ap.add_argument("--n-maps", type=int, default=3)
    args = ap.parse_args()

    table = pc.regions()
    keep = table["atlas"].to_numpy() == "shen268"
    d = centroid_distances(table.loc[keep, ["x", "y", "z"]].to_numpy(float))
    w = np.zeros_like(d)
    np.divide(1.0, d, out=w, where=d > 0)
    rng = np.random.default_rng(0)
    maps = rng.standard_normal((args.n_maps, d.shape[0])) @ np.exp(-(d**2) / (2 * 20.0**2))
    edges = np.quantile(d[np.triu_indices_from(d, 1)], np.linspace(0, 1, 11))
    edges[-1] += 1e-9

    out: dict = {"n_parcels": int(d.shape[0]), "n_perm": args.n_perm, "n_maps": args.n_maps}
    for null in ("moran", "variogram", "permutation"):
        t0 = time.perf_counter()
        if null == "permutation":
            surr = np.stack([[rng.permutation(m) for _ in range(args.n_perm)] for m in maps])
        else:
            surr = surrogate_maps(maps, d, null=null, n_perm=args.n_perm, seed=0)
        wall = time.perf_counter() - t0
        dmoran, vcorr = [], []
        for m, s in zip(maps, surr, strict=True):
            ref_i, ref_v = _moran(m, w), _variogram(m, d, edges)
            for x in s[: min(50, args.n_perm)]:
                dmoran.append(abs(_moran(x, w) - ref_i))
                vcorr.append(float(np.corrcoef(_variogram(x, d, edges), ref_v)[0, 1]))
        out[null] = {
            "wall_s": wall,
            "ms_per_surrogate": 1e3 * wall / (args.n_perm * args.n_maps),
            "moran_abs_diff_median": float(np.median(dmoran)),
            "variogram_corr_median": float(np.median(vcorr)),
        }
        print(
            f"{null:12s} {out[null]['ms_per_surrogate']:9.3f} ms/surrogate  "
            f"|dI| {out[null]['moran_abs_diff_median']:.4f}  "
            f"variogram r {out[null]['variogram_corr_median']:.3f}"
        )
    out["ratio_variogram_over_moran"] = (
        out["variogram"]["ms_per_surrogate"] / out["moran"]["ms_per_surrogate"]
    )
    print(f"variogram / moran time: {out['ratio_variogram_over_moran']:.0f}x")
    out["machine"] = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "analysis_lib": __version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    out["command"] = (
        "ANALYSIS_LIB_EXTRA_DATA=../shared/data OMP_NUM_THREADS=2 "
        f".venv/bin/python benchmarks/parcel_nulls.py --n-perm {args.n_perm} "
        f"--n-maps {args.n_maps}"
    )
    atomic_write_text(OUT, json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()

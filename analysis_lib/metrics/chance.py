"""What chance gives for the Study B metrics: redundancy and polarity beside a permutation null.

A metric alone does not say whether it is large. Each function here recomputes the metric
on surrogates that keep what the metric should not be credited for and destroy what it
claims to measure, and reports the observed value beside the surrogate distribution.

Redundancy (:func:`redundancy_baseline`)
    *Independent placement*: each atom's significant set is moved to random voxels (a
    permutation of the voxels, drawn independently per atom, that keeps the size of the
    map and its numbers of positive and negative voxels) and each atom's AN sub-group to
    random neurons (same size). Overlap beyond this null is overlap that the sizes of the
    sets do not explain. The voxel permutation ignores spatial autocorrelation, so for the
    map overlaps it is a floor (what sets of these sizes share when placed anywhere), not a
    spatially realistic null.
Polarity (:func:`polarity_baseline`)
    *Shuffled polarity labels*: the classes (positive, negative, mixed) of the atoms that
    have a significant map are permuted across those atoms, keeping the number of atoms per
    class, and the layer-trend differences between positive and negative sub-groups are
    recomputed. A difference inside this null is what any split of the sub-groups into
    groups of these sizes gives.

The random-weight twin of each model (same architecture, untrained) is the second
baseline; the book shows it beside the trained model on the same page.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .polarity import layer_trend, polarity
from .redundancy import redundancy_summary

#: Redundancy metrics of :func:`redundancy_baseline` (variables of ``redundancy_summary``).
REDUNDANCY_METRICS = ("map_jaccard", "subgroup_jaccard", "multi_atom_share")
#: Polarity metrics of :func:`polarity_baseline`.
POLARITY_METRICS = ("center_difference", "slope_difference")


def null_summary(
    observed: np.ndarray, null: np.ndarray, *, alternative: str = "greater"
) -> dict[str, np.ndarray]:
    """Summarise surrogate values of several metrics.

    Parameters
    ----------
    observed : ndarray, shape (n_metric,)
    null : ndarray, shape (n_perm, n_metric)
        NaN surrogates (a metric undefined in that draw) are left out.
    alternative : {"greater", "two-sided"}
        ``greater``: ``p = (1 + #{null >= observed}) / (1 + n)``; ``two-sided``: the same
        with ``|null - median| >= |observed - median|``.

    Returns
    -------
    dict of ndarray, each (n_metric,)
        ``observed``, ``null_mean``, ``null_low``, ``null_high`` (2.5 and 97.5
        percentiles), ``p``; NaN where the observed value or every surrogate is NaN.
    """
    if alternative not in ("greater", "two-sided"):
        raise ValueError(f"alternative must be 'greater' or 'two-sided', got {alternative!r}")
    observed = np.asarray(observed, float)
    null = np.asarray(null, float)
    out = {k: np.full(observed.shape, np.nan) for k in ("null_mean", "null_low", "null_high", "p")}
    for j, obs in enumerate(observed):
        v = null[:, j][np.isfinite(null[:, j])]
        if not v.size:
            continue
        out["null_mean"][j] = v.mean()
        out["null_low"][j], out["null_high"][j] = np.percentile(v, [2.5, 97.5])
        if not np.isfinite(obs):
            continue
        if alternative == "greater":
            hits = np.sum(v >= obs - 1e-12)
        else:
            mid = np.median(v)
            hits = np.sum(np.abs(v - mid) >= np.abs(obs - mid) - 1e-12)
        out["p"][j] = (1 + hits) / (1 + v.size)
    return {"observed": observed, **out}


def _dataset(summary: dict[str, np.ndarray], metrics: tuple[str, ...], attrs: dict) -> xr.Dataset:
    long = {
        "observed": "metric of the model",
        "null_mean": "mean of the surrogates",
        "null_low": "2.5 percentile of the surrogates",
        "null_high": "97.5 percentile of the surrogates",
        "p": "permutation p value",
    }
    return xr.Dataset(
        {k: ("metric", v, {"long_name": long[k]}) for k, v in summary.items()},
        coords={"metric": list(metrics)},
        attrs=attrs,
    )


def _permute_rows(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row permuted independently."""
    order = rng.random(x.shape).argsort(axis=1)
    return np.take_along_axis(x, order, axis=1)


def redundancy_baseline(
    significant: xr.DataArray,
    loadings: xr.DataArray,
    atlas: xr.Dataset,
    *,
    n_perm: int = 200,
    seed: int = 0,
) -> xr.Dataset:
    """Redundancy metrics beside their independent-placement null (module docstring).

    Parameters
    ----------
    significant : xarray.DataArray (atom, voxel)
        Signed significance maps (-1/0/+1; :func:`analysis_lib.pipeline.significant_voxels`).
    loadings : xarray.DataArray (atom, neuron)
        Dictionary loadings.
    atlas : xarray.Dataset
        An atlas on the maps' voxels.
    n_perm : int
        Surrogates.
    seed : int

    Returns
    -------
    xarray.Dataset (metric: :data:`REDUNDANCY_METRICS`)
        ``observed``, ``null_mean``, ``null_low``, ``null_high``, ``p`` (one-sided,
        overlap greater than independent placement gives).
    """
    if n_perm < 1:
        raise ValueError(f"n_perm must be at least 1, got {n_perm}")
    sig = significant.transpose("atom", "voxel")
    load = loadings.transpose("atom", "neuron")
    obs = redundancy_summary(sig, load, atlas)
    observed = np.array([float(obs[k]) for k in REDUNDANCY_METRICS])
    rng = np.random.default_rng(seed)
    null = np.empty((n_perm, len(REDUNDANCY_METRICS)))
    for i in range(n_perm):
        s = sig.copy(data=_permute_rows(sig.values, rng))
        w = load.copy(data=_permute_rows(load.values, rng))
        summ = redundancy_summary(s, w, atlas)
        null[i] = [float(summ[k]) for k in REDUNDANCY_METRICS]
    return _dataset(
        null_summary(observed, null, alternative="greater"),
        REDUNDANCY_METRICS,
        {"n_perm": n_perm, "seed": seed, "null": "independent placement of maps and sub-groups"},
    )


def polarity_baseline(
    significant: xr.DataArray,
    loadings: xr.DataArray,
    *,
    cut: float = 0.5,
    n_perm: int = 1000,
    seed: int = 0,
) -> xr.Dataset:
    """Layer-trend differences of opposite-polarity sub-groups beside shuffled labels.

    Parameters
    ----------
    significant : xarray.DataArray (atom, voxel)
        Signed significance maps.
    loadings : xarray.DataArray (atom, neuron) with neuron coord ``layer``
    cut : float
        Polarity-index cut of :func:`analysis_lib.metrics.opposite_polarity_trends`.
    n_perm : int
    seed : int

    Returns
    -------
    xarray.Dataset (metric: :data:`POLARITY_METRICS`)
        ``observed`` (positive minus negative sub-groups), ``null_mean``, ``null_low``,
        ``null_high``, ``p`` (two-sided); all NaN when no atom is positive or none is
        negative (the difference is then undefined).
    """
    if n_perm < 1:
        raise ValueError(f"n_perm must be at least 1, got {n_perm}")
    idx = polarity(significant)["index"].values
    tr = layer_trend(loadings.sel(atom=significant["atom"].values))
    values = np.stack([tr["center"].values, tr["slope"].values], 1)  # (atom, 2)
    has_map = np.isfinite(idx)
    cls = np.where(idx >= cut, 1, np.where(idx <= -cut, -1, 0))[has_map]
    vals = values[has_map]

    def diff(labels: np.ndarray) -> np.ndarray:
        if not ((labels == 1).any() and (labels == -1).any()):
            return np.full(2, np.nan)
        return vals[labels == 1].mean(0) - vals[labels == -1].mean(0)

    observed = diff(cls)
    rng = np.random.default_rng(seed)
    if np.isfinite(observed).all():
        null = np.stack([diff(rng.permutation(cls)) for _ in range(n_perm)])
    else:
        null = np.full((n_perm, 2), np.nan)
    return _dataset(
        null_summary(observed, null, alternative="two-sided"),
        POLARITY_METRICS,
        {"n_perm": n_perm, "seed": seed, "cut": cut, "null": "polarity classes shuffled"},
    )

"""Atom-map to network correspondence for parcellated data (regions in a volume).

The grayordinate and voxel path (:func:`analysis_lib.networks.correspondence`) spins the
cortical surface. Parcels in a volume (e.g. the 268 Shen parcels of the Partly Cloudy data)
have only centroids, and many are subcortical or cerebellar, where a spin is undefined. Here
the spatial null keeps each map's **spatial autocorrelation over the centroid distances**:

``moran`` (default)
    Moran spectral randomisation (Wagner & Dadashkarimi 2018) with brainspace's
    :class:`brainspace.null_models.MoranRandomization`, ``procedure="singleton"``: the map is
    rotated in the eigenbasis of the inverse-distance weight matrix, so every surrogate has
    the map's Moran's I exactly. Fast (one eigendecomposition per parcellation).
``variogram``
    Variogram-matched surrogates (Burt et al. 2020) with brainsmash's
    :class:`brainsmash.mapgen.base.Base` on the centroid distance matrix. Many times
    slower (measured side by side, with how well each keeps the maps' autocorrelation, in
    ``benchmarks/parcel_nulls.py``), so better for a final check than for a build.

The statistic is the one of :mod:`analysis_lib.networks.correspondence`: the significant
parcels of an atom map (positive and negative separately) and the Dice coefficient with each
network, ``max`` over the two signs with ``sign="both"``. A surrogate map is thresholded
**by rank** to the observed numbers of positive and negative significant parcels (its
``n+`` largest and ``n-`` smallest values), so the null keeps the map's spatial structure
and the size of its significant set and only moves where it lies. With per-subject maps the
network-level group test of :func:`~analysis_lib.networks.correspondence.network_group_test`
is combined as there (``p = max(p_spatial, p_network)``), and ``p_fdr`` are Benjamini-Hochberg
q values over all (atom, network) pairs.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.spatial.distance import cdist
from scipy.stats import false_discovery_control

from ..io import provenance, sha256_array
from .correspondence import NONE, SIGNS, _statistic, network_group_test, threshold_maps

PARCEL_NULLS = ("moran", "variogram")


def centroid_distances(xyz: np.ndarray) -> np.ndarray:
    """Euclidean distances (mm) between parcel centroids, shape (n_parcel, n_parcel)."""
    xyz = np.asarray(xyz, dtype=float)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or not np.isfinite(xyz).all():
        raise ValueError(f"centroids must be a finite (n_parcel, 3) array, got {xyz.shape}")
    return cdist(xyz, xyz)


def surrogate_maps(
    maps: np.ndarray,
    distances: np.ndarray,
    *,
    null: str = "moran",
    n_perm: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Spatially autocorrelated surrogates of parcel maps.

    Parameters
    ----------
    maps : numpy.ndarray, shape (n_map, n_parcel)
        Finite values.
    distances : numpy.ndarray, shape (n_parcel, n_parcel)
        Centroid distances (:func:`centroid_distances`).
    null : {"moran", "variogram"}
        See the module docstring.
    n_perm : int
    seed : int

    Returns
    -------
    numpy.ndarray, shape (n_map, n_perm, n_parcel)
    """
    maps = np.atleast_2d(np.asarray(maps, dtype=float))
    n = maps.shape[1]
    if distances.shape != (n, n):
        raise ValueError(f"distances are {distances.shape}; the maps have {n} parcels")
    if not np.isfinite(maps).all():
        raise ValueError("surrogate_maps: the maps hold NaN or inf values")
    if null == "moran":
        from brainspace.null_models import MoranRandomization

        weights = np.zeros_like(distances, dtype=float)
        np.divide(1.0, distances, out=weights, where=distances > 0)
        msr = MoranRandomization(
            n_rep=n_perm, procedure="singleton", tol=1e-6, random_state=seed
        ).fit(weights)
        out = msr.randomize(maps.T)  # (n_perm, n_parcel, n_map)
        return np.ascontiguousarray(np.moveaxis(out.reshape(n_perm, n, -1), 2, 0))
    if null == "variogram":
        from brainsmash.mapgen.base import Base

        out = np.empty((maps.shape[0], n_perm, n))
        for i, m in enumerate(maps):
            gen = Base(x=m, D=distances, seed=seed + i, resample=True)
            out[i] = gen(n=n_perm)
        return out
    raise ValueError(f"null must be one of {PARCEL_NULLS}, got {null!r}")


def rank_threshold(surrogates: np.ndarray, n_pos: np.ndarray, n_neg: np.ndarray) -> np.ndarray:
    """Ternary maps: each surrogate's ``n_pos`` largest parcels +1, ``n_neg`` smallest -1.

    Parameters
    ----------
    surrogates : numpy.ndarray, shape (n_map, n_perm, n_parcel)
    n_pos, n_neg : numpy.ndarray of int, shape (n_map,)

    Returns
    -------
    numpy.ndarray of int8, same shape as ``surrogates``
    """
    order = np.argsort(surrogates, axis=-1)  # ascending
    ranks = np.empty_like(order)
    n = surrogates.shape[-1]
    np.put_along_axis(ranks, order, np.arange(n), axis=-1)
    pos = ranks >= n - np.asarray(n_pos)[:, None, None]
    neg = ranks < np.asarray(n_neg)[:, None, None]
    return (pos.astype(np.int8) - neg.astype(np.int8)).astype(np.int8)


def parcel_correspondence(
    stat: xr.DataArray,
    pvalues: xr.DataArray,
    labels: np.ndarray,
    xyz: np.ndarray,
    *,
    threshold: float = 0.01,
    sign: str = "both",
    null: str = "moran",
    n_perm: int = 1000,
    seed: int = 0,
    alpha_assign: float = 0.05,
    subject_maps: xr.DataArray | None = None,
) -> xr.Dataset:
    """Dice overlap of thresholded parcel maps with networks, and autocorrelation-null p values.

    Parameters
    ----------
    stat : DataArray (atom, voxel)
        Signed group statistic per parcel (``voxel`` is the project's spatial dim; here each
        one is a parcel).
    pvalues : DataArray (atom, voxel)
        The p values that threshold the maps (a parcel is significant when ``p < threshold``).
    labels : numpy.ndarray of str, shape (n_voxel,)
        Network of each parcel; ``""`` or None for parcels outside every network (they are
        left out of the test, as non-cortical voxels are from a spin).
    xyz : numpy.ndarray, shape (n_voxel, 3)
        Parcel centroids (mm).
    threshold : float
    sign : {"both", "positive", "negative", "abs"}
    null : {"moran", "variogram"}
    n_perm : int
        Surrogates per atom map (0 skips the test; p is then NaN).
    seed : int
    alpha_assign : float
        BH level for assigning an atom to a network.
    subject_maps : DataArray (subject, atom, voxel), optional
        Per-subject maps; adds the network-level group test.

    Returns
    -------
    xarray.Dataset
        As :func:`~analysis_lib.networks.correspondence.correspondence`: ``dice``,
        ``dice_positive``, ``dice_negative``, ``polarity``, ``p``, ``p_spatial``, ``p_fdr``,
        ``null_mean`` (atom, network); ``assignment``, ``n_significant`` (atom);
        ``coverage``, ``network_size`` (network); with ``subject_maps`` also ``p_network``
        and ``network_t``.
    """
    if sign not in SIGNS:
        raise ValueError(f"sign must be one of {SIGNS}, got {sign!r}")
    if null not in PARCEL_NULLS:
        raise ValueError(f"null must be one of {PARCEL_NULLS}, got {null!r}")
    if "atom" not in stat.dims or "voxel" not in stat.dims or stat.ndim != 2:
        raise ValueError(f"maps must have dims ('atom', 'voxel'), got {stat.dims}")
    stat = stat.transpose("atom", "voxel")
    labels = np.asarray(["" if v is None else str(v) for v in labels], dtype=object)
    if labels.size != stat.sizes["voxel"] or np.asarray(xyz).shape != (labels.size, 3):
        raise ValueError(
            f"{labels.size} labels and {np.asarray(xyz).shape} centroids for "
            f"{stat.sizes['voxel']} parcels"
        )
    keep = labels != ""
    values = np.asarray(stat.values, float)
    keep &= np.isfinite(values).all(0)
    names = np.array(sorted(set(labels[keep])), dtype=object)
    if names.size == 0:
        raise ValueError("parcel_correspondence: no parcel carries a network label")
    sig = np.asarray(threshold_maps(stat, pvalues, threshold=threshold).values, np.int8)
    ternary = sig[:, keep]
    onehot = labels[keep][:, None] == names[None, :]
    obs, polarity, pos, neg = _statistic(ternary, onehot, sign)
    n_atom, n_net = obs.shape
    if n_perm > 0:
        dist = centroid_distances(np.asarray(xyz, float)[keep])
        surr = surrogate_maps(values[:, keep], dist, null=null, n_perm=n_perm, seed=seed)
        null_t = rank_threshold(surr, (ternary > 0).sum(1), (ternary < 0).sum(1))
        null_stat, *_ = _statistic(null_t, onehot, sign)  # (atom, perm, network)
        exceed = (null_stat >= obs[:, None, :] - 1e-12).sum(1)
        p_spatial = (1 + exceed) / (1 + n_perm)
        p_spatial[~ternary.any(1)] = 1.0
        null_mean = null_stat.mean(1)
    else:
        p_spatial = null_mean = np.full(obs.shape, np.nan)
    extra = {}
    p = p_spatial
    if subject_maps is not None:
        t_net, p_net = network_group_test(subject_maps, stat, keep, onehot)
        p = np.fmax(p_spatial, p_net) if n_perm > 0 else p_spatial
        extra = {
            "p_network": (("atom", "network"), p_net, {"long_name": "network-level group p"}),
            "network_t": (("atom", "network"), t_net, {"long_name": "network-level group t"}),
        }
    p_fdr = (
        false_discovery_control(p.ravel(), method="bh").reshape(p.shape)
        if n_perm > 0
        else np.full(obs.shape, np.nan)
    )
    assignment = []
    for a in range(n_atom):
        ok = p_fdr[a] < alpha_assign if n_perm > 0 else np.zeros(n_net, bool)
        assignment.append(str(names[np.argmax(np.where(ok, obs[a], -1))]) if ok.any() else NONE)
    union = (ternary != 0).any(0)
    size = onehot.sum(0)
    an = ("atom", "network")
    ds = xr.Dataset(
        {
            "dice": (an, obs, {"long_name": f"Dice overlap ({sign})", "units": "1"}),
            "dice_positive": (an, pos, {"long_name": "Dice of positive parcels", "units": "1"}),
            "dice_negative": (an, neg, {"long_name": "Dice of negative parcels", "units": "1"}),
            "polarity": (an, polarity, {"long_name": "sign of the overlapping parcels"}),
            "p": (
                an,
                p,
                {"long_name": f"p value ({null} null" + (", network test)" if extra else ")")},
            ),
            "p_spatial": (an, p_spatial, {"long_name": f"spatial-null p value ({null})"}),
            "p_fdr": (an, p_fdr, {"long_name": "BH q value over atoms x networks"}),
            "null_mean": (an, null_mean, {"long_name": "mean Dice of null maps"}),
            "assignment": ("atom", np.array(assignment, dtype=str)),
            "n_significant": ("atom", (ternary != 0).sum(1), {"units": "parcels"}),
            "coverage": (
                "network",
                (onehot & union[:, None]).sum(0) / np.maximum(size, 1),
                {"long_name": "share of network parcels in any atom"},
            ),
            "network_size": ("network", size, {"units": "parcels"}),
            **extra,
        },
        coords={"atom": stat["atom"].values, "network": names.astype(str)},
    )
    ds.attrs.update(
        provenance(
            {
                "threshold": threshold,
                "sign": sign,
                "null": null,
                "n_perm": n_perm,
                "seed": seed,
                "alpha_assign": alpha_assign,
                "n_parcels_tested": int(keep.sum()),
                "tests": "spatial+network" if extra else "spatial",
            },
            maps=sha256_array(values),
        )
    )
    return ds

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

from ..io import provenance, sha256_array
from .correspondence import SIGNS, _statistic, network_group_test, threshold_maps
from .rules import decide

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


def _shift_test(atoms, bold, nuisance, labels, keep, names, n_atom, n_shift, seed, fit):
    """The network shift test on parcel time series (rule ``network-shift``)."""
    from .temporal import network_courses, network_shift_test

    if atoms is None or bold is None:
        raise ValueError(
            "rule='network-shift' needs atoms and bold: its null refits each subject's "
            "network-mean BOLD on circularly shifted atoms"
        )
    a = np.asarray(atoms, float)
    y = np.asarray(bold, float)
    if a.ndim != 2 or a.shape[1] != n_atom:
        raise ValueError(f"atoms must be (time, {n_atom}) like the maps, got {a.shape}")
    if y.ndim != 3 or y.shape[2] != labels.size or y.shape[1] != a.shape[0]:
        raise ValueError(
            f"bold must be (subject, {a.shape[0]} volumes, {labels.size} parcels), got {y.shape}"
        )
    ids = np.arange(1, names.size + 1)
    lab = np.zeros(labels.size, int)
    for i, n in zip(ids, names, strict=True):
        lab[keep & (labels == n)] = i
    nuis = np.ones((a.shape[0], 1)) if nuisance is None else np.asarray(nuisance, float)
    courses = [network_courses(y[s], lab, ids) for s in range(y.shape[0])]
    return network_shift_test(a, courses, nuis, n_shift=n_shift, seed=seed, fit=fit)


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
    rule: str = "spatial+network",
    min_r: float = 0.0,
    atoms: np.ndarray | None = None,
    bold: np.ndarray | None = None,
    nuisance: np.ndarray | None = None,
    n_shift: int = 500,
    shift_fit: str = "marginal",
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
    rule : {"spatial+network", "network-shift"}
        The significant set, as in
        :func:`~analysis_lib.networks.correspondence.correspondence`: the larger of the
        spatial and subject-level network p, or the network shift test
        (:func:`~analysis_lib.networks.temporal.network_shift_test`: each subject's
        network-mean BOLD refitted on circularly shifted atoms) with ``|network_b| >=
        min_r``. Either way ``p_fdr < alpha_assign``.
    min_r : float
        Effect bound of ``rule="network-shift"``.
    atoms : ndarray, shape (n_time, n_atom), optional
        The atom courses (``rule="network-shift"``), in the order of the maps' atoms.
    bold : ndarray, shape (n_subject, n_time, n_voxel), optional
        The subjects' parcel time series (``rule="network-shift"``).
    nuisance : ndarray, shape (n_time, n_nuisance), optional
        The encoding model's nuisance regressors (default: a constant).
    n_shift : int
        Circular shifts of the temporal null.
    shift_fit : {"marginal", "joint"}

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
    n_atom = obs.shape[0]
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
    if rule not in ("spatial+network", "network-shift"):
        raise ValueError(f"rule must be 'spatial+network' or 'network-shift', got {rule!r}")
    extra = {}
    p = p_spatial
    if subject_maps is not None:
        t_net, p_net = network_group_test(subject_maps, stat, keep, onehot)
        p = np.fmax(p_spatial, p_net) if n_perm > 0 else p_spatial
        extra = {
            "p_network": (("atom", "network"), p_net, {"long_name": "network-level group p"}),
            "network_t": (("atom", "network"), t_net, {"long_name": "network-level group t"}),
        }
    effect = None
    if rule == "network-shift":
        from .temporal import shift_variables

        shift = _shift_test(
            atoms, bold, nuisance, labels, keep, names, n_atom, n_shift, seed, shift_fit
        )
        p, effect = shift["p"], shift["b"]
        extra |= shift_variables(shift, shift_fit)
    p_fdr, significant, assignment = decide(
        p,
        obs,
        effect,
        names,
        alpha=alpha_assign,
        min_r=min_r,
        tested=n_perm > 0 or rule == "network-shift",
    )
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
            "significant": (an, significant, {"long_name": f"significant pair (rule {rule})"}),
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
                "tests": "spatial+network" if subject_maps is not None else "spatial",
                "rule": rule,
                "min_r": min_r,
                **(
                    {"n_shift": n_shift, "shift_fit": shift_fit} if rule == "network-shift" else {}
                ),
            },
            maps=sha256_array(values),
        )
    )
    return ds

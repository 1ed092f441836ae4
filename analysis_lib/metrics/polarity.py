"""Study B: polarity of atom maps and the layer trends of sub-groups of opposite polarity.

An atom's significant voxels split into positive (``beta > 0``) and negative regions.
Its polarity index is ``P_k = (n+_k - n-_k) / (n+_k + n-_k)`` in [-1, 1]; sub-groups with
``P_k >= cut`` drive mainly positive, ``P_k <= -cut`` mainly negative regions, the others
are ``mixed``.

For the loadings ``A_kj`` of sub-group ``k`` (neurons ``j`` with layer ``l_j``), the layer
profile is ``w_kl = sum_{j: l_j = l} |A_kj| / sum_j |A_kj|``, its centre of mass
``L_k = sum_l l w_kl`` and its trend ``b_k`` the least-squares slope of ``w_kl`` on ``l``.
The opposite-polarity comparison reports the mean ``L`` and ``b`` of positive and of
negative sub-groups and their differences (positive minus negative).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..networks.atlases import network_table
from .organization import layer_distribution
from .redundancy import atlas_labels


def polarity(significant: xr.DataArray, atlas: xr.Dataset | None = None) -> xr.Dataset:
    """Positive and negative regions of each atom map.

    Parameters
    ----------
    significant : DataArray (atom, voxel) of -1/0/+1
    atlas : atlas Dataset on the same voxels, optional
        Adds the counts per network.

    Returns
    -------
    Dataset with ``n_positive``, ``n_negative``, ``index`` (atom) and, with an atlas,
    ``n_positive_network``, ``n_negative_network`` (atom, network).
    """
    s = np.asarray(significant.transpose("atom", "voxel").values)
    pos, neg = (s > 0).sum(1), (s < 0).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.where(pos + neg > 0, (pos - neg) / (pos + neg), np.nan)
    out = xr.Dataset(
        {
            "n_positive": ("atom", pos, {"units": "voxels"}),
            "n_negative": ("atom", neg, {"units": "voxels"}),
            "index": ("atom", index, {"long_name": "(n+ - n-) / (n+ + n-)", "units": "1"}),
        },
        coords={"atom": significant["atom"].values},
    )
    if atlas is not None:
        labels = atlas_labels(significant, atlas)
        table = network_table(atlas)
        ids = sorted(table)
        onehot = (labels[:, None] == np.array(ids)[None]).astype(np.int64)
        out["n_positive_network"] = (("atom", "network"), (s > 0).astype(np.int64) @ onehot)
        out["n_negative_network"] = (("atom", "network"), (s < 0).astype(np.int64) @ onehot)
        out = out.assign_coords(network=[table[i] for i in ids])
    return out


def layer_trend(loadings: xr.DataArray) -> xr.Dataset:
    """Centre of mass ``L_k`` and slope ``b_k`` of each sub-group's absolute-loading layer profile.

    Returns
    -------
    Dataset with ``profile`` (atom, layer), ``center`` and ``slope`` (atom).
    """
    prof = layer_distribution(loadings, weighted=True)
    layers = prof["layer"].values.astype(float)
    w = prof.values
    center = np.nansum(w * layers, 1)
    lc = layers - layers.mean()
    slope = (
        (w - np.nanmean(w, 1, keepdims=True)) @ lc / (lc @ lc) if lc.any() else np.zeros(len(w))
    )
    return xr.Dataset(
        {
            "profile": prof,
            "center": ("atom", center, {"long_name": "loading-weighted mean layer"}),
            "slope": (
                "atom",
                slope,
                {"long_name": "slope of the layer profile", "units": "1/layer"},
            ),
        }
    )


def opposite_polarity_trends(
    significant: xr.DataArray, loadings: xr.DataArray, cut: float = 0.5
) -> xr.Dataset:
    """Layer trends of sub-groups driving mainly positive vs mainly negative regions.

    Parameters
    ----------
    significant : DataArray (atom, voxel) of -1/0/+1
    loadings : DataArray (atom, neuron) with neuron coord ``layer``
    cut : float
        Polarity index beyond which a sub-group counts as positive (>= cut) or negative
        (<= -cut).

    Returns
    -------
    Dataset with ``polarity_class`` (atom: positive/negative/mixed/none), ``center``,
    ``slope`` (atom), the class means ``center_positive``, ``center_negative``,
    ``slope_positive``, ``slope_negative`` and the differences ``center_difference``,
    ``slope_difference`` (positive minus negative; NaN when a class is empty).
    """
    pol = polarity(significant)
    tr = layer_trend(loadings.sel(atom=significant["atom"].values))
    idx = pol["index"].values
    cls = np.where(
        np.isnan(idx),
        "none",
        np.where(idx >= cut, "positive", np.where(idx <= -cut, "negative", "mixed")),
    )
    out = xr.Dataset(
        {
            "polarity_class": ("atom", cls.astype(str)),
            "index": pol["index"],
            "center": tr["center"],
            "slope": tr["slope"],
        }
    )
    for key in ("center", "slope"):
        for c in ("positive", "negative"):
            v = tr[key].values[cls == c]
            out[f"{key}_{c}"] = ((), float(v.mean()) if v.size else np.nan)
        out[f"{key}_difference"] = ((), float(out[f"{key}_positive"] - out[f"{key}_negative"]))
    return out

"""Study B: prediction per network and functional redundancy of atoms.

Significant sets: ``A_k = {v : atom k's map is significant at v}`` (the -1/0/+1 maps of
:func:`analysis_lib.networks.threshold_maps`); sub-groups ``S_k = {j : |A_kj| > 0}``.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import xarray as xr

from ..networks.atlases import network_table
from ..networks.correspondence import _align


def atlas_labels(data: xr.DataArray | xr.Dataset, atlas: xr.Dataset) -> np.ndarray:
    """Network id of each voxel of ``data`` (0 = none); the grids must match.

    Parameters
    ----------
    data : xarray.DataArray or xarray.Dataset
        Maps with a ``voxel`` dim.
    atlas : xarray.Dataset
        An atlas on the same voxels (:func:`analysis_lib.networks.resample_atlas`).

    Returns
    -------
    ndarray of int, shape (voxel,)
        The network id of each voxel, 0 for none.
    """
    return _align(data, atlas)


def prediction_per_network(r_cv: xr.DataArray, atlas: xr.Dataset) -> xr.Dataset:
    """Cross-validated prediction accuracy within each network.

    ``mean_r_n = mean_{v in N_n} r_cv(v)``, with the median, the share of voxels with
    ``r_cv > 0`` and the voxel count. ``r_cv`` is the out-of-sample correlation of
    :func:`analysis_lib.encoding.fit_encoding` (or its subject mean); NaN voxels are ignored.

    Parameters
    ----------
    r_cv : DataArray (voxel) or (subject, voxel)
    atlas : atlas Dataset on the same voxels

    Returns
    -------
    Dataset with ``mean_r``, ``median_r``, ``positive_share`` (network[, subject]) and
    ``n_voxels`` (network).
    """
    labels = atlas_labels(r_cv, atlas)
    table = network_table(atlas)
    ids = sorted(table)
    r = r_cv.transpose(..., "voxel")
    vals = np.asarray(r.values, float)
    lead = r.dims[:-1]
    mean, med, pos, n = [], [], [], []
    for i in ids:
        sel = vals[..., labels == i]
        with _quiet():
            mean.append(np.nanmean(sel, -1))
            med.append(np.nanmedian(sel, -1))
            valid = np.isfinite(sel)
            pos.append((sel > 0).sum(-1) / valid.sum(-1))
        n.append(int((labels == i).sum()))
    dims = ("network", *lead)
    coords = {"network": [table[i] for i in ids], **{d: r[d].values for d in lead}}
    return xr.Dataset(
        {
            "mean_r": (dims, np.asarray(mean), {"long_name": "mean cross-validated r"}),
            "median_r": (dims, np.asarray(med)),
            "positive_share": (dims, np.asarray(pos), {"long_name": "share of voxels with r > 0"}),
            "n_voxels": ("network", np.asarray(n, np.int64)),
        },
        coords=coords,
    )


@contextlib.contextmanager
def _quiet():
    """Silence RuntimeWarnings of NaN reductions over empty networks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def jaccard_matrix(sets: np.ndarray) -> np.ndarray:
    """Pairwise Jaccard index ``|A ∩ B| / |A ∪ B|`` of the rows of a boolean matrix.

    Parameters
    ----------
    sets : numpy.ndarray of bool, shape (K, n)

    Returns
    -------
    numpy.ndarray, shape (K, K); NaN where both sets are empty.
    """
    s = np.asarray(sets, dtype=np.float64)
    inter = s @ s.T
    size = s.sum(1)
    union = size[:, None] + size[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def _pairwise(values: np.ndarray, atoms, name: str, long_name: str) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("atom", "atom_other"),
        coords={"atom": atoms, "atom_other": atoms},
        name=name,
        attrs={"long_name": long_name, "units": "1"},
    )


def map_jaccard(significant: xr.DataArray, *, same_sign: bool = False) -> xr.DataArray:
    """Jaccard overlap between the significant sets of the atom maps.

    Parameters
    ----------
    significant : DataArray (atom, voxel) of -1/0/+1
    same_sign : bool
        Count a shared voxel only when both atoms have the same sign there (computed as
        the Jaccard of the positive sets plus negative sets: ``(|A+ ∩ B+| + |A- ∩ B-|) /
        |A ∪ B|``).

    Returns
    -------
    DataArray (atom, atom_other)
    """
    s = np.asarray(significant.transpose("atom", "voxel").values)
    if not same_sign:
        j = jaccard_matrix(s != 0)
    else:
        pos, neg, anyv = (s > 0).astype(float), (s < 0).astype(float), (s != 0).astype(float)
        inter = pos @ pos.T + neg @ neg.T
        size = anyv.sum(1)
        union = size[:, None] + size[None, :] - anyv @ anyv.T
        with np.errstate(invalid="ignore", divide="ignore"):
            j = np.where(union > 0, inter / union, np.nan)
    return _pairwise(j, significant["atom"].values, "map_jaccard", "Jaccard of atom maps")


def subgroup_jaccard(loadings: xr.DataArray, tol: float = 0.0) -> xr.DataArray:
    """Jaccard overlap between AN sub-groups ``S_k = {j : |A_kj| > tol}``.

    Parameters
    ----------
    loadings : xarray.DataArray (atom, neuron)
        Dictionary loadings ``A``.
    tol : float
        A neuron belongs to an atom's sub-group when ``|A_kj| > tol``.

    Returns
    -------
    DataArray (atom, atom_other)
    """
    w = loadings.transpose("atom", "neuron")
    j = jaccard_matrix(np.abs(w.values) > tol)
    return _pairwise(j, w["atom"].values, "subgroup_jaccard", "Jaccard of AN sub-groups")


def multi_atom_share(significant: xr.DataArray, atlas: xr.Dataset) -> xr.DataArray:
    """Share of each network's voxels reached by more than one atom.

    ``R_n = #{v in N_n : #{k : v in A_k} >= 2} / |N_n|``.

    Parameters
    ----------
    significant : xarray.DataArray (atom, voxel)
        Signed significance maps (:func:`analysis_lib.networks.threshold_maps`).
    atlas : xarray.Dataset
        An atlas on the maps' voxels.

    Returns
    -------
    DataArray (network)
    """
    labels = atlas_labels(significant, atlas)
    count = (np.asarray(significant.transpose("atom", "voxel").values) != 0).sum(0)
    table = network_table(atlas)
    ids = sorted(table)
    share = []
    for i in ids:
        inside = labels == i
        share.append((count[inside] >= 2).mean() if inside.any() else np.nan)
    return xr.DataArray(
        np.asarray(share, float),
        dims="network",
        coords={"network": [table[i] for i in ids]},
        name="multi_atom_share",
        attrs={"long_name": "share of network voxels significant for >= 2 atoms", "units": "1"},
    )


def redundancy_summary(
    significant: xr.DataArray, loadings: xr.DataArray, atlas: xr.Dataset
) -> xr.Dataset:
    """Scalars: mean off-diagonal map and sub-group Jaccard, mean multi-atom share.

    Parameters
    ----------
    significant : xarray.DataArray (atom, voxel)
        Signed significance maps.
    loadings : xarray.DataArray (atom, neuron)
        Dictionary loadings.
    atlas : xarray.Dataset
        An atlas on the maps' voxels.

    Returns
    -------
    xarray.Dataset
        Scalar variables ``map_jaccard``, ``subgroup_jaccard``, ``multi_atom_share``.
    """
    mj = map_jaccard(significant).values
    sj = subgroup_jaccard(loadings).values
    off = ~np.eye(mj.shape[0], dtype=bool)
    with _quiet():
        return xr.Dataset(
            {
                "map_jaccard": ((), float(np.nanmean(mj[off])) if off.any() else np.nan),
                "subgroup_jaccard": ((), float(np.nanmean(sj[off])) if off.any() else np.nan),
                "multi_atom_share": ((), float(np.nanmean(multi_atom_share(significant, atlas)))),
            }
        )

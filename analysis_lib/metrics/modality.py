"""Study B: modality selectivity of AN sub-groups (vision, text, cross-modal neurons).

Neurons carry a ``branch`` coord (``"vision"``, ``"text"`` or ``"cross"``). For sub-group
``S_k = {j : |A_kj| > tol}``:

* shares ``s_kb = #{j in S_k : branch_j = b} / #S_k`` for each branch ``b``;
* the selectivity index corrects for how many neurons each branch has in the model
  (``N_b``): with rates ``q_kb = #{j in S_k : branch_j = b} / N_b``,

  ``I_k = (q_k,vision - q_k,text) / (q_k,vision + q_k,text)`` in [-1, 1]

  (+1: only vision neurons, -1: only text neurons, 0: both in proportion to their
  numbers; NaN when the sub-group has neither). Cross-modal neurons enter through their
  share ``s_k,cross``.

:func:`modality_summary` gives the scalars compared between models (CLIP, a dual
encoder without cross-modal neurons, versus a METER-like co-attention model).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

BRANCHES = ("vision", "text", "cross")


def modality_selectivity(loadings: xr.DataArray, tol: float = 0.0) -> xr.Dataset:
    """Branch shares and selectivity index of each sub-group.

    Parameters
    ----------
    loadings : DataArray (atom, neuron) with neuron coord ``branch``
    tol : float
        Membership threshold on ``|A_kj|``.

    Returns
    -------
    Dataset with ``share`` (atom, branch), ``index`` (atom) and ``size`` (atom).
    """
    if "branch" not in loadings.coords:
        raise ValueError("loadings need a 'branch' coord (vision/text/cross) on the neuron dim")
    w = loadings.transpose("atom", "neuron")
    member = np.abs(w.values) > tol
    branch = np.asarray(w["branch"].values).astype(str)
    unknown = sorted(set(branch) - set(BRANCHES))
    if unknown:
        raise ValueError(f"unknown branch values {unknown}; expected {BRANCHES}")
    counts = np.stack([member[:, branch == b].sum(1) for b in BRANCHES], axis=1)
    size = member.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(size[:, None] > 0, counts / size[:, None], np.nan)
        pool = np.array([(branch == b).sum() for b in BRANCHES], float)
        rate = np.where(pool > 0, counts / np.maximum(pool, 1), 0.0)
        v, t = rate[:, 0], rate[:, 1]
        index = np.where(v + t > 0, (v - t) / (v + t), np.nan)
    return xr.Dataset(
        {
            "share": (("atom", "branch"), share, {"long_name": "share of sub-group neurons"}),
            "index": ("atom", index, {"long_name": "vision (+1) vs text (-1) selectivity"}),
            "size": ("atom", size.astype(np.int64), {"units": "neurons"}),
        },
        coords={"atom": w["atom"].values, "branch": list(BRANCHES)},
    )


def modality_summary(selectivity: xr.Dataset, cut: float = 0.5) -> xr.Dataset:
    """Scalars of one model's selectivity for cross-model comparison.

    ``mean_abs_index`` (strength of selectivity), ``vision_selective`` /
    ``text_selective`` / ``mixed`` (shares of sub-groups with ``I >= cut``, ``I <= -cut``,
    otherwise), ``cross_share`` (mean share of cross-modal neurons).

    Parameters
    ----------
    selectivity : xarray.Dataset
        From :func:`modality_selectivity` (per sub-group ``index``).
    cut : float
        Index magnitude from which a sub-group counts as selective.

    Returns
    -------
    xarray.Dataset
        Scalar (dimensionless) variables named above.
    """
    idx = selectivity["index"].values
    ok = np.isfinite(idx)
    n = max(int(ok.sum()), 1)
    return xr.Dataset(
        {
            "mean_abs_index": ((), float(np.abs(idx[ok]).mean()) if ok.any() else np.nan),
            "vision_selective": ((), float((idx[ok] >= cut).sum() / n)),
            "text_selective": ((), float((idx[ok] <= -cut).sum() / n)),
            "mixed": ((), float((np.abs(idx[ok]) < cut).sum() / n)),
            "cross_share": (
                (),
                float(np.nanmean(selectivity["share"].sel(branch="cross").values)),
            ),
        }
    )

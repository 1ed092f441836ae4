"""Scoring of the pipeline on a phantom: truth defined before scoring, errors counted.

Truth rule (fixed in code, applied before any pipeline output is seen)
----------------------------------------------------------------------
1. **Which atoms carry which planted feature.** Atom ``k`` carries feature ``f`` when the
   absolute Pearson correlation of its course ``d_k(t)`` with the feature's regressor
   ``x_f(t)`` (the phantom's ``features`` on the TR clock: convolved with the canonical
   SPM HRF, before any subject- or region-specific HRF) is at least :data:`R_CARRY` = 0.3.
2. **Which matched-atlas networks carry which feature.** A network ``n`` of the matched
   atlas carries feature ``f`` when ``feature_network[f, n]`` is true; for
   ``phantom-content`` this table is computed from the planted maps by the rule of
   :func:`analysis_lib.datasets.phantom_content.feature_networks` (the planted parcellation
   is another atlas than the matched one).
3. **Truth pairs** are ``{(k, n) : exists f, k carries f and n carries f}``.

Predicted pairs are the pipeline's *significant set*: the correspondence's ``significant``
(atom, network) variable, i.e. ``p_fdr < alpha_assign`` and, with ``rule="network"``, the
effect-size bound ``|network_r| >= min_r`` (the same set each atom's single assignment is
drawn from).
Precision, recall and F1 count every predicted and every truth pair (a predicted pair
outside the truth is a false positive; a truth pair not predicted is a miss), with
``zero_division = 0`` (scikit-learn's convention: no prediction gives precision 0).
The per-network recall is the share of a network's truth pairs that are predicted.

The null false-positive rate is the share of (atom, network) tests with ``p < 0.05`` on the
null phantom (same noise, no planted signal), so its expectation is at most 0.05 for a
calibrated (or conservative) test.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

#: ``|r|`` between an atom and a planted feature's regressor above which the atom carries it.
#: Fixed before any scoring (issue 14 item 2); not tuned.
R_CARRY = 0.3
#: Nominal level of the null false-positive rate.
NOMINAL = 0.05


def carried_features(
    atoms: xr.DataArray, features: xr.DataArray, r_carry: float = R_CARRY
) -> xr.DataArray:
    """Which atom carries which feature (rule 1 of the module docstring).

    Parameters
    ----------
    atoms : DataArray (time, atom)
    features : DataArray (time, feature)
        Planted feature regressors on the same clock.
    r_carry : float

    Returns
    -------
    DataArray of bool (atom, feature), with the correlations in ``attrs``-free coord
    ``r`` (atom, feature).
    """
    d = atoms.transpose("time", "atom").values.astype(float)
    x = features.transpose("time", "feature").values.astype(float)
    if d.shape[0] != x.shape[0]:
        raise ValueError(
            f"atoms have {d.shape[0]} time points, the features {x.shape[0]}: they must share "
            "the stimulus clock"
        )

    def z(a: np.ndarray) -> np.ndarray:
        sd = a.std(0)
        return np.where(sd > 0, (a - a.mean(0)) / np.where(sd > 0, sd, 1.0), 0.0)

    r = z(d).T @ z(x) / d.shape[0]
    coords = {"atom": atoms["atom"].values, "feature": features["feature"].values}
    return xr.DataArray(
        np.abs(r) >= r_carry,
        dims=("atom", "feature"),
        coords={**coords, "r": (("atom", "feature"), r)},
        name="carries",
        attrs={"rule": f"|corr(atom, feature regressor)| >= {r_carry}"},
    )


def truth_pairs(carried: xr.DataArray, feature_network: xr.DataArray) -> xr.DataArray:
    """Truth (atom, network) pairs (rule 3): an atom carries a feature the network carries.

    Parameters
    ----------
    carried : DataArray of bool (atom, feature)
    feature_network : DataArray of bool (feature, network)

    Returns
    -------
    DataArray of bool (atom, network)
    """
    fn = feature_network.sel(feature=carried["feature"].values)
    t = carried.values.astype(int) @ fn.values.astype(int) > 0
    return xr.DataArray(
        t,
        dims=("atom", "network"),
        coords={"atom": carried["atom"].values, "network": fn["network"].values},
        name="truth",
    )


def predicted_pairs(corr: xr.Dataset, alpha_assign: float | None = None) -> xr.DataArray:
    """The significant set of a correspondence (atom, network).

    Its ``significant`` variable when present (the rule of the correspondence, e.g. with an
    effect-size bound), else ``p_fdr < alpha_assign``.

    Parameters
    ----------
    corr : xarray.Dataset
        Correspondence result with ``p_fdr`` (atom, network).
    alpha_assign : float, optional
        Level (default: the result's ``alpha_assign`` attr, else 0.05).

    Returns
    -------
    xarray.DataArray of bool (atom, network)
        The significant pairs.
    """
    if alpha_assign is None and "significant" in corr:
        sig = corr["significant"].transpose("atom", "network")
        return xr.DataArray(
            np.asarray(sig.values, bool),
            dims=("atom", "network"),
            coords={"atom": sig["atom"].values, "network": sig["network"].values},
            name="predicted",
        )
    alpha = float(corr.attrs.get("alpha_assign", 0.05) if alpha_assign is None else alpha_assign)
    q = corr["p_fdr"].transpose("atom", "network")
    return xr.DataArray(
        np.nan_to_num(q.values, nan=1.0) < alpha,
        dims=("atom", "network"),
        coords={"atom": q["atom"].values, "network": q["network"].values},
        name="predicted",
    )


def _ratio(a: int, b: int) -> float:
    return float(a / b) if b else 0.0


def score_pairs(predicted: xr.DataArray, truth: xr.DataArray) -> dict:
    """Precision, recall, F1 and per-network recall of predicted (atom, network) pairs.

    Parameters
    ----------
    predicted, truth : DataArray of bool (atom, network), same coords

    Returns
    -------
    dict with ``tp``, ``fp``, ``fn``, ``precision``, ``recall``, ``f1`` (0 when undefined,
    scikit-learn's ``zero_division=0``), ``per_network_recall`` (network -> recall, for
    networks with truth pairs) and ``n_truth``, ``n_predicted``.
    """
    p = predicted.transpose("atom", "network")
    t = truth.transpose("atom", "network").sel(atom=p["atom"].values, network=p["network"].values)
    pv, tv = p.values.astype(bool), t.values.astype(bool)
    tp, fp, fn = int((pv & tv).sum()), int((pv & ~tv).sum()), int((~pv & tv).sum())
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    per_net = {
        str(n): _ratio(int((pv[:, j] & tv[:, j]).sum()), int(tv[:, j].sum()))
        for j, n in enumerate(p["network"].values)
        if tv[:, j].any()
    }
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "n_truth": int(tv.sum()),
        "n_predicted": int(pv.sum()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "per_network_recall": per_net,
    }


def null_fpr(corr_null: xr.Dataset, level: float = NOMINAL) -> float:
    """Share of (atom, network) tests with ``p < level`` on a null phantom.

    Parameters
    ----------
    corr_null : xarray.Dataset
        Correspondence result on a null phantom (``p`` (atom, network)).
    level : float
        Nominal level.

    Returns
    -------
    float
        The false-positive share, in [0, 1].
    """
    p = corr_null["p"].values
    return float((np.nan_to_num(p, nan=1.0) < level).mean())


def mean_interval(values, confidence: float = 0.95) -> dict:
    """Mean and t interval of the mean across seeds (``n`` values; NaN-free).

    Parameters
    ----------
    values : array-like of float
        One value per seed.
    confidence : float
        Confidence level of the t interval.

    Returns
    -------
    dict with ``mean``, ``low``, ``high``, ``n`` (``low = high = mean`` when ``n < 2``).
    """
    from scipy import stats

    v = np.asarray(list(values), float)
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "n": 0}
    m = float(v.mean())
    if n < 2 or v.std() == 0:
        return {"mean": m, "low": m, "high": m, "n": int(n)}
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) / np.sqrt(n))
    return {"mean": m, "low": m - half, "high": m + half, "n": int(n)}


def false_pair_cover(
    predicted: xr.DataArray,
    truth: xr.DataArray,
    carried: xr.DataArray,
    cover: xr.DataArray,
) -> list[float]:
    """For each false-positive pair, how much of its network the atom's features cover.

    For a predicted pair ``(k, n)`` outside the truth, the largest share of network ``n``'s
    grayordinates planted with a feature that atom ``k`` carries (0 when the atom carries
    none). A false pair with a share between 0 and the truth rule's cut is an atom that
    carries a planted feature, declared in a network that holds that feature's signal in
    fewer grayordinates than the rule counts; a share of 0 is an error of another kind.

    Parameters
    ----------
    predicted, truth : DataArray of bool (atom, network)
    carried : DataArray of bool (atom, feature)
        From :func:`carried_features`.
    cover : DataArray (feature, network)
        Share of each network planted with each feature (the phantom's ``cover``).

    Returns
    -------
    list of float, one per false-positive pair (atom-major order)
    """
    pred = predicted.transpose("atom", "network")
    fp = pred.values & ~truth.transpose("atom", "network").values
    car = carried.transpose("atom", "feature").values
    cov = cover.transpose("feature", "network").sel(network=pred["network"].values).values
    out = []
    for a, n in zip(*np.nonzero(fp), strict=True):
        shares = cov[car[a], n]
        out.append(float(shares.max()) if shares.size else 0.0)
    return out

"""Twin similarity: ISC of twin pairs against unrelated controls, and MZ against DZ.

For each twin pair (A, B) and region, ``twin_isc`` is the Pearson r of A and B.
``control_isc`` is the r of A with unrelated viewers standing in for B:

``controls="age-sex"``
    the mean r of A with every present subject of another family with B's sex and age
    (``participants.tsv``, age at session 2), the criteria of the study's own
    matched-control table, so every pair with at least one such subject has a control;
``controls="table"``
    the r of A with the unrelated control that ``matched_controltwin_df.csv`` lists for B
    (or, failing that, of B with the control listed for A); pairs whose listed control has
    no time series get none.

Pairs without a control are left out of the tests with one warning that counts them.

Tests per network (network mean of the regional r of each pair): twins against controls
by a sign-flip permutation of the paired differences (exchanging twin and control within
pairs), one-sided for twins more similar; MZ against DZ by permuting zygosity labels over
pairs, one-sided for MZ more similar; percentile bootstrap intervals over pairs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

CONTROLS = ("age-sex", "table")


def _corr(z: np.ndarray, i: int, j: int) -> np.ndarray:
    return (z[i] * z[j]).mean(axis=0)


def pair_isc(
    z: np.ndarray,
    subject_ids: list[str],
    pairs: pd.DataFrame,
    people: pd.DataFrame,
    controls: str = "age-sex",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Twin and control ISC per pair and region.

    Parameters
    ----------
    z : array, shape (n_subjects, n_times, n_regions)
        z-scored data, subjects in the order of ``subject_ids``.
    subject_ids : list of str
    pairs : pandas.DataFrame
        :func:`analysis_lib.datasets.partly_cloudy.twin_pairs`.
    people : pandas.DataFrame
        ``participants.tsv`` indexed by ``participant_id``.
    controls : {"age-sex", "table"}

    Returns
    -------
    twin_isc, control_isc : numpy.ndarray, shape (n_pairs, n_regions)
        ``control_isc`` is NaN for pairs without a control.
    n_controls : numpy.ndarray of int, shape (n_pairs,)
        Number of control subjects averaged per pair.
    """
    if controls not in CONTROLS:
        raise ValueError(f"controls must be one of {CONTROLS}, got {controls!r}")
    index = {s: k for k, s in enumerate(subject_ids)}
    n_r = z.shape[2]
    twin = np.full((len(pairs), n_r), np.nan)
    control = np.full((len(pairs), n_r), np.nan)
    n_controls = np.zeros(len(pairs), dtype=np.int64)
    family = people["family_id"].to_dict()
    for p, row in enumerate(pairs.itertuples(index=False)):
        a, b = index[row.twin_a], index[row.twin_b]
        twin[p] = _corr(z, a, b)
        if controls == "table":
            if row.table_control_b in index:
                control[p] = _corr(z, a, index[row.table_control_b])
                n_controls[p] = 1
            elif row.table_control_a in index:
                control[p] = _corr(z, b, index[row.table_control_a])
                n_controls[p] = 1
            continue
        pool = [
            index[s]
            for s in subject_ids
            if s in people.index
            and family.get(s) != row.family_id
            and str(people.loc[s, "sex"]) == row.sex_b
            and str(people.loc[s, "age_ses02"]) == row.age_b
        ]
        if pool:
            control[p] = np.mean([_corr(z, a, c) for c in pool], axis=0)
            n_controls[p] = len(pool)
    return twin, control, n_controls


def network_tests(
    twin: np.ndarray,
    control: np.ndarray,
    zygosity: np.ndarray,
    groups: dict[str, np.ndarray],
    *,
    n_perm: int = 10000,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per network: twin vs control and MZ vs DZ, with permutation p and intervals.

    Parameters
    ----------
    twin, control : array, shape (n_pairs, n_regions)
    zygosity : array of str, shape (n_pairs,)
    groups : dict
        Network name -> boolean mask over regions.
    n_perm : int
        Sign flips and label permutations.
    n_boot : int
        Bootstrap samples over pairs.
    seed : int
        Seed of the draws.

    Returns
    -------
    pandas.DataFrame, one row per network
        ``twin``, ``control`` (mean r over pairs with a control), ``difference`` with
        ``difference_low/high`` (95 % bootstrap over pairs) and ``p_twin`` (sign flips);
        ``mz``, ``dz``, ``mz_minus_dz`` and ``p_mz`` (label permutation), ``n_pairs``,
        ``n_mz``, ``n_dz``.
    """
    rng = np.random.default_rng(seed)
    has = np.all(np.isfinite(control), axis=1)
    n_ok = int(has.sum())
    if n_ok < len(control):
        warnings.warn(
            f"twins: {len(control) - n_ok} of {len(control)} pair(s) have no control and are "
            "left out of the twin-control test",
            UserWarning,
            stacklevel=2,
        )
    signs = rng.choice([-1.0, 1.0], size=(n_perm, n_ok))
    boot = rng.integers(0, max(n_ok, 1), size=(n_boot, n_ok))
    mz = zygosity == "MZ"
    dz = zygosity == "DZ"
    known = np.flatnonzero(mz | dz)
    labels = mz[known]
    perms = np.array([rng.permutation(labels) for _ in range(n_perm)])
    rows = []
    for name, mask in groups.items():
        t = twin[:, mask].mean(axis=1)
        c = control[:, mask].mean(axis=1)
        d = (t - c)[has]
        obs = d.mean() if n_ok else np.nan
        null = (signs * d[None]).mean(axis=1) if n_ok else np.full(n_perm, np.nan)
        boots = d[boot].mean(axis=1) if n_ok else np.full(n_boot, np.nan)
        tk = t[known]
        obs_z = (
            tk[labels].mean() - tk[~labels].mean() if labels.any() and (~labels).any() else np.nan
        )
        if np.isfinite(obs_z):
            null_z = perms @ tk / labels.sum() - (~perms) @ tk / (~labels).sum()
            p_mz = (1 + np.sum(null_z >= obs_z)) / (1 + n_perm)
        else:
            p_mz = np.nan
        rows.append(
            {
                "network": name,
                "twin": float(t[has].mean()) if n_ok else np.nan,
                "control": float(c[has].mean()) if n_ok else np.nan,
                "difference": float(obs),
                "difference_low": float(np.percentile(boots, 2.5)),
                "difference_high": float(np.percentile(boots, 97.5)),
                "p_twin": float((1 + np.sum(null >= obs)) / (1 + n_perm)) if n_ok else np.nan,
                "mz": float(t[mz].mean()) if mz.any() else np.nan,
                "dz": float(t[dz].mean()) if dz.any() else np.nan,
                "mz_minus_dz": float(obs_z),
                "p_mz": float(p_mz),
                "n_pairs": n_ok,
                "n_mz": int(mz.sum()),
                "n_dz": int(dz.sum()),
            }
        )
    return pd.DataFrame(rows).set_index("network")


def twin_summary(result, alpha: float = 0.05) -> dict:
    """Network-level answer of the twin tests of an ``isc(pairs="twins")`` result.

    The per-network p values of the twin-control and MZ-DZ tests are Holm-corrected over
    networks (:func:`statsmodels.stats.multitest.multipletests`), so "twins are more alike"
    is claimed only where it survives the number of networks tested
    (:func:`analysis_lib.comparison.stats.holm`).

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`analysis_lib.isc.isc` with ``twins_*`` variables (dim ``network``).
    alpha : float
        Family-wise level over networks.

    Returns
    -------
    dict
        ``n_pairs``, ``n_networks``, ``n_positive`` (networks with twin > control),
        ``mean_difference``, ``significant_uncorrected`` and ``significant`` (Holm) network
        lists for twins > controls, ``mz_significant`` (Holm) for MZ > DZ, and ``holds``
        (at least one network significant after Holm).
    """
    from ..comparison.stats import holm

    if "twins_p_twin" not in result:
        raise ValueError("twin_summary: the ISC result has no twin tests (run pairs='twins')")
    nets = [str(n) for n in result["network"].values]
    p_twin = np.asarray(result["twins_p_twin"].values, float)
    p_mz = np.asarray(result["twins_p_mz"].values, float)
    holm_twin = holm(p_twin) < alpha
    ok_mz = np.isfinite(p_mz)
    holm_mz = np.zeros_like(ok_mz)
    if ok_mz.any():
        holm_mz[ok_mz] = holm(p_mz[ok_mz]) < alpha
    diff = np.asarray(result["twins_difference"].values, float)
    significant = [n for n, s in zip(nets, holm_twin, strict=True) if s]
    return {
        "n_pairs": int(np.max(result["twins_n_pairs"].values)),
        "n_networks": len(nets),
        "n_positive": int((diff > 0).sum()),
        "mean_difference": float(diff.mean()),
        "significant_uncorrected": [n for n, p in zip(nets, p_twin, strict=True) if p < alpha],
        "significant": significant,
        "mz_significant": [n for n, s in zip(nets, holm_mz, strict=True) if s],
        "holds": bool(significant),
    }

"""Group statistics over subjects: bootstrap interval, sign-flip test, Holm correction."""

from __future__ import annotations

import itertools

import numpy as np


def bootstrap_ci(
    x: np.ndarray, *, n_resamples: int = 10000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``x`` (subjects resampled).

    Uses :func:`scipy.stats.bootstrap` (``method="percentile"``).

    Parameters
    ----------
    x : ndarray, shape (n_subjects,)
        One value per subject.
    n_resamples : int, default 10000
        Bootstrap resamples.
    level : float, default 0.95
        Confidence level.
    seed : int, default 0
        Seed of the resampling.

    Returns
    -------
    (float, float)
        Lower and upper bounds of the interval.
    """
    from scipy.stats import bootstrap

    x = np.asarray(x, float)
    if x.size < 2 or np.all(x == x[0]):
        return (float(x.mean()), float(x.mean())) if x.size else (np.nan, np.nan)
    res = bootstrap(
        (x,),
        np.mean,
        n_resamples=n_resamples,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def sign_flip_pvalue(x: np.ndarray, *, n_perm: int = 10000, seed: int = 0) -> float:
    """Two-sided sign-flip (paired permutation) p-value of ``mean(x) = 0``.

    Exact (all ``2^n`` sign patterns) for ``n <= 16`` subjects, otherwise ``n_perm`` random
    patterns plus the observed one (``p >= 1 / (n_perm + 1)``).

    Parameters
    ----------
    x : ndarray, shape (n_subjects,)
        One value per subject.
    n_perm : int, default 10000
        Random sign patterns when the exact test is too large.
    seed : int, default 0
        Seed of the random patterns.

    Returns
    -------
    float
        The p value.
    """
    x = np.asarray(x, float)
    n = x.size
    if n == 0:
        return np.nan
    obs = abs(x.mean())
    if n <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        null = np.abs(signs @ x) / n
        return float(np.mean(null >= obs - 1e-12 * max(obs, 1e-300)))
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(n_perm, n))
    null = np.abs(signs @ x) / n
    return float((1 + np.sum(null >= obs - 1e-12 * max(obs, 1e-300))) / (n_perm + 1))


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values over all entries (NaN entries stay NaN)."""
    p = np.asarray(pvalues, float)
    flat = p.ravel()
    ok = np.flatnonzero(~np.isnan(flat))
    m = ok.size
    adj = np.full(flat.shape, np.nan)
    if m:
        order = ok[np.argsort(flat[ok], kind="stable")]
        scaled = (m - np.arange(m)) * flat[order]
        adj[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adj.reshape(p.shape)

"""Noise ceiling for single-subject held-out R^2: the one-factor pairwise-ISC estimator.

Model: after nuisance removal, subject ``s``'s standardised ROI time course is
``y_s = rho_s z + sqrt(1 - rho_s^2) e_s``, with ``z`` the stimulus-locked signal shared by
every listener and ``e_s`` noise independent across subjects. The best any stimulus model
can do for subject ``s`` is to predict ``rho_s z``: a population R^2 of ``rho_s^2``. The
pairwise inter-subject correlations are ``C_uv = rho_u rho_v`` (``u != v``), so for ``s``

    rho_s^2 = sum_{u != v, u,v != s} C_su C_sv / sum_{u != v, u,v != s} C_uv

exactly (ratio of sums over ordered pairs of *other* subjects; it does not assume equal
signal-to-noise ratios). With finite data each correlation has sampling error of order
``1/sqrt(T)``; the ratio of sums is consistent and, unlike the correlation with the mean of
the other subjects (leave-one-subject-out ISC, ``rho_s * corr(z, mean of others)``, biased
low because that mean is itself noisy), is on the scale of the scored quantity (R^2).
When there is almost no shared signal the denominator is sampling noise around 0 and the
ratio is unstable (NaN when it is not positive); average it over subjects.
It is a ceiling for stimulus-locked variance: subject-specific signals (motion) are not
shared and count as noise. ``tests/test_comparison.py`` checks it on simulated data with a
known ceiling.
"""

from __future__ import annotations

import numpy as np


def pairwise_isc(Y: np.ndarray) -> np.ndarray:
    """Pairwise correlations between subjects, shape (n_subjects, n_subjects, n_rois).

    Parameters
    ----------
    Y : ndarray, shape (n_subjects, n_time, n_rois)
    """
    Z = Y - Y.mean(axis=1, keepdims=True)
    sd = np.sqrt((Z**2).sum(axis=1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        Z = Z / sd
    return np.einsum("str,utr->sur", Z, Z)


def one_factor_ceiling(Y: np.ndarray) -> np.ndarray:
    """Per-subject ceiling of held-out R^2 (``rho_s^2``), shape (n_subjects, n_rois).

    Parameters
    ----------
    Y : ndarray, shape (n_subjects, n_time, n_rois)
        Nuisance-cleaned time courses of at least 3 subjects.

    Returns
    -------
    ndarray, shape (n_subjects, n_rois)
        NaN where the shared signal is not positive (denominator <= 0).
    """
    n = Y.shape[0]
    if n < 3:
        raise ValueError(f"the one-factor ceiling needs at least 3 subjects, got {n}")
    C = pairwise_isc(Y)
    out = np.empty((n, Y.shape[2]))
    for s in range(n):
        others = [u for u in range(n) if u != s]
        cs = C[s, others]  # (m, R)
        num = cs.sum(0) ** 2 - (cs**2).sum(0)
        sub = C[np.ix_(others, others)]
        den = sub.sum((0, 1)) - np.einsum("uur->r", sub)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s] = np.where(den > 0, num / den, np.nan)
    return out


def loso_isc(Y: np.ndarray) -> np.ndarray:
    """Leave-one-subject-out ISC (correlation with the mean of the others), (n_subjects, n_rois).

    Shown for comparison only: it is biased low as a ceiling of ``r`` and is not on the
    R^2 scale.
    """
    n = Y.shape[0]
    out = np.empty((n, Y.shape[2]))
    for s in range(n):
        others = np.delete(Y, s, axis=0).mean(0)
        a = Y[s] - Y[s].mean(0)
        b = others - others.mean(0)
        out[s] = (a * b).sum(0) / np.sqrt((a**2).sum(0) * (b**2).sum(0))
    return out

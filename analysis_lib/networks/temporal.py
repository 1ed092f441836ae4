"""Network-level test with a temporal null: is an atom's network response beyond chance?

Why a temporal null
-------------------
The network-level group test of :func:`analysis_lib.networks.correspondence`
(``network_group_test``) treats subjects as the random unit: it asks whether the network
beta of an atom is non-zero *in the population of subjects*. In a naturalistic design every
subject hears the same story and every subject's GLM uses the same atom courses, so any
chance correlation of an atom with the stimulus-driven (shared) response is the same in
every subject and passes that test, however unrelated the atom is to the stimulus. Random
atoms and atoms of a circularly shifted stimulus are then "significant" wherever the brain
responds (measured on the phantom: ``benchmarks/results/validate_content_network.json``).
The question the book asks, "does this atom carry what drives the network", needs the
*stimulus* as the random unit: the atoms are circularly shifted (the same shift for every
subject, so each surrogate keeps the atoms' autocorrelation and breaks only their alignment
with the stimulus) and the whole group statistic is recomputed.

Statistic
---------
For subject ``s`` and network ``n`` the network-mean BOLD ``y_sn(t)`` (mean over the
network's voxels) is residualised on the encoding model's nuisance regressors (cosine drift
basis, constant; :func:`analysis_lib.encoding.design.build_design`) and scaled to unit
variance; each z-scored atom, residualised the same way, is correlated with it
(``fit="marginal"``) or all atoms enter one least-squares fit (``fit="joint"``, the
encoding stage's partial coefficients). The statistic of a pair is the mean over subjects
of that standardised coefficient, ``b_kn``. The surrogates give
``b_kn^(j)`` for circular shifts ``j`` (at least ``min_shift`` volumes either way). A
circular shift has at most ``T - 2 min_shift`` values, too few for exact p values to pass a
correction over hundreds of pairs, so the p value is the two-sided normal tail of
``z = (b - mean_j b^(j)) / sd_j b^(j)`` (a null-standardised statistic). Its calibration is
checked, not assumed: on the null phantom and with shifted atoms (``tests/test_networks.py``,
``benchmarks/validate_content.py``).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm


def network_courses(bold: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Network-mean BOLD courses.

    Parameters
    ----------
    bold : ndarray, shape (n_time, n_voxel)
    labels : ndarray of int, shape (n_voxel,)
        Network id of each voxel (0 or any id not in ``ids``: no network).
    ids : ndarray of int, shape (n_network,)

    Returns
    -------
    ndarray, shape (n_time, n_network)
        NaN columns for networks with no finite voxel.
    """
    bold = np.asarray(bold, np.float64)
    finite = np.isfinite(bold).all(0)
    out = np.full((bold.shape[0], len(ids)), np.nan)
    for j, i in enumerate(ids):
        m = (labels == i) & finite
        if m.any():
            out[:, j] = bold[:, m].mean(1)
    return out


def _residualise(x: np.ndarray, nuisance: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(nuisance, x, rcond=None)
    return x - nuisance @ coef


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std(0)
    return np.where(sd > 0, (x - x.mean(0)) / np.where(sd > 0, sd, 1.0), 0.0)


def network_shift_test(
    atoms: np.ndarray,
    courses: list[np.ndarray],
    nuisance: np.ndarray,
    *,
    n_shift: int = 500,
    min_shift: int = 20,
    seed: int = 0,
    fit: str = "marginal",
) -> dict[str, np.ndarray]:
    """Group statistic of each (atom, network) pair and its circular-shift null.

    Parameters
    ----------
    atoms : ndarray, shape (n_time, n_atom)
        Atom courses on the scan clock (the same for every subject).
    courses : list of ndarray, each (n_time, n_network)
        Network-mean BOLD of each subject (:func:`network_courses`).
    nuisance : ndarray, shape (n_time, n_nuisance)
        The encoding model's nuisance regressors (drift, constant).
    n_shift : int
        Number of circular shifts (all allowed shifts when fewer exist).
    min_shift : int
        Smallest shift (volumes), and its mirror ``n_time - min_shift``.
    seed : int
        Seed of the shift draw.
    fit : {"marginal", "joint"}
        ``marginal``: each atom alone (its correlation with the residualised course, the
        quantity the phantom's truth rule is stated in); ``joint``: all atoms in one
        least-squares fit (the encoding model's partial coefficients).

    Returns
    -------
    dict
        ``b`` (n_atom, n_network): subject mean of the standardised coefficient;
        ``z`` and ``p`` (n_atom, n_network): null-standardised statistic and its
        two-sided normal p value (``p = 1`` where a network has no course);
        ``null_mean``, ``null_sd`` (n_atom, n_network); ``shifts`` (n_shift,).
    """
    from ..encoding.nulls import draw_null

    a = np.asarray(atoms, np.float64)
    n_time = a.shape[0]
    if len(courses) < 2:
        raise ValueError(f"the network shift test needs at least 2 subjects, got {len(courses)}")
    for i, c in enumerate(courses):
        if c.shape[0] != n_time:
            raise ValueError(
                f"subject {i}: {c.shape[0]} volumes, the atoms {n_time}: they must share the "
                "scan clock"
            )
    y = np.stack([np.asarray(c, np.float64) for c in courses], 1)  # (time, subject, network)
    n_sub, n_net = y.shape[1], y.shape[2]
    ok = np.isfinite(y).all((0, 1))
    yr = _residualise(np.nan_to_num(y).reshape(n_time, -1), nuisance)
    yr = _zscore(yr)  # (time, subject * network)
    za = _zscore(a)
    spec = draw_null("shift", n_time, n_shift, seed, min_shift=min_shift)

    if fit not in ("joint", "marginal"):
        raise ValueError(f"fit must be 'joint' or 'marginal', got {fit!r}")

    def stat(x: np.ndarray) -> np.ndarray:
        xr_ = _residualise(x, nuisance)
        if fit == "joint":
            coef, *_ = np.linalg.lstsq(xr_, yr, rcond=None)  # (atom, subject * network)
        else:
            coef = _zscore(xr_).T @ yr / n_time  # correlations
        return coef.reshape(-1, n_sub, n_net).mean(1)

    b = stat(za)
    null = np.stack([stat(np.roll(za, int(k), axis=0)) for k in spec.shifts])
    mu, sd = null.mean(0), null.std(0, ddof=1)
    z = np.where(sd > 0, (b - mu) / np.where(sd > 0, sd, 1.0), 0.0)
    p = 2 * norm.sf(np.abs(z))
    b[:, ~ok], z[:, ~ok], p[:, ~ok] = np.nan, np.nan, 1.0
    return {"b": b, "z": z, "p": p, "null_mean": mu, "null_sd": sd, "shifts": spec.shifts}


def shift_variables(shift: dict[str, np.ndarray], fit: str) -> dict:
    """The ``network_b`` and ``p_temporal`` variables of a correspondence result.

    Parameters
    ----------
    shift : dict
        Output of :func:`network_shift_test` (``b`` and ``p``, each (atom, network)).
    fit : {"marginal", "joint"}
        The fit the test used (named in the long name).

    Returns
    -------
    dict
        ``{name: (dims, values, attrs)}`` for ``xarray.Dataset``; one definition for the
        voxel and the parcel correspondence.
    """
    return {
        "network_b": (
            ("atom", "network"),
            shift["b"],
            {
                "long_name": f"{fit} standardised coefficient of the atom for the "
                "network-mean BOLD, subject mean",
                "units": "1",
            },
        ),
        "p_temporal": (
            ("atom", "network"),
            shift["p"],
            {
                "long_name": "p value of network_b under circular shifts of the atoms",
                "units": "1",
            },
        ),
    }

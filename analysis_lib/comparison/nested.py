"""Held-out R^2 of a base model and of base + one feature set (nested, blocked CV).

For one subject: nuisance regressors (cosine drift, intercept) are projected out of the
data and every feature over the whole run (they contain no feature, so this uses no
information about the feature-BOLD relation; see :mod:`analysis_lib.encoding.ridge_cv`).
Outer folds are contiguous blocks of volumes; each training set leaves out ``gap`` volumes
on either side of its test block. Within each outer fold, features are z-scored with
training statistics, and

* the **base** model is :class:`himalaya.ridge.RidgeCV` on the base features;
* the **full** model is :class:`himalaya.ridge.BandedRidgeCV` on two bands (base,
  feature set), so each band gets its own penalty (a fixed grid of band weights,
  :func:`band_weights`, from nearly base only to nearly feature set only, times a grid of
  global penalties);

all penalties are chosen by an inner blocked CV on the training volumes only. Held-out
predictions of the outer folds are concatenated; ``R^2 = 1 - SSE / SST`` with ``SST``
around the mean of the held-out data (it can be negative). The unique variance of the
feature set is ``dR^2 = R^2_full - R^2_base``.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np

from ..encoding.ridge_cv import DEFAULT_ALPHAS, blocked_splits


def _r2(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    tc = true - true.mean(0)
    sst = (tc**2).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sst > 0, 1.0 - ((true - pred) ** 2).sum(0) / sst, np.nan)


def _zscore(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = train.mean(0), train.std(0)
    sd[sd == 0] = 1.0
    return ((train - mu) / sd).astype(np.float64), ((test - mu) / sd).astype(np.float64)


def band_weights(n: int) -> np.ndarray:
    """The ``n`` (base, feature) band weights searched by the banded ridge, shape (n, 2).

    A fixed grid (not random search) of feature/base weight ratios log-spaced from 1e-5
    to 1e5 (weights sum to 1; himalaya needs them > 0). At the ends the feature set (or
    the base) is shrunk 1e5 times more than the other band, so the full model can fall
    back to about the base model: a feature set without information then costs only the
    noise of the inner penalty choice.
    """
    if n < 2:
        raise ValueError(f"band_weights needs n >= 2, got {n}")
    ratio = np.logspace(-5, 5, n)
    w = ratio / (1 + ratio)
    return np.column_stack([1 - w, w])


def held_out_r2(
    Y: np.ndarray,
    base: np.ndarray,
    features: dict[str, np.ndarray],
    nuisance: np.ndarray,
    *,
    n_folds: int = 5,
    gap: int = 6,
    inner_folds: int = 3,
    n_iter: int = 20,
    alphas: np.ndarray | None = None,
    seed: int = 0,
    scaling: str = "train",
    full: str = "banded",
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Held-out R^2 of the base model and of base + each feature set.

    Parameters
    ----------
    Y : ndarray, shape (n_time, n_rois)
    base : ndarray, shape (n_time, n_base)
    features : dict of str -> ndarray, shape (n_time, n_features)
    nuisance : ndarray, shape (n_time, n_nuisance)
        Projected out of everything first (drift, intercept).
    n_folds, gap, inner_folds : int
        Outer folds, gap (volumes) on each side of a test block, inner folds.
    n_iter : int
        Number of band weights searched (:func:`band_weights`, at least 2).
    alphas : ndarray, optional
        Global penalties (default ``logspace(-2, 6, 17)``).
    seed : int
        Seed of the random search.
    scaling : {"train", "run"}
        Where the features' z-score statistics come from: each outer fold's training
        volumes (``"train"``, the default), or the whole run (``"run"``). Use ``"run"`` for
        sparse event designs: an event type absent from a fold's training block has a
        near-zero training SD, and the held-out block scaled by it explodes. Features are
        the stimulus, fixed before any BOLD is seen, so whole-run scaling uses no
        information about the held-out BOLD.
    full : {"banded", "ridge"}
        The full model: himalaya's banded ridge (one penalty per band, the default), or
        one :class:`~himalaya.ridge.RidgeCV` penalty over base + feature set. ``"ridge"``
        is about 20 times faster and fits small feature sets of like scale (a few
        z-scored event regressors and atoms) about as well; it cannot shrink one band
        alone, so a large uninformative set costs more.

    Returns
    -------
    r2_base : ndarray, shape (n_rois,)
    r2_full : dict of str -> ndarray, shape (n_rois,)
    """
    from himalaya.backend import set_backend
    from himalaya.ridge import BandedRidgeCV, RidgeCV

    set_backend("numpy", on_error="raise")
    alphas = DEFAULT_ALPHAS if alphas is None else np.asarray(alphas, float)
    n_time = Y.shape[0]
    q, _ = np.linalg.qr(nuisance)

    def clean(x):
        return x - q @ (q.T @ x)

    Yc = clean(np.asarray(Y, float))
    Bc = clean(np.asarray(base, float))
    Fc = {k: clean(np.asarray(v, float)) for k, v in features.items()}
    if scaling == "run":
        Bc = _zscore(Bc, Bc)[0]
        Fc = {k: _zscore(v, v)[0] for k, v in Fc.items()}

        def scale(train, test):
            return train, test
    elif scaling == "train":
        scale = _zscore
    else:
        raise ValueError(f"scaling must be 'train' or 'run', got {scaling!r}")
    if full not in ("banded", "ridge"):
        raise ValueError(f"full must be 'banded' or 'ridge', got {full!r}")
    outer = blocked_splits(np.arange(n_time), n_folds, gap)
    tested = np.unique(np.concatenate([te for _, te in outer]))
    pred_base = np.zeros_like(Yc)
    pred_full = {k: np.zeros_like(Yc) for k in Fc}
    gammas = band_weights(n_iter)
    # one random stream per feature set, from the seed and its name: a set's result does not
    # depend on which other sets are fitted with it (so results can be cached per set)
    rngs = {k: np.random.RandomState([seed, zlib.crc32(k.encode())]) for k in Fc}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Solving ridge is slower.*")
        for train, test in outer:
            inner = blocked_splits(train, inner_folds, gap)
            b_tr, b_te = scale(Bc[train], Bc[test])
            y_tr = Yc[train]
            model = RidgeCV(alphas=alphas, fit_intercept=False, cv=inner)
            model.fit(b_tr, y_tr)
            pred_base[test] = np.asarray(model.predict(b_te))
            for name, F in Fc.items():
                f_tr, f_te = scale(F[train], F[test])
                if full == "ridge":
                    one = RidgeCV(alphas=alphas, fit_intercept=False, cv=inner)
                    one.fit(np.hstack([b_tr, f_tr]), y_tr)
                    pred_full[name][test] = np.asarray(one.predict(np.hstack([b_te, f_te])))
                    continue
                groups = np.r_[np.zeros(b_tr.shape[1], int), np.ones(f_tr.shape[1], int)]
                banded = BandedRidgeCV(
                    groups=groups,
                    solver="random_search",
                    solver_params={
                        "n_iter": gammas,
                        "alphas": alphas,
                        "progress_bar": False,
                    },
                    fit_intercept=False,
                    cv=inner,
                    random_state=rngs[name].randint(2**31 - 1),
                )
                banded.fit(np.hstack([b_tr, f_tr]), y_tr)
                pred_full[name][test] = np.asarray(banded.predict(np.hstack([b_te, f_te])))
    true = Yc[tested]
    r2_base = _r2(pred_base[tested], true)
    return r2_base, {k: _r2(p[tested], true) for k, p in pred_full.items()}

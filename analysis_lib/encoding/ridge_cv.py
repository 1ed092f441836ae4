"""Cross-validated prediction of BOLD from the atoms: ridge over contiguous time blocks.

Outer folds are ``n_folds`` contiguous blocks of volumes; the training set of a fold
excludes every volume within ``gap`` volumes of its test block, so that the slow
haemodynamic and drift autocorrelation cannot leak between train and test. Nuisance
regressors (confounds, drift, intercept) are first projected out of atoms and BOLD over
the whole series: the nuisance model contains no atom, so this uses no information about
the atom-BOLD relation, whereas fitting drift on training blocks and extrapolating it into
the held-out block would add large shared low-frequency artefacts to both sides. Within
each outer fold the atoms are z-scored with training statistics; the ridge penalty of each voxel is chosen by an inner blocked CV
(same construction, on the training volumes) with :class:`himalaya.ridge.RidgeCV`.

Held-out predictions of all outer folds are concatenated; ``r_cv`` is their Pearson
correlation with the (nuisance-removed) data and ``r2_cv = 1 - SSE / SST`` with ``SST``
around the mean of the held-out data. Both are out-of-sample: ``r2_cv`` can be negative.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass

import numpy as np

DEFAULT_ALPHAS = np.logspace(-2, 6, 17)


def blocked_splits(
    indices: np.ndarray, n_folds: int, gap: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Contiguous-block folds of ``indices`` (sorted volume numbers) with a gap.

    Returns ``(train_positions, test_positions)`` pairs, positions into ``indices``.

    Parameters
    ----------
    indices : ndarray of int, shape (n_time,)
        Sorted volume numbers of the samples.
    n_folds : int
        Number of contiguous test blocks.
    gap : int
        Volumes on each side of a test block left out of its training set.

    Returns
    -------
    list of (ndarray, ndarray)
        ``n_folds`` pairs of (train positions, test positions), positions into ``indices``.

    Raises
    ------
    ValueError
        When a fold would have no training or no test volume.
    """
    indices = np.asarray(indices)
    n = indices.size
    if n_folds < 2 or n_folds > n:
        raise ValueError(f"cannot make {n_folds} folds of {n} volumes")
    edges = np.linspace(0, n, n_folds + 1).round().astype(int)
    splits = []
    for lo, hi in itertools.pairwise(edges):
        test = np.arange(lo, hi)
        t_lo, t_hi = indices[lo], indices[hi - 1]
        keep = (indices < t_lo - gap) | (indices > t_hi + gap)
        train = np.nonzero(keep)[0]
        if train.size == 0 or test.size == 0:
            raise ValueError(
                f"{n_folds} folds with a gap of {gap} volumes leave a fold without training "
                f"data ({n} volumes); lower cv or gap"
            )
        splits.append((train, test))
    return splits


@dataclass
class CVResult:
    """Cross-validated prediction scores per voxel.

    Attributes
    ----------
    r : ndarray, shape (n_voxels,)
    r2 : ndarray, shape (n_voxels,)
    alpha : ndarray, shape (n_voxels,)
        Geometric mean over outer folds of the selected ridge penalty.
    """

    r: np.ndarray
    r2: np.ndarray
    alpha: np.ndarray


@contextlib.contextmanager
def _himalaya_backend(device: str):
    from himalaya.backend import get_backend, set_backend

    previous = get_backend()
    name = "torch_cuda" if str(device).startswith("cuda") else "torch"
    backend = set_backend(name, on_error="raise")
    try:
        yield backend
    finally:
        set_backend(previous.name if hasattr(previous, "name") else "numpy", on_error="warn")


def _residualize(basis: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Project the columns of ``basis`` (orthonormal) out of ``x``."""
    return x - basis @ (basis.T @ x)


def cross_validated_ridge(
    atoms: np.ndarray,
    Y: np.ndarray,
    nuisance: np.ndarray,
    *,
    n_folds: int = 5,
    gap: int = 5,
    inner_folds: int = 3,
    alphas: np.ndarray | None = None,
    device: str = "cpu",
    chunk: int = 4096,
    progress: bool = False,
) -> CVResult:
    """Blocked, gapped, nested cross-validated ridge prediction of ``Y`` from ``atoms``.

    Parameters
    ----------
    atoms : ndarray, shape (n_time, n_atoms)
    Y : ndarray, shape (n_time, n_voxels)
    nuisance : ndarray, shape (n_time, n_nuisance)
        Confounds, drift and intercept, removed within each training set.
    n_folds, gap, inner_folds : int
        Outer folds, gap in volumes, inner folds for the penalty.
    alphas : ndarray, optional
        Candidate penalties (default ``logspace(-2, 6, 17)``).
    device : str
        Torch device for himalaya.
    chunk : int
        Voxels per batch.
    progress : bool
        Show a progress bar (in a terminal only).

    Returns
    -------
    CVResult
        Per-voxel ``r``, ``r2`` and selected ``alpha``, each of shape (n_voxels,).
    """
    from himalaya.ridge import RidgeCV
    from tqdm.auto import tqdm

    alphas = DEFAULT_ALPHAS if alphas is None else np.asarray(alphas, float)
    n_time, n_vox = Y.shape
    outer = blocked_splits(np.arange(n_time), n_folds, gap)
    basis, _ = np.linalg.qr(nuisance)
    atoms_res = _residualize(basis, atoms)
    folds = []
    for train, test in outer:
        x_tr, x_te = atoms_res[train], atoms_res[test]
        mu, sd = x_tr.mean(0), x_tr.std(0)
        sd[sd == 0] = 1.0
        folds.append(
            (
                train,
                test,
                ((x_tr - mu) / sd).astype(np.float32),
                ((x_te - mu) / sd).astype(np.float32),
                blocked_splits(train, inner_folds, gap),
            )
        )
    tested = np.unique(np.concatenate([test for _, test in outer]))
    r = np.empty(n_vox)
    r2 = np.empty(n_vox)
    log_alpha = np.zeros(n_vox)
    with _himalaya_backend(device) as backend:
        for s in tqdm(range(0, n_vox, chunk), desc="ridge CV", disable=None if progress else True):
            sl = slice(s, min(s + chunk, n_vox))
            y = _residualize(basis, np.asarray(Y[:, sl], np.float64))
            pred = np.zeros_like(y)
            true = np.zeros_like(y)
            for train, test, x_tr, x_te, inner in folds:
                y_tr, y_te = y[train], y[test]
                model = RidgeCV(alphas=alphas, fit_intercept=False, cv=inner)
                model.fit(x_tr, y_tr.astype(np.float32))
                pred[test] = backend.to_numpy(model.predict(x_te))
                true[test] = y_te
                log_alpha[sl] += np.log(backend.to_numpy(model.best_alphas_))
            pred, true = pred[tested], true[tested]
            pc = pred - pred.mean(0)
            tc = true - true.mean(0)
            sst = (tc * tc).sum(0)
            denom = np.sqrt((pc * pc).sum(0) * sst)
            with np.errstate(invalid="ignore", divide="ignore"):
                r[sl] = np.where(denom > 0, (pc * tc).sum(0) / denom, 0.0)
                r2[sl] = np.where(sst > 0, 1.0 - ((true - pred) ** 2).sum(0) / sst, np.nan)
    return CVResult(r=r, r2=r2, alpha=np.exp(log_alpha / len(outer)))

"""Reference solvers and exact scoring: SPAMS ``trainDL`` and scikit-learn.

The same problem as :mod:`analysis_lib.decomposition.solver` solved by well-kept libraries,
to check and to compare against: :func:`fit_spams` (``spams.trainDL``, ``mode=2``,
``lambda1 = alpha``) and :func:`fit_sklearn` (``MiniBatchDictionaryLearning`` with neurons
as samples), each run for ``max_iter`` epochs of minibatches and followed by exact codes;
:func:`spams_codes` (LARS) and :func:`reference_codes` (coordinate descent) give exact lasso
codes of any atoms, :func:`objective_value` the objective in float64.
"""

from __future__ import annotations

import math

import numpy as np

from .solver import SolverResult


def fit_spams(
    X: np.ndarray,
    D0: np.ndarray,
    *,
    alpha: float,
    max_iter: int,
    batch_size: int | None = None,
    n_threads: int | None = None,
    dtype: str = "float32",
) -> SolverResult:
    """Dictionary learning by SPAMS ``trainDL`` (mode 2), then exact LARS codes.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
        Normalized responses.
    D0 : ndarray, shape (n_time, K)
        Starting atoms.
    alpha : float
        L1 penalty (``lambda1``).
    max_iter : int
        Epochs: ``trainDL`` runs ``max_iter * ceil(n_neuron / batch_size)`` minibatches.
    batch_size : int or None
        Minibatch size (default 512).
    n_threads : int or None
        SPAMS threads (default 2).
    dtype : {"float32", "float64"}
        Dtype of the returned atoms and loadings.

    Returns
    -------
    SolverResult
        Its ``objective`` is NaN for the ``max_iter`` epochs (SPAMS reports none) and then
        the exact objective of the returned atoms and codes.
    """
    try:
        import spams
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("solver='spams' needs the spams package (spams-bin)") from exc
    Xf = np.asfortranarray(X, dtype=np.float64)
    batch = int(batch_size or 512)
    n = X.shape[1]
    n_steps = int(max_iter) * math.ceil(n / batch)
    D = spams.trainDL(
        Xf,
        D=np.asfortranarray(D0),
        K=D0.shape[1],
        lambda1=float(alpha),
        mode=2,
        iter=n_steps,
        batchsize=batch,
        numThreads=int(n_threads or 2),
        verbose=False,
    )
    D = np.asarray(D)
    A, rss, obj = spams_codes(Xf, D, float(alpha), int(n_threads or 2))
    return SolverResult(
        atoms=D.astype(np.dtype(dtype)),
        loadings=A.astype(np.dtype(dtype)),
        objective=np.asarray([np.nan] * int(max_iter) + [obj], dtype=np.float64),
        n_iter=int(max_iter),
        n_refine=0,
        rss=rss,
        converged=True,
    )


def fit_sklearn(
    X: np.ndarray,
    D0: np.ndarray,
    *,
    alpha: float,
    max_iter: int,
    batch_size: int | None = None,
    seed: int = 0,
    dtype: str = "float32",
) -> SolverResult:
    """Dictionary learning by scikit-learn's ``MiniBatchDictionaryLearning``, then exact codes.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
        Normalized responses (neurons are scikit-learn's samples).
    D0 : ndarray, shape (n_time, K)
        Starting atoms (``dict_init``).
    alpha : float
        L1 penalty.
    max_iter : int
        Epochs over the neurons.
    batch_size : int or None
        Minibatch size (default 512).
    seed : int
        ``random_state`` (minibatch order).
    dtype : {"float32", "float64"}
        Dtype of the returned atoms and loadings.

    Returns
    -------
    SolverResult
        Its ``objective`` is NaN for the epochs and then the exact objective of the returned
        atoms and coordinate-descent codes.
    """
    from sklearn.decomposition import MiniBatchDictionaryLearning

    model = MiniBatchDictionaryLearning(
        n_components=D0.shape[1],
        alpha=float(alpha),
        max_iter=int(max_iter),
        tol=0.0,
        max_no_improvement=None,
        batch_size=int(batch_size or 512),
        fit_algorithm="cd",
        transform_algorithm="lasso_cd",
        transform_alpha=float(alpha),
        dict_init=D0.T,
        random_state=seed,
    )
    Xs = X.T.astype(np.float64)
    model.fit(Xs)
    D = model.components_.T
    A, rss, obj = reference_codes(Xs.T, D, float(alpha))
    return SolverResult(
        atoms=D.astype(np.dtype(dtype)),
        loadings=A.astype(np.dtype(dtype)),
        objective=np.asarray([np.nan] * int(model.n_iter_) + [obj], dtype=np.float64),
        n_iter=int(model.n_iter_),
        n_refine=0,
        rss=rss,
        converged=True,
    )


def objective_value(X: np.ndarray, D: np.ndarray, A: np.ndarray, alpha: float) -> float:
    """``sum_n 0.5 ||x_n - D a_n||^2 + alpha ||a_n||_1`` in float64.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
    D : ndarray, shape (n_time, K)
    A : ndarray or scipy sparse matrix, shape (K, n_neuron)
    alpha : float
        L1 penalty.

    Returns
    -------
    float
    """
    A = A.toarray() if hasattr(A, "toarray") else np.asarray(A)
    R = np.asarray(X, dtype=np.float64) - np.asarray(D, dtype=np.float64) @ A.astype(np.float64)
    return float(0.5 * np.sum(R * R) + alpha * np.abs(A).sum(dtype=np.float64))


def spams_codes(
    X: np.ndarray, D: np.ndarray, alpha: float, n_threads: int = 2
) -> tuple[np.ndarray, np.ndarray, float]:
    """Exact lasso codes by SPAMS (LARS, ``mode=2``) and the objective.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
    D : ndarray, shape (n_time, K)
    alpha : float
        L1 penalty (``lambda1``).
    n_threads : int
        SPAMS threads.

    Returns
    -------
    A : ndarray, shape (K, n_neuron)
    rss : ndarray, shape (n_neuron,)
    objective : float
    """
    import spams

    Xf = np.asfortranarray(X, dtype=np.float64)
    Df = np.asfortranarray(D, dtype=np.float64)
    A = spams.lasso(Xf, D=Df, lambda1=alpha, mode=2, numThreads=n_threads).toarray()
    R = Xf - Df @ A
    rss = np.sum(R * R, axis=0)
    return A, rss, float(0.5 * rss.sum() + alpha * np.abs(A).sum())


def reference_codes(
    X: np.ndarray, D: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Lasso codes by scikit-learn's ``sparse_encode`` (coordinate descent) and the objective.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
    D : ndarray, shape (n_time, K)
    alpha : float
        L1 penalty.

    Returns
    -------
    A : ndarray, shape (K, n_neuron)
    rss : ndarray, shape (n_neuron,)
    objective : float
    """
    from sklearn.decomposition import sparse_encode

    X = np.asarray(X, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    A = sparse_encode(X.T, D.T, algorithm="lasso_cd", alpha=alpha, max_iter=2000).T
    R = X - D @ A
    rss = np.sum(R * R, axis=0)
    return A, rss, float(0.5 * rss.sum() + alpha * np.abs(A).sum())

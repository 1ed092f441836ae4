"""Sparse dictionary learning of artificial-neuron (AN) temporal responses.

The responses of many ANs, a matrix ``X`` of shape ``(n_time, n_neuron)``, are summarized
by ``K`` temporal atoms: ``X ~ D A`` with ``D`` of shape ``(n_time, K)`` (atoms, each of
L2 norm at most one) and sparse loadings ``A`` of shape ``(K, n_neuron)``. Atom ``k``'s AN
sub-group is the set of neurons with a non-zero loading on it.

Objective
---------
Per neuron column ``x`` with code ``a`` the cost is ``0.5 ||x - D a||_2^2 + alpha ||a||_1``;
the objective is its sum over neurons, minimized under ``||d_k||_2 <= 1``. This is the
formulation of SPAMS ``trainDL`` with ``mode=2`` and ``lambda1 = alpha`` and of
scikit-learn's ``MiniBatchDictionaryLearning`` (with neurons as samples).

Solver (``backend="torch"``)
----------------------------
The time axis is short (hundreds to ~1000 volumes) and the neuron axis huge (up to 1e6), so
everything is done with shared Gram matrices in the K-dimensional code space:

* sparse coding of a block of neurons at once by FISTA (with gradient restart, warm-started
  from the previous codes) on ``G = D^T D`` (K x K) and ``C = D^T X`` (K x n), one matrix
  product per iteration for all neurons of the block;
* dictionary update by block coordinate descent on the sufficient statistics ``A A^T`` and
  ``X A^T`` (Mairal et al., 2010, JMLR 11:19-60, Algorithm 2), with the statistics of each
  neuron block replaced when the block is re-coded (incremental majorization-minimization,
  Mairal 2015, SIAM J. Optim. 25:829-855): the summed block objective is an upper bound of
  the true objective that never increases.

Each epoch visits every neuron block once. Unused atoms are replaced by the
worst-reconstructed neurons.

Alternating minimization is fast at first and then crawls along flat valleys of the
objective, where the atoms and the codes must move together. So with ``refine="lbfgs"``
(the default), once the relative decrease per epoch falls below ``3e-4`` the atoms are
refined by L-BFGS (scipy's L-BFGS-B) on the objective as a function of the atoms alone,
``f(D) = min_A F(D, A)``. Its gradient is ``D A A^T - X A^T`` at the optimal codes
(Danskin's theorem; Mairal et al. 2010, Prop. 1); codes are warm-started FISTA solutions to
relative tolerance ``1e-4``, computed in chunks of 4096 neurons. Atoms are parametrized as
``d_k = v_k / ||v_k||`` (at the optimum every used atom has unit norm). Each evaluation of
``f`` is one pass over the neurons, like an epoch; ``max_iter`` bounds epochs plus
evaluations. Fitting stops when the relative decrease of the objective per epoch (or per
L-BFGS iteration) falls below ``tol``. A final pass codes every neuron on the final atoms to
tight tolerance. On the real SmolLM2 x alice matrix this reaches a lower objective than
SPAMS ``trainDL`` after 200 epochs in less than half of its time
(``benchmarks/decomposition_vs_spams.py``); plain alternating minimization
(``refine="none"``) stalls 0.02-0.12 % above it.

Conventions of the fitted result
--------------------------------
* Atoms are ordered by the variance they explain: atom ``k``'s share is the sum of squares
  of its rank-one term, ``||d_k||^2 ||a_k||^2`` (``a_k`` the k-th row of the loadings),
  largest first (``explained_energy_``).
* Signs are fixed so that each atom's loadings sum to a positive number (atom and loadings
  are flipped together, which leaves the reconstruction unchanged).

Data handling
-------------
Columns (neurons) are first scaled by ``normalize``: ``"unit"`` divides each column by its
L2 norm (no centering), ``"zscore"`` centers it and divides by its standard deviation
(ddof=0), ``"none"`` leaves it. Constant neurons (all time points equal) are excluded from the
fit and get zero loadings; their number is in ``n_constant_``. NaN or infinite values raise
an error naming how many there are and where.

scikit-learn compatibility
--------------------------
:class:`SparseDictionary` passes ``sklearn.utils.estimator_checks.check_estimator`` except
for checks that assume one output row per input row or exchangeable rows, which do not
apply to a (time, neuron) layout whose ``transform`` returns (atom, neuron) loadings:
``check_transformer_general``, ``check_transformer_data_not_an_array``,
``check_transformer_preserve_dtypes`` (output dtype is the ``dtype`` parameter),
``check_fit_idempotent``, ``check_methods_sample_order_invariance``,
``check_methods_subset_invariance``, ``check_n_features_in_after_fitting`` (any number of
neurons can be coded), ``check_fit2d_1sample`` and ``check_fit2d_1feature`` (one time point
or one neuron cannot hold ``n_atoms`` atoms: a documented error). See
``tests/test_decomposition.py``.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError

BACKENDS = ("auto", "torch", "spams", "sklearn")
NORMALIZATIONS = ("zscore", "unit", "none")

# FISTA settings: during training (warm-started, loose) and for the final coding pass.
_TRAIN_CODE_ITER = 30
_TRAIN_CODE_TOL = 1e-3
_FINAL_CODE_ITER = 1000
_FINAL_CODE_TOL = 1e-4
_DICT_SWEEPS = 5
# Hybrid solver: block coordinate descent until its relative decrease per epoch falls
# below _SWITCH_TOL, then L-BFGS on the atoms (codes to _REFINE_CODE_TOL, in chunks).
_SWITCH_TOL = 3e-4
_REFINE_CODE_ITER = 500
_REFINE_CODE_TOL = 1e-4
_REFINE_CHUNK = 4096
_LBFGS_MEMORY = 10
REFINEMENTS = ("lbfgs", "none")


# --------------------------------------------------------------------------------------
# input checks and normalization
# --------------------------------------------------------------------------------------
def as_time_by_neuron(X: Any, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as a 2-D float ndarray of shape ``(n_time, n_neuron)``.

    Parameters
    ----------
    X : array-like or xarray.DataArray, shape (n_time, n_neuron)
        A DataArray must have dims ``time`` and ``neuron`` (any order).
    name : str
        Name used in error messages (e.g. a file name).

    Raises
    ------
    ValueError
        When ``X`` is not 2-D, is empty, or holds NaN/infinite values (the message gives
        how many and the first positions as ``(time index, neuron index)``).
    """
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a hard dependency
        xr = None
    if xr is not None and isinstance(X, xr.DataArray):
        if set(X.dims) != {"time", "neuron"}:
            raise ValueError(f"{name}: expected dims ('time', 'neuron'), got {X.dims}")
        X = X.transpose("time", "neuron").values
    from sklearn.utils.validation import check_array

    try:
        X = check_array(
            X, dtype=(np.float64, np.float32), ensure_all_finite=False, input_name=name
        )
    except TypeError as exc:
        raise TypeError(f"{name}: not a numeric (time, neuron) matrix: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{name}: not a 2-D numeric (time, neuron) matrix: {exc}") from exc
    n_bad = sum(
        int(X.shape[0] * (sl.stop - sl.start) - np.count_nonzero(np.isfinite(X[:, sl])))
        for sl in _column_chunks(X.shape[1])
    )
    if n_bad:
        bad = ~np.isfinite(X)
        n_nan = int(np.isnan(X).sum())
        n_inf = int(bad.sum()) - n_nan
        rows, cols = np.nonzero(bad)
        first = ", ".join(f"({r}, {c})" for r, c in zip(rows[:5], cols[:5], strict=True))
        neurons = np.unique(cols)
        raise ValueError(
            f"{name}: {n_nan} NaN and {n_inf} infinite values in {neurons.size} neuron(s) "
            f"(columns {neurons[:10].tolist()}{'...' if neurons.size > 10 else ''}) and "
            f"{np.unique(rows).size} time point(s); first at (time, neuron) {first}"
        )
    return X


def normalize_columns(
    X: np.ndarray, method: str, dtype: np.dtype | type = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Scale every column (neuron) of ``X`` and flag constant columns.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
        Finite values.
    method : {"zscore", "unit", "none"}
        ``"unit"``: divide by the column's L2 norm; ``"zscore"``: subtract the column mean
        and divide by the standard deviation (ddof=0); ``"none"``: unchanged.
    dtype : numpy dtype
        Output dtype.

    Returns
    -------
    Xn : ndarray, shape (n_time, n_neuron)
        Scaled copy; constant columns are set to zero.
    constant : ndarray of bool, shape (n_neuron,)
        Columns whose values are all equal.
    """
    if method not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {method!r}")
    Xn = np.array(X, dtype=dtype, order="C", copy=True)
    n_neuron = X.shape[1]
    constant = np.zeros(n_neuron, dtype=bool)
    for sl in _column_chunks(n_neuron):  # chunked: float64 temporaries stay small
        block = Xn[:, sl]
        constant[sl] = np.all(X[:, sl] == X[:1, sl], axis=0)
        if method == "zscore":
            block -= block.mean(axis=0, dtype=np.float64).astype(dtype)
            scale = np.sqrt(np.mean(np.square(block, dtype=np.float64), axis=0))
        elif method == "unit":
            scale = np.sqrt(np.sum(np.square(block, dtype=np.float64), axis=0))
        else:
            continue
        scale[constant[sl] | (scale == 0)] = 1.0
        block /= scale.astype(dtype)
    Xn[:, constant] = 0
    return Xn, constant


def _column_chunks(n: int, size: int = 16384) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def column_tss(X: np.ndarray) -> np.ndarray:
    """Total sum of squares about the mean of every column, in float64, by chunks.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)

    Returns
    -------
    ndarray, shape (n_neuron,)
    """
    out = np.empty(X.shape[1])
    for sl in _column_chunks(X.shape[1]):
        block = X[:, sl].astype(np.float64)
        block -= block.mean(axis=0)
        out[sl] = np.einsum("ij,ij->j", block, block)
    return out


# --------------------------------------------------------------------------------------
# torch solver pieces (pure functions on tensors)
# --------------------------------------------------------------------------------------
def lasso_gram_fista(G, C, A0, alpha: float, *, max_iter: int, tol: float):
    """Solve ``min_a 0.5 a^T G a - c^T a + alpha ||a||_1`` for all columns at once.

    FISTA with step ``1 / lambda_max(G)`` and gradient-based adaptive restart
    (O'Donoghue & Candes, 2015), warm-started at ``A0``.

    Parameters
    ----------
    G : torch.Tensor, shape (K, K)
        Gram matrix ``D^T D``.
    C : torch.Tensor, shape (K, n)
        Correlations ``D^T X``.
    A0 : torch.Tensor, shape (K, n)
        Starting codes.
    alpha : float
        L1 penalty.
    max_iter : int
        Maximum number of iterations.
    tol : float
        Stop when ``||A_new - A||_F <= tol * ||A_new||_F``.

    Returns
    -------
    A : torch.Tensor, shape (K, n)
    n_iter : int
    """
    import torch

    K = G.shape[0]
    L = float(torch.linalg.eigvalsh(G.double()).max())
    if L <= 0:
        return torch.zeros_like(A0), 0
    M = torch.eye(K, dtype=G.dtype, device=G.device) - G / L
    Cs = C / L
    thr = alpha / L
    A = A0.clone()
    Y = A
    t = 1.0
    mom = 0.0  # Y - A = mom * diff_prev
    diff_prev = None
    tol2 = float(tol) ** 2
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - it is returned
        A_new = torch.nn.functional.softshrink(torch.addmm(Cs, M, Y), thr)
        diff = A_new - A
        dd = float(torch.vdot(diff.view(-1), diff.view(-1)))
        # restart momentum when it points uphill: (Y - A_new) . (A_new - A) > 0, where
        # (Y - A_new) . diff = mom * (diff_prev . diff) - diff . diff
        yd = mom * float(torch.vdot(diff_prev.view(-1), diff.view(-1))) if mom else 0.0
        if yd - dd > 0:
            t, mom, Y = 1.0, 0.0, A_new
        else:
            t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
            mom = (t - 1.0) / t_new
            Y = torch.add(A_new, diff, alpha=mom) if mom else A_new
            t = t_new
        A, diff_prev = A_new, diff
        if dd <= tol2 * max(float(torch.vdot(A.view(-1), A.view(-1))), 1e-60):
            break
    return A, it


def code_objective(xx, C, A, GA, alpha: float):
    """Per-column squared residuals and the summed objective, from Gram quantities.

    Parameters
    ----------
    xx : torch.Tensor, shape (n,)
        Squared norms of the data columns.
    C, A, GA : torch.Tensor, shape (K, n)
        ``D^T X``, codes and ``G A``.
    alpha : float
        L1 penalty.

    Returns
    -------
    rss : torch.Tensor, shape (n,)
        ``||x - D a||^2`` per column (float64, clipped at 0).
    objective : float
        ``0.5 * sum(rss) + alpha * ||A||_1``.
    """
    import torch

    rss = (
        xx.double()
        - 2.0 * (C * A).sum(0, dtype=torch.float64)
        + (A * GA).sum(0, dtype=torch.float64)
    ).clamp_(min=0)
    l1 = float(A.abs().sum(dtype=torch.float64))
    return rss, 0.5 * float(rss.sum()) + alpha * l1


def update_dictionary(
    D: np.ndarray, S_AA: np.ndarray, S_XA: np.ndarray, n_sweeps: int = _DICT_SWEEPS
) -> tuple[np.ndarray, list[int]]:
    """Block coordinate descent on atoms with sufficient statistics (Mairal et al. 2010).

    Minimizes ``0.5 tr(D^T D S_AA) - tr(D^T S_XA)`` under ``||d_k|| <= 1``.

    Parameters
    ----------
    D : ndarray, shape (n_time, K), float64
        Current atoms (updated in place and returned).
    S_AA : ndarray, shape (K, K), float64
        ``sum A A^T``.
    S_XA : ndarray, shape (n_time, K), float64
        ``sum X A^T``.
    n_sweeps : int
        Passes over the atoms.

    Returns
    -------
    D : ndarray, shape (n_time, K)
    unused : list of int
        Atoms with ``S_AA[k, k] == 0`` (left unchanged).
    """
    K = D.shape[1]
    diag = np.diagonal(S_AA)
    unused = [k for k in range(K) if diag[k] <= 1e-12]
    used = [k for k in range(K) if diag[k] > 1e-12]
    for _ in range(n_sweeps):
        for k in used:
            u = D[:, k] + (S_XA[:, k] - D @ S_AA[:, k]) / diag[k]
            D[:, k] = u / max(1.0, float(np.sqrt(u @ u)))
    return D, unused


def order_and_sign(D: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order atoms by explained energy and fix signs so loadings sum positive.

    Parameters
    ----------
    D : ndarray, shape (n_time, K)
    A : ndarray, shape (K, n_neuron)

    Returns
    -------
    D, A : ndarrays
        Reordered and sign-fixed copies.
    energy : ndarray, shape (K,)
        ``||d_k||^2 ||a_k||^2`` in the new order (descending).
    """
    energy = np.sum(D.astype(np.float64) ** 2, 0) * np.sum(A.astype(np.float64) ** 2, 1)
    order = np.argsort(-energy, kind="stable")
    D = D[:, order].copy()
    A = A[order].copy()
    sums = A.sum(axis=1, dtype=np.float64)
    sign = np.where(sums < 0, -1.0, 1.0).astype(D.dtype)
    return D * sign, A * sign[:, None], energy[order]


@contextlib.contextmanager
def _deterministic_torch() -> Iterator[None]:
    import torch

    old = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old, warn_only=old_warn)


# --------------------------------------------------------------------------------------
# estimator
# --------------------------------------------------------------------------------------
class SparseDictionary(TransformerMixin, BaseEstimator):
    """Sparse dictionary learning of temporal responses ``X (time, neuron) ~ D A``.

    Minimizes ``sum_n 0.5 ||x_n - D a_n||^2 + alpha ||a_n||_1`` under ``||d_k|| <= 1``
    (SPAMS ``trainDL`` mode 2 with ``lambda1 = alpha``). See the module docstring for the
    solver, the atom order (explained energy, descending) and the sign convention (each
    atom's loadings sum to a positive number).

    Parameters
    ----------
    n_atoms : int, default 64
        Number of atoms K. Must not exceed the number of time points or of (non-constant)
        neurons.
    alpha : float, default 0.1
        L1 penalty on the loadings (``lambda1`` of SPAMS).
    normalize : {"unit", "zscore", "none"}, default "unit"
        Column scaling applied before fitting and in :meth:`transform`.
    max_iter : int, default 200
        Maximum number of passes over all neurons (epochs of block coordinate descent plus
        L-BFGS evaluations).
    tol : float, default 1e-4
        Stop when the relative decrease of the epoch objective is below ``tol``.
    seed : int, default 0
        Seed of the initial atoms (random distinct non-constant neurons) and of the
        minibatch order of the reference backends.
    backend : {"auto", "torch", "spams", "sklearn"}, default "auto"
        ``"torch"`` (what ``"auto"`` selects) is this module's solver; ``"spams"``
        (``spams.trainDL``) and ``"sklearn"`` (``MiniBatchDictionaryLearning``) are
        references, run for ``max_iter`` epochs of minibatches of ``batch_size``.
    device : str, default "cpu"
        Torch device of the torch backend (``"cuda"`` for a GPU).
    batch_size : int or None, default None
        Neurons per block (torch) or per minibatch (references). ``None``: torch uses
        blocks of about ``n_neuron / 8`` (at least 4096, at most 16384) neurons; the
        references use 512.
    warm_start : bool, default False
        Start from the fitted atoms of a previous call to :meth:`fit`.
    dtype : {"float32", "float64"}, default "float32"
        Arithmetic precision of the torch backend.
    n_threads : int or None, default None
        Threads for torch/SPAMS. ``None``: torch uses 1 thread for small problems
        (``n_time * n_neuron < 4e6``) and its current setting otherwise; SPAMS uses 2.
    verbose : bool, default True
        Show a progress bar over epochs.
    refine : {"lbfgs", "none"}, default "lbfgs"
        Torch backend: after block coordinate descent slows down (relative decrease per
        epoch below ``3e-4``), refine the atoms by L-BFGS on ``min_A F(D, A)`` (see the
        module docstring); ``"none"``: block coordinate descent only.

    Attributes
    ----------
    atoms_ : ndarray, shape (n_time, n_atoms)
        Atoms, ordered by explained energy, unit norm (or zero if unused).
    loadings_ : ndarray, shape (n_atoms, n_neuron)
        Sparse codes of the training neurons; zero columns for constant neurons.
    objective_ : ndarray, shape (n_epochs + 1,)
        With n_epochs = ``n_iter_``. Torch backend: entry ``i < n_iter_`` is the
        objective after pass ``i + 1``: for an epoch of block coordinate descent, summed
        over neuron blocks (each block coded on the atoms current when it was visited: an
        upper bound of the objective of the atoms of that moment, never increasing); for
        an L-BFGS evaluation, the lowest objective evaluated so far. The last entry is the
        exact objective of ``atoms_`` and ``loadings_``.
        Reference backends: only that last entry is meaningful (earlier ones are NaN).
    n_iter_ : int
        Passes over the neurons: epochs, plus L-BFGS evaluations.
    n_refine_ : int
        Of these, L-BFGS evaluations (0 without refinement).
    n_time_ : int
        Time points of the training data (new data in :meth:`transform` must match).
    n_features_in_ : int
        Columns (neurons) of the training data, in scikit-learn's sense.
    r2_ : ndarray, shape (n_neuron,)
        Reconstruction R^2 of each (normalized) neuron, ``1 - RSS / TSS`` with the TSS
        about the neuron's mean; NaN for constant neurons.
    explained_energy_ : ndarray, shape (n_atoms,)
        ``||d_k||^2 ||a_k||^2`` per atom.
    constant_ : ndarray of bool, shape (n_neuron,)
        Neurons excluded because constant.
    n_constant_ : int
        Their number.
    fit_time_ : float
        Wall time of the last fit in seconds.
    """

    def __init__(
        self,
        n_atoms: int = 64,
        alpha: float = 0.1,
        normalize: str = "unit",
        max_iter: int = 200,
        tol: float = 1e-4,
        seed: int = 0,
        backend: str = "auto",
        device: str = "cpu",
        batch_size: int | None = None,
        warm_start: bool = False,
        dtype: str = "float32",
        n_threads: int | None = None,
        verbose: bool = True,
        refine: str = "lbfgs",
    ) -> None:
        self.n_atoms = n_atoms
        self.alpha = alpha
        self.normalize = normalize
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.backend = backend
        self.device = device
        self.batch_size = batch_size
        self.warm_start = warm_start
        self.dtype = dtype
        self.n_threads = n_threads
        self.verbose = verbose
        self.refine = refine

    # ---------------------------------------------------------------- validation
    def _check_params(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.refine not in REFINEMENTS:
            raise ValueError(f"refine must be one of {REFINEMENTS}, got {self.refine!r}")
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {self.normalize!r}")
        if not (isinstance(self.n_atoms, (int, np.integer)) and self.n_atoms >= 1):
            raise ValueError(f"n_atoms must be a positive integer, got {self.n_atoms!r}")
        if not (np.isscalar(self.alpha) and float(self.alpha) >= 0):
            raise ValueError(f"alpha must be a non-negative number, got {self.alpha!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not float(self.tol) >= 0:
            raise ValueError(f"tol must be non-negative, got {self.tol!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.batch_size is not None and int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be positive or None, got {self.batch_size!r}")

    def _prepare(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_params()
        X = as_time_by_neuron(X)
        n_time, n_neuron = X.shape
        Xn, constant = normalize_columns(X, self.normalize, np.dtype(self.dtype))
        n_active = int((~constant).sum())
        if self.n_atoms > n_time:
            raise ValueError(
                f"n_atoms={self.n_atoms} is larger than the number of time points ({n_time})"
            )
        if self.n_atoms > n_active:
            raise ValueError(
                f"n_atoms={self.n_atoms} is larger than the number of non-constant neurons "
                f"({n_active} of {n_neuron}; {n_neuron - n_active} constant)"
            )
        return Xn, constant

    # ---------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None) -> SparseDictionary:
        """Learn atoms and loadings from ``X``.

        Parameters
        ----------
        X : array-like or xarray.DataArray, shape (n_time, n_neuron)
            Responses; a DataArray needs dims ``time`` and ``neuron``.
        y : ignored

        Returns
        -------
        self
        """
        Xn, constant = self._prepare(X)
        self.n_features_in_ = Xn.shape[1]  # columns seen in fit (neurons), sklearn sense
        self.n_time_ = Xn.shape[0]  # what new data must match in transform
        self.constant_ = constant
        self.n_constant_ = int(constant.sum())
        if self.n_constant_:
            warnings.warn(
                f"SparseDictionary: {self.n_constant_} constant neuron(s) of {Xn.shape[1]} "
                "excluded from the fit (their loadings are zero)",
                UserWarning,
                stacklevel=2,
            )
        # Constant columns are zero in Xn: their codes stay exactly zero and they add
        # nothing to the objective, so the fit runs on Xn without copying a subset.
        self._active = np.flatnonzero(~constant)
        backend = "torch" if self.backend == "auto" else self.backend
        self._n_refine = 0  # L-BFGS evaluations, set by the torch solver
        t0 = time.perf_counter()
        if backend == "torch":
            D, A, trace, n_iter, rss = self._fit_torch(Xn)
        elif backend == "spams":
            D, A, trace, n_iter, rss = self._fit_spams(Xn)
        else:
            D, A, trace, n_iter, rss = self._fit_sklearn(Xn)
        self.fit_time_ = time.perf_counter() - t0
        D, A, energy = order_and_sign(D, A)
        A[:, constant] = 0
        tss = column_tss(Xn)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(~constant & (tss > 0), 1.0 - rss / tss, np.nan)
        del self._active
        self.atoms_ = D
        self.loadings_ = A
        self.objective_ = np.asarray(trace, dtype=np.float64)
        self.n_iter_ = int(n_iter)
        self.n_refine_ = int(self._n_refine)
        del self._n_refine
        self.r2_ = r2
        self.explained_energy_ = energy
        self.backend_ = backend
        return self

    def _initial_atoms(self, X: np.ndarray) -> np.ndarray:
        if self.warm_start and hasattr(self, "atoms_"):
            if self.atoms_.shape != (X.shape[0], self.n_atoms):
                raise ValueError(
                    f"warm_start: fitted atoms have shape {self.atoms_.shape}, data needs "
                    f"({X.shape[0]}, {self.n_atoms})"
                )
            return self.atoms_.astype(np.float64)
        rng = np.random.default_rng(self.seed)
        candidates = getattr(self, "_active", None)
        if candidates is None:
            candidates = np.arange(X.shape[1])
        cols = np.sort(rng.choice(candidates, size=self.n_atoms, replace=False))
        D = X[:, cols].astype(np.float64)
        norms = np.linalg.norm(D, axis=0)
        norms[norms == 0] = 1.0
        return D / norms

    def _blocks(self, n: int) -> list[slice]:
        if self.batch_size is None:
            size = int(min(16384, max(4096, math.ceil(n / 8))))
        else:
            size = int(self.batch_size)
        return [slice(i, min(i + size, n)) for i in range(0, n, size)]

    def _fit_torch(self, X: np.ndarray):
        import torch
        from tqdm.auto import tqdm

        old_threads = torch.get_num_threads()
        torch.set_num_threads(self._threads(X.shape, old_threads))
        try:
            with _deterministic_torch(), torch.no_grad():
                return self._fit_torch_inner(X, torch, tqdm)
        finally:
            torch.set_num_threads(old_threads)

    def _fit_torch_inner(self, X: np.ndarray, torch, tqdm):
        dev = torch.device(self.device)
        tdtype = torch.float32 if self.dtype == "float32" else torch.float64
        alpha = float(self.alpha)
        n_time, n = X.shape
        K = self.n_atoms
        Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.dtype(self.dtype))).to(dev)
        xx = _col_sqnorm(Xt, torch)
        D = self._initial_atoms(X)  # float64 master copy (numpy, small)
        A = torch.zeros((K, n), dtype=tdtype, device=dev)
        blocks = self._blocks(n)
        S_AA_blk: list[np.ndarray | None] = [None] * len(blocks)
        S_XA_blk: list[np.ndarray | None] = [None] * len(blocks)
        obj_blk = np.zeros(len(blocks))
        rss_all = torch.zeros(n, dtype=torch.float64, device=dev)
        S_AA = np.zeros((K, K))
        S_XA = np.zeros((n_time, K))
        trace: list[float] = []
        converged = False
        switch = False
        n_iter = 0
        tol = float(self.tol)
        bar = tqdm(
            total=self.max_iter, desc="SparseDictionary", disable=None if self.verbose else True
        )
        for epoch in range(self.max_iter):
            for j, blk in enumerate(blocks):
                Dc = torch.from_numpy(D).to(device=dev, dtype=tdtype)
                G = Dc.T @ Dc
                Xb = Xt[:, blk]
                C = Dc.T @ Xb
                A_old = A[:, blk]
                A_new, _ = lasso_gram_fista(
                    G, C, A_old, alpha, max_iter=_TRAIN_CODE_ITER, tol=_TRAIN_CODE_TOL
                )
                rss_new, obj_new = code_objective(xx[blk], C, A_new, G @ A_new, alpha)
                if epoch > 0:
                    # keep the previous codes if FISTA's non-monotone path ended higher
                    rss_old, obj_old = code_objective(xx[blk], C, A_old, G @ A_old, alpha)
                    if obj_old < obj_new:
                        A_new, rss_new, obj_new = A_old, rss_old, obj_old
                A[:, blk] = A_new
                rss_all[blk] = rss_new
                obj_blk[j] = obj_new
                saa = (A_new @ A_new.T).double().cpu().numpy()
                sxa = (Xb @ A_new.T).double().cpu().numpy()
                if S_AA_blk[j] is not None:
                    S_AA -= S_AA_blk[j]
                    S_XA -= S_XA_blk[j]
                S_AA += saa
                S_XA += sxa
                S_AA_blk[j], S_XA_blk[j] = saa, sxa
                D, unused = update_dictionary(D, S_AA, S_XA)
                if unused and epoch > 0 and j == len(blocks) - 1:
                    D = self._replace_unused(D, unused, Xt, rss_all, torch)
            n_iter = epoch + 1
            trace.append(float(obj_blk.sum()))
            bar.update(1)
            if self.verbose:
                bar.set_postfix(objective=f"{trace[-1]:.6g}")
            if epoch > 0:
                decrease = (trace[-2] - trace[-1]) / max(abs(trace[-1]), 1e-30)
                if decrease <= tol:
                    converged = True
                    break
                if self.refine == "lbfgs" and decrease <= _SWITCH_TOL:
                    switch = True
                    break
        if switch and n_iter < self.max_iter:
            D, A, refine_trace, converged = refine_atoms_lbfgs(
                Xt,
                xx,
                D,
                A,
                alpha,
                max_eval=self.max_iter - n_iter,
                tol=tol,
                on_eval=lambda obj: (bar.update(1), bar.set_postfix(objective=f"{obj:.6g}")),
            )
            self._n_refine = len(refine_trace)
            n_iter += len(refine_trace)
            trace.extend(refine_trace)
        bar.close()
        if not converged:
            warnings.warn(
                f"SparseDictionary did not converge in max_iter={self.max_iter} epochs "
                f"(tol={self.tol}); consider increasing max_iter",
                ConvergenceWarning,
                stacklevel=3,
            )
        Dc = torch.from_numpy(D).to(device=dev, dtype=tdtype)
        A, rss, obj = _code_all(Xt, xx, Dc, A, alpha, blocks, torch)
        trace.append(obj)
        return (
            D.astype(np.dtype(self.dtype)),
            A.cpu().numpy(),
            trace,
            n_iter,
            rss.cpu().numpy(),
        )

    def _threads(self, shape: tuple[int, int], current: int) -> int:
        """Torch threads: ``n_threads``, else 1 for small problems (thread start-up and
        barriers cost more than they save on small blocks), else torch's setting."""
        if self.n_threads:
            return int(self.n_threads)
        return 1 if shape[0] * shape[1] < 4_000_000 else current

    def _replace_unused(self, D, unused: list[int], Xt, rss_all, torch):
        """Replace unused atoms by the worst-reconstructed neurons (deterministic)."""
        order = torch.argsort(rss_all, descending=True, stable=True)
        for i, k in enumerate(unused):
            col = Xt[:, int(order[i])].double().cpu().numpy()
            norm = float(np.linalg.norm(col))
            if norm > 0:
                D[:, k] = col / norm
        return D

    def _fit_spams(self, X: np.ndarray):
        try:
            import spams
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("backend='spams' needs the spams package (spams-bin)") from exc
        Xf = np.asfortranarray(X, dtype=np.float64)
        batch = int(self.batch_size or 512)
        n = X.shape[1]
        n_steps = int(self.max_iter) * math.ceil(n / batch)
        D0 = np.asfortranarray(self._initial_atoms(X))
        D = spams.trainDL(
            Xf,
            D=D0,
            K=self.n_atoms,
            lambda1=float(self.alpha),
            mode=2,
            iter=n_steps,
            batchsize=batch,
            numThreads=int(self.n_threads or 2),
            verbose=False,
        )
        D = np.asarray(D)
        A, rss, obj = spams_codes(Xf, D, float(self.alpha), int(self.n_threads or 2))
        trace = [np.nan] * int(self.max_iter) + [obj]
        return (
            D.astype(np.dtype(self.dtype)),
            A.astype(np.dtype(self.dtype)),
            trace,
            self.max_iter,
            rss,
        )

    def _fit_sklearn(self, X: np.ndarray):
        from sklearn.decomposition import MiniBatchDictionaryLearning

        model = MiniBatchDictionaryLearning(
            n_components=self.n_atoms,
            alpha=float(self.alpha),
            max_iter=int(self.max_iter),
            tol=0.0,
            max_no_improvement=None,
            batch_size=int(self.batch_size or 512),
            fit_algorithm="cd",
            transform_algorithm="lasso_cd",
            transform_alpha=float(self.alpha),
            dict_init=self._initial_atoms(X).T,
            random_state=self.seed,
        )
        Xs = X.T.astype(np.float64)
        model.fit(Xs)
        D = model.components_.T
        A, rss, obj = reference_codes(Xs.T, D, float(self.alpha))
        trace = [np.nan] * int(model.n_iter_) + [obj]
        return (
            D.astype(np.dtype(self.dtype)),
            A.astype(np.dtype(self.dtype)),
            trace,
            int(model.n_iter_),
            rss,
        )

    # ---------------------------------------------------------------- transform
    def transform(self, X: Any) -> np.ndarray:
        """Code new neurons on the fitted atoms.

        The columns are normalized as in :meth:`fit`, then each is coded by the lasso
        ``min_a 0.5 ||x - D a||^2 + alpha ||a||_1`` (FISTA to tight tolerance).

        Parameters
        ----------
        X : array-like or xarray.DataArray, shape (n_time, n_neuron)
            ``n_time`` must match the training data.

        Returns
        -------
        loadings : ndarray, shape (n_atoms, n_neuron)
            Zero columns for constant neurons.
        """
        if not hasattr(self, "atoms_"):
            raise NotFittedError("SparseDictionary is not fitted yet; call fit first")
        self._check_params()
        X = as_time_by_neuron(X)
        if X.shape[0] != self.atoms_.shape[0]:
            raise ValueError(
                f"X has {X.shape[0]} time points; the atoms were fitted on {self.atoms_.shape[0]}"
            )
        Xn, _ = normalize_columns(X, self.normalize, np.dtype(self.dtype))
        import torch

        old_threads = torch.get_num_threads()
        torch.set_num_threads(self._threads(Xn.shape, old_threads))
        try:
            with _deterministic_torch(), torch.no_grad():
                dev = torch.device(self.device)
                Xt = torch.from_numpy(Xn).to(dev)
                xx = _col_sqnorm(Xt, torch)
                D = torch.from_numpy(self.atoms_).to(dev)
                A0 = torch.zeros((self.n_atoms, Xn.shape[1]), dtype=D.dtype, device=dev)
                blocks = self._blocks(Xn.shape[1])
                A, _, _ = _code_all(Xt, xx, D, A0, float(self.alpha), blocks, torch)
        finally:
            torch.set_num_threads(old_threads)
        return A.cpu().numpy()

    def objective(self, X: Any) -> float:
        """Objective of the fitted atoms on ``X`` (normalized as in fit, coded by transform).

        Returns
        -------
        float
            ``sum_n 0.5 ||x_n - D a_n||^2 + alpha ||a_n||_1``.
        """
        A = self.transform(X)
        Xn, _ = normalize_columns(as_time_by_neuron(X), self.normalize, np.float64)
        return objective_value(Xn, self.atoms_, A, float(self.alpha))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        return tags


def _col_sqnorm(Xt, torch, chunk: int = 8192):
    n = Xt.shape[1]
    out = torch.empty(n, dtype=torch.float64, device=Xt.device)
    for i in range(0, n, chunk):
        out[i : i + chunk] = (Xt[:, i : i + chunk].double() ** 2).sum(0)
    return out


def _code_all(Xt, xx, Dc, A, alpha: float, blocks: list[slice], torch):
    """Final coding pass: codes of every block on fixed atoms to tight tolerance."""
    G = Dc.T @ Dc
    rss = torch.zeros(Xt.shape[1], dtype=torch.float64, device=Xt.device)
    total = 0.0
    A = A.clone()
    for blk in blocks:
        C = Dc.T @ Xt[:, blk]
        Ab, _ = lasso_gram_fista(
            G, C, A[:, blk], alpha, max_iter=_FINAL_CODE_ITER, tol=_FINAL_CODE_TOL
        )
        r, obj = code_objective(xx[blk], C, Ab, G @ Ab, alpha)
        A[:, blk] = Ab
        rss[blk] = r
        total += obj
    return A, rss, total


class _BudgetExhausted(Exception):
    """Raised inside the L-BFGS objective when the pass budget is used up."""


def envelope_objective(Xt, xx, D: np.ndarray, A, alpha: float, *, chunk: int = _REFINE_CHUNK):
    """Objective as a function of the atoms alone, ``f(D) = min_A F(D, A)``, and its gradient.

    Codes are warm-started FISTA solutions (relative tolerance ``1e-4``) computed chunk by
    chunk; the gradient is ``D S_AA - S_XA`` with ``S_AA = A A^T`` and ``S_XA = X A^T`` at
    these codes (Danskin's theorem).

    Parameters
    ----------
    Xt : torch.Tensor, shape (n_time, n_neuron)
    xx : torch.Tensor, shape (n_neuron,)
        Squared column norms of ``Xt``.
    D : ndarray, shape (n_time, K), float64
    A : torch.Tensor, shape (K, n_neuron)
        Warm-start codes, overwritten with the new codes.
    alpha : float
    chunk : int
        Neurons coded at once.

    Returns
    -------
    objective : float
    grad : ndarray, shape (n_time, K), float64
    """
    import torch

    K = D.shape[1]
    Dc = torch.from_numpy(D).to(device=Xt.device, dtype=Xt.dtype)
    G = Dc.T @ Dc
    S_AA = np.zeros((K, K))
    S_XA = np.zeros((D.shape[0], K))
    total = 0.0
    for i in range(0, Xt.shape[1], chunk):
        sl = slice(i, min(i + chunk, Xt.shape[1]))
        Xb = Xt[:, sl]
        C = Dc.T @ Xb
        Ab, _ = lasso_gram_fista(
            G, C, A[:, sl], alpha, max_iter=_REFINE_CODE_ITER, tol=_REFINE_CODE_TOL
        )
        A[:, sl] = Ab
        total += code_objective(xx[sl], C, Ab, G @ Ab, alpha)[1]
        S_AA += (Ab @ Ab.T).double().cpu().numpy()
        S_XA += (Xb @ Ab.T).double().cpu().numpy()
    return total, D @ S_AA - S_XA


def refine_atoms_lbfgs(
    Xt, xx, D: np.ndarray, A, alpha: float, *, max_eval: int, tol: float, on_eval=None
):
    """Refine atoms by L-BFGS on ``f(D) = min_A F(D, A)`` (see the module docstring).

    Atoms are parametrized as ``d_k = v_k / ||v_k||``; scipy's L-BFGS-B minimizes over ``V``
    with ``ftol=tol`` (relative decrease per iteration). Each evaluation codes all neurons.

    Parameters
    ----------
    Xt : torch.Tensor, shape (n_time, n_neuron)
    xx : torch.Tensor, shape (n_neuron,)
    D : ndarray, shape (n_time, K), float64
        Starting atoms.
    A : torch.Tensor, shape (K, n_neuron)
        Starting codes (warm start), updated in place.
    alpha : float
    max_eval : int
        Maximum number of evaluations of ``f``.
    tol : float
        Relative decrease per iteration below which the refinement has converged.
    on_eval : callable or None
        Called with the objective after each evaluation (progress).

    Returns
    -------
    D : ndarray, shape (n_time, K)
        The atoms of lowest objective evaluated.
    A : torch.Tensor, shape (K, n_neuron)
        Codes of the last evaluation (a warm start for the final coding).
    trace : list of float
        Lowest objective so far, after each evaluation.
    converged : bool
        False when ``max_eval`` evaluations were used up first.
    """
    from scipy.optimize import minimize

    shape = D.shape
    norms = np.linalg.norm(D, axis=0)
    V0 = D / np.where(norms > 0, norms, 1.0)
    best = {"obj": np.inf, "D": D.copy()}
    trace: list[float] = []

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        if len(trace) >= max_eval:
            raise _BudgetExhausted
        V = v.reshape(shape)
        nv = np.linalg.norm(V, axis=0)
        nv = np.where(nv > 0, nv, 1.0)
        Dv = V / nv
        obj, g = envelope_objective(Xt, xx, Dv, A, alpha)
        if obj < best["obj"]:
            best["obj"], best["D"] = obj, Dv
        trace.append(best["obj"])
        if on_eval is not None:
            on_eval(best["obj"])
        # chain rule through d = v / ||v||: project out the radial part
        gV = (g - Dv * np.sum(Dv * g, axis=0)) / nv
        return obj, gV.ravel()

    converged = True
    try:
        res = minimize(
            fun,
            V0.ravel(),
            jac=True,
            method="L-BFGS-B",
            options={
                "maxcor": _LBFGS_MEMORY,
                "ftol": float(tol),
                "gtol": 0.0,
                "maxiter": 10 * max_eval,
                "maxfun": 10 * max_eval,
            },
        )
        # status 0: converged (ftol); 2: the line search cannot decrease f further at the
        # precision of the codes, also a stop at convergence
        converged = res.status != 1
    except _BudgetExhausted:
        converged = False
    return best["D"], A, trace, converged


def objective_value(X: np.ndarray, D: np.ndarray, A: np.ndarray, alpha: float) -> float:
    """``sum_n 0.5 ||x_n - D a_n||^2 + alpha ||a_n||_1`` in float64.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
    D : ndarray, shape (n_time, K)
    A : ndarray or scipy sparse matrix, shape (K, n_neuron)
    alpha : float
    """
    A = A.toarray() if hasattr(A, "toarray") else np.asarray(A)
    R = np.asarray(X, dtype=np.float64) - np.asarray(D, dtype=np.float64) @ A.astype(np.float64)
    return float(0.5 * np.sum(R * R) + alpha * np.abs(A).sum(dtype=np.float64))


def spams_codes(
    X: np.ndarray, D: np.ndarray, alpha: float, n_threads: int = 2
) -> tuple[np.ndarray, np.ndarray, float]:
    """Exact lasso codes by SPAMS (LARS, ``mode=2``) and the objective.

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


def decomposition_dataset(
    model: SparseDictionary, da: Any, params: dict, input_sha256: str
) -> Any:
    """Labeled Dataset of a fitted :class:`SparseDictionary`.

    Parameters
    ----------
    model : SparseDictionary
        Fitted on ``da``.
    da : DataArray (time, neuron)
        The responses it was fitted on; every ``time`` and ``neuron`` coordinate is kept.
    params : dict
        The estimator's parameters (stored as JSON in the provenance attributes).
    input_sha256 : str
        Digest of the input responses (file or array).

    Returns
    -------
    Dataset
        ``atoms`` (time, atom), ``loadings`` (atom, neuron), ``r2`` (neuron),
        ``subgroup_size`` (atom), ``explained_energy`` (atom) and ``objective``
        (iteration), with CF and provenance attributes.
    """
    import xarray as xr

    from .io import provenance

    K = model.atoms_.shape[1]
    neuron_coords = {
        name: coord.variable for name, coord in da.coords.items() if coord.dims == ("neuron",)
    }
    time_coords = {
        name: coord.variable for name, coord in da.coords.items() if coord.dims == ("time",)
    }
    atom = np.arange(K)
    n_trace = model.objective_.size
    ds = xr.Dataset(
        {
            "atoms": (
                ("time", "atom"),
                model.atoms_,
                {"long_name": "temporal atom (unit L2 norm)", "units": "1"},
            ),
            "loadings": (
                ("atom", "neuron"),
                model.loadings_,
                {
                    "long_name": "sparse loading of neuron on atom",
                    "units": f"normalized response ({params['normalize']})",
                },
            ),
            "r2": (
                ("neuron",),
                model.r2_,
                {"long_name": "reconstruction R^2 of the normalized neuron", "units": "1"},
            ),
            "subgroup_size": (
                ("atom",),
                np.count_nonzero(model.loadings_, axis=1),
                {"long_name": "number of neurons with a non-zero loading", "units": "1"},
            ),
            "explained_energy": (
                ("atom",),
                model.explained_energy_,
                {"long_name": "sum of squares of the atom's rank-one term", "units": "1"},
            ),
            "objective": (
                ("iteration",),
                model.objective_,
                {
                    "long_name": "objective 0.5 ||X - D A||^2 + alpha ||A||_1 (trace per pass:"
                    " epochs, then L-BFGS evaluations; last entry exact final)",
                    "units": "1",
                },
            ),
        },
        coords={
            **time_coords,
            **neuron_coords,
            "atom": ("atom", atom),
            "iteration": ("iteration", np.arange(1, n_trace + 1)),
        },
    )
    ds.attrs.update(
        provenance(params, responses=input_sha256),
        n_constant_neurons=int(model.n_constant_),
        n_iter=int(model.n_iter_),
        n_refine=int(getattr(model, "n_refine_", 0)),
        backend=model.backend_,
        fit_time_s=float(model.fit_time_),
        atom_order="descending explained energy ||d_k||^2 ||a_k||^2",
        sign_convention="each atom's loadings sum to a positive number",
        title="sparse dictionary of AN temporal responses",
    )
    return ds

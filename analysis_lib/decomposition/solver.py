"""The torch solver of sparse dictionary learning: pure functions on arrays and tensors.

Problem: ``X (n_time, n_neuron) ~ D A`` minimizing ``sum_n 0.5 ||x_n - D a_n||^2 + alpha
||a_n||_1`` under ``||d_k||_2 <= 1`` (SPAMS ``trainDL`` mode 2; see
:mod:`analysis_lib.decomposition`).

The time axis is short (hundreds to ~1000 volumes) and the neuron axis huge (up to 1e6), so
everything is done with shared Gram matrices in the K-dimensional code space:

* sparse coding of a block of neurons at once by FISTA (:func:`lasso_gram_fista`, with
  gradient restart, warm-started from the previous codes) on ``G = D^T D`` (K x K) and
  ``C = D^T X`` (K x n), one matrix product per iteration for all neurons of the block;
* dictionary update by block coordinate descent (:func:`update_dictionary`) on the
  sufficient statistics ``A A^T`` and ``X A^T`` (Mairal et al., 2010, JMLR 11:19-60,
  Algorithm 2), with the statistics of each neuron block replaced when the block is re-coded
  (incremental majorization-minimization, Mairal 2015, SIAM J. Optim. 25:829-855): the
  summed block objective is an upper bound of the true objective that never increases.

Each epoch visits every neuron block once. Unused atoms are replaced by the
worst-reconstructed neurons (:func:`replace_unused`).

Alternating minimization is fast at first and then crawls along flat valleys of the
objective, where the atoms and the codes must move together. So with ``refine="lbfgs"``,
once the relative decrease per epoch falls below ``SWITCH_TOL`` the atoms are refined by
L-BFGS (:func:`refine_atoms_lbfgs`, scipy's L-BFGS-B) on the objective as a function of the
atoms alone, ``f(D) = min_A F(D, A)`` (:func:`envelope_objective`). Its gradient is
``D A A^T - X A^T`` at the optimal codes (Danskin's theorem; Mairal et al. 2010, Prop. 1);
codes are warm-started FISTA solutions to relative tolerance ``1e-4``, computed in chunks of
4096 neurons. Atoms are parametrized as ``d_k = v_k / ||v_k||`` (at the optimum every used
atom has unit norm). Each evaluation of ``f`` is one pass over the neurons, like an epoch;
``max_iter`` bounds epochs plus evaluations. Fitting stops when the relative decrease of the
objective per epoch (or per L-BFGS iteration) falls below ``tol``. A final pass
(:func:`code_all`) codes every neuron on the final atoms to tight tolerance.

:func:`fit_torch` runs the whole solver and returns arrays (:class:`SolverResult`); the
estimator :class:`~analysis_lib.decomposition.SparseDictionary` validates, dispatches and
stores the fitted attributes. How the solver compares with SPAMS and scikit-learn on the real
SmolLM2 x alice matrix (objective and time) is measured by
``benchmarks/decomposition_vs_spams.py`` (result: ``benchmarks/results/
decomposition_vs_spams.json``); its memory and time against the number of neurons by
``benchmarks/decomposition_scale.py``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

REFINEMENTS = ("lbfgs", "none")

# FISTA settings: during training (warm-started, loose) and for the final coding pass.
_TRAIN_CODE_ITER = 30
_TRAIN_CODE_TOL = 1e-3
_FINAL_CODE_ITER = 1000
_FINAL_CODE_TOL = 1e-4
_DICT_SWEEPS = 5
# Hybrid solver: block coordinate descent until its relative decrease per epoch falls
# below SWITCH_TOL, then L-BFGS on the atoms (codes to _REFINE_CODE_TOL, in chunks).
SWITCH_TOL = 3e-4
_SWITCH_TOL = SWITCH_TOL
_REFINE_CODE_ITER = 500
_REFINE_CODE_TOL = 1e-4
_REFINE_CHUNK = 4096
_LBFGS_MEMORY = 10


class SolverResult(NamedTuple):
    """What a solver returns (arrays only; the estimator turns them into attributes).

    Attributes
    ----------
    atoms : ndarray, shape (n_time, K)
        Atoms in the solver's order and signs (not yet sorted by explained energy).
    loadings : ndarray, shape (K, n_neuron)
        Codes of every neuron on ``atoms``.
    objective : ndarray, shape (n_iter + 1,)
        Objective trace per pass; the last entry is the exact objective of the result.
    n_iter : int
        Passes over the neurons (epochs plus L-BFGS evaluations).
    n_refine : int
        Of these, L-BFGS evaluations.
    rss : ndarray, shape (n_neuron,)
        ``||x_n - D a_n||^2`` per neuron (float64).
    converged : bool
        False when ``max_iter`` passes ended the fit before ``tol`` was reached.
    """

    atoms: np.ndarray
    loadings: np.ndarray
    objective: np.ndarray
    n_iter: int
    n_refine: int
    rss: np.ndarray
    converged: bool


# --------------------------------------------------------------------------------------
# set-up: initial atoms, neuron blocks, threads
# --------------------------------------------------------------------------------------
def initial_atoms(
    X: np.ndarray, n_atoms: int, seed: int, candidates: np.ndarray | None = None
) -> np.ndarray:
    """Random distinct columns of ``X``, scaled to unit norm: the starting atoms.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
    n_atoms : int
        Number of atoms K.
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    candidates : ndarray of int, shape (n_candidates,), optional
        Columns to draw from (default: all; the estimator passes the non-constant ones).

    Returns
    -------
    ndarray, shape (n_time, n_atoms), float64
        The drawn columns (in increasing column order), each of unit L2 norm (zero columns
        stay zero).
    """
    rng = np.random.default_rng(seed)
    if candidates is None:
        candidates = np.arange(X.shape[1])
    cols = np.sort(rng.choice(candidates, size=n_atoms, replace=False))
    D = X[:, cols].astype(np.float64)
    norms = np.linalg.norm(D, axis=0)
    norms[norms == 0] = 1.0
    return D / norms


def neuron_blocks(n: int, batch_size: int | None = None) -> list[slice]:
    """Consecutive blocks of neurons visited one after the other in an epoch.

    Parameters
    ----------
    n : int
        Number of neurons.
    batch_size : int or None
        Neurons per block; ``None``: about ``n / 8`` (at least 4096, at most 16384).

    Returns
    -------
    list of slice
        Covering ``0..n`` in order.
    """
    if batch_size is None:
        size = int(min(16384, max(4096, math.ceil(n / 8))))
    else:
        size = int(batch_size)
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def torch_threads(n_threads: int | None, shape: tuple[int, int], current: int) -> int:
    """Torch threads for a problem of ``shape``.

    Parameters
    ----------
    n_threads : int or None
        Explicit choice (returned when given).
    shape : tuple of int, (n_time, n_neuron)
    current : int
        Torch's current setting.

    Returns
    -------
    int
        ``n_threads``, else 1 for small problems (``n_time * n_neuron < 4e6``: thread
        start-up and barriers cost more than they save on small blocks), else ``current``.
    """
    if n_threads:
        return int(n_threads)
    return 1 if shape[0] * shape[1] < 4_000_000 else current


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
def deterministic_torch() -> Iterator[None]:
    """Context in which torch uses deterministic algorithms (warn-only), then restores.

    Yields
    ------
    None
    """
    import torch

    old = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old, warn_only=old_warn)


def column_sqnorm(Xt, chunk: int = 8192):
    """Squared L2 norm of every column, in float64, by chunks.

    Parameters
    ----------
    Xt : torch.Tensor, shape (n_time, n_neuron)
    chunk : int
        Columns summed at once.

    Returns
    -------
    torch.Tensor, shape (n_neuron,), float64
    """
    import torch

    n = Xt.shape[1]
    out = torch.empty(n, dtype=torch.float64, device=Xt.device)
    for i in range(0, n, chunk):
        out[i : i + chunk] = (Xt[:, i : i + chunk].double() ** 2).sum(0)
    return out


def code_all(Xt, xx, Dc, A, alpha: float, blocks: list[slice]):
    """Final coding pass: codes of every block on fixed atoms to tight tolerance.

    Parameters
    ----------
    Xt : torch.Tensor, shape (n_time, n_neuron)
    xx : torch.Tensor, shape (n_neuron,)
        Squared column norms of ``Xt``.
    Dc : torch.Tensor, shape (n_time, K)
        Atoms, in the dtype and on the device of ``Xt``.
    A : torch.Tensor, shape (K, n_neuron)
        Warm-start codes (not modified).
    alpha : float
        L1 penalty.
    blocks : list of slice
        Neuron blocks coded at once.

    Returns
    -------
    A : torch.Tensor, shape (K, n_neuron)
    rss : torch.Tensor, shape (n_neuron,), float64
    objective : float
    """
    import torch

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


def replace_unused(D: np.ndarray, unused: list[int], Xt, rss_all) -> np.ndarray:
    """Replace unused atoms by the worst-reconstructed neurons (deterministic).

    Parameters
    ----------
    D : ndarray, shape (n_time, K), float64
        Atoms (updated in place and returned).
    unused : list of int
        Atoms to replace.
    Xt : torch.Tensor, shape (n_time, n_neuron)
    rss_all : torch.Tensor, shape (n_neuron,)
        Squared residual of every neuron; the largest are used first.

    Returns
    -------
    ndarray, shape (n_time, K)
    """
    import torch

    order = torch.argsort(rss_all, descending=True, stable=True)
    for i, k in enumerate(unused):
        col = Xt[:, int(order[i])].double().cpu().numpy()
        norm = float(np.linalg.norm(col))
        if norm > 0:
            D[:, k] = col / norm
    return D


# --------------------------------------------------------------------------------------
# the whole solver
# --------------------------------------------------------------------------------------
def fit_torch(
    X: np.ndarray,
    D0: np.ndarray,
    *,
    alpha: float,
    blocks: list[slice],
    max_iter: int,
    tol: float,
    refine: str = "lbfgs",
    device: str = "cpu",
    dtype: str = "float32",
    n_threads: int | None = None,
    verbose: bool = False,
) -> SolverResult:
    """Sparse dictionary learning by block coordinate descent, then L-BFGS on the atoms.

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
        Normalized responses (constant columns set to zero: their codes stay zero).
    D0 : ndarray, shape (n_time, K)
        Starting atoms (not modified).
    alpha : float
        L1 penalty.
    blocks : list of slice
        Neuron blocks (:func:`neuron_blocks`).
    max_iter : int
        Maximum passes over the neurons (epochs plus L-BFGS evaluations).
    tol : float
        Relative decrease of the objective per epoch (or L-BFGS iteration) at convergence.
    refine : {"lbfgs", "none"}
        Refine the atoms by L-BFGS once block coordinate descent slows down below
        ``SWITCH_TOL``; ``"none"``: block coordinate descent only.
    device : str
        Torch device.
    dtype : {"float32", "float64"}
        Arithmetic precision.
    n_threads : int or None
        Torch threads (:func:`torch_threads`); restored afterwards.
    verbose : bool
        Progress bar over passes (in a terminal only).

    Returns
    -------
    SolverResult
        Atoms (n_time, K) and loadings (K, n_neuron) in ``dtype``, the objective trace,
        pass counts, per-neuron RSS and whether ``tol`` was reached.
    """
    import torch

    old_threads = torch.get_num_threads()
    torch.set_num_threads(torch_threads(n_threads, X.shape, old_threads))
    try:
        with deterministic_torch(), torch.no_grad():
            return _fit_torch(X, D0, alpha, blocks, max_iter, tol, refine, device, dtype, verbose)
    finally:
        torch.set_num_threads(old_threads)


def _fit_torch(
    X: np.ndarray,
    D0: np.ndarray,
    alpha: float,
    blocks: list[slice],
    max_iter: int,
    tol: float,
    refine: str,
    device: str,
    dtype: str,
    verbose: bool,
) -> SolverResult:
    import torch
    from tqdm.auto import tqdm

    dev = torch.device(device)
    tdtype = torch.float32 if dtype == "float32" else torch.float64
    alpha = float(alpha)
    n_time, n = X.shape
    D = np.array(D0, dtype=np.float64)  # float64 master copy (numpy, small)
    K = D.shape[1]
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.dtype(dtype))).to(dev)
    xx = column_sqnorm(Xt)
    A = torch.zeros((K, n), dtype=tdtype, device=dev)
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
    n_refine = 0
    tol = float(tol)
    bar = tqdm(total=max_iter, desc="SparseDictionary", disable=None if verbose else True)
    for epoch in range(max_iter):
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
                D = replace_unused(D, unused, Xt, rss_all)
        n_iter = epoch + 1
        trace.append(float(obj_blk.sum()))
        bar.update(1)
        bar.set_postfix(objective=f"{trace[-1]:.6g}")
        if epoch > 0:
            decrease = (trace[-2] - trace[-1]) / max(abs(trace[-1]), 1e-30)
            if decrease <= tol:
                converged = True
                break
            if refine == "lbfgs" and decrease <= SWITCH_TOL:
                switch = True
                break
    if switch and n_iter < max_iter:
        D, A, refine_trace, converged = refine_atoms_lbfgs(
            Xt,
            xx,
            D,
            A,
            alpha,
            max_eval=max_iter - n_iter,
            tol=tol,
            on_eval=lambda obj: (bar.update(1), bar.set_postfix(objective=f"{obj:.6g}")),
        )
        n_refine = len(refine_trace)
        n_iter += n_refine
        trace.extend(refine_trace)
    bar.close()
    Dc = torch.from_numpy(D).to(device=dev, dtype=tdtype)
    A, rss, obj = code_all(Xt, xx, Dc, A, alpha, blocks)
    trace.append(obj)
    return SolverResult(
        atoms=D.astype(np.dtype(dtype)),
        loadings=A.cpu().numpy(),
        objective=np.asarray(trace, dtype=np.float64),
        n_iter=n_iter,
        n_refine=n_refine,
        rss=rss.cpu().numpy(),
        converged=converged,
    )


def encode(
    X: np.ndarray,
    D: np.ndarray,
    alpha: float,
    *,
    blocks: list[slice],
    device: str = "cpu",
    n_threads: int | None = None,
) -> np.ndarray:
    """Lasso codes of every column of ``X`` on fixed atoms (FISTA to tight tolerance).

    Parameters
    ----------
    X : ndarray, shape (n_time, n_neuron)
        Normalized responses.
    D : ndarray, shape (n_time, K)
        Atoms; their dtype is the arithmetic precision.
    alpha : float
        L1 penalty.
    blocks : list of slice
        Neuron blocks coded at once.
    device : str
        Torch device.
    n_threads : int or None
        Torch threads (:func:`torch_threads`); restored afterwards.

    Returns
    -------
    ndarray, shape (K, n_neuron)
        Codes, in the dtype of ``D``.
    """
    import torch

    old_threads = torch.get_num_threads()
    torch.set_num_threads(torch_threads(n_threads, X.shape, old_threads))
    try:
        with deterministic_torch(), torch.no_grad():
            dev = torch.device(device)
            Xt = torch.from_numpy(X).to(dev)
            xx = column_sqnorm(Xt)
            Dt = torch.from_numpy(D).to(dev)
            A0 = torch.zeros((D.shape[1], X.shape[1]), dtype=Dt.dtype, device=dev)
            A, _, _ = code_all(Xt, xx, Dt, A0, float(alpha), blocks)
    finally:
        torch.set_num_threads(old_threads)
    return A.cpu().numpy()

"""The scikit-learn estimator :class:`SparseDictionary`: validation, dispatch, attributes.

It checks its parameters and the data, scales the columns
(:mod:`~analysis_lib.decomposition.inputs`), runs the chosen solver
(:func:`~analysis_lib.decomposition.solver.fit_torch` or a reference of
:mod:`~analysis_lib.decomposition.references`), orders and signs the atoms and stores the
fitted attributes. Nothing else is set on the estimator during :meth:`SparseDictionary.fit`.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from .inputs import NORMALIZATIONS, as_time_by_neuron, column_tss, normalize_columns
from .references import fit_sklearn, fit_spams, objective_value
from .solver import (
    REFINEMENTS,
    encode,
    fit_torch,
    initial_atoms,
    neuron_blocks,
    order_and_sign,
)

SOLVERS = ("auto", "torch", "spams", "sklearn")
BACKENDS = SOLVERS  # former name, kept for imports
_DEPRECATED = "deprecated"


class SparseDictionary(TransformerMixin, BaseEstimator):
    """Sparse dictionary learning of temporal responses ``X (time, neuron) ~ D A``.

    Minimizes ``sum_n 0.5 ||x_n - D a_n||^2 + alpha ||a_n||_1`` under ``||d_k|| <= 1``
    (SPAMS ``trainDL`` mode 2 with ``lambda1 = alpha``). See
    :mod:`analysis_lib.decomposition` for the atom order (explained energy, descending) and
    the sign convention (each atom's loadings sum to a positive number), and
    :mod:`analysis_lib.decomposition.solver` for the solver.

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
        minibatch order of the reference solvers.
    solver : {"auto", "torch", "spams", "sklearn"}, default "auto"
        The algorithm. ``"torch"`` (what ``"auto"`` selects) is
        :func:`~analysis_lib.decomposition.solver.fit_torch`; ``"spams"``
        (``spams.trainDL``) and ``"sklearn"`` (``MiniBatchDictionaryLearning``) are the
        references of :mod:`analysis_lib.decomposition.references`, run for ``max_iter``
        epochs of minibatches of ``batch_size``.
    device : str, default "cpu"
        Torch device of the torch solver (``"cuda"`` for a GPU).
    batch_size : int or None, default None
        Neurons per block (torch) or per minibatch (references). ``None``: torch uses
        blocks of about ``n_neuron / 8`` (at least 4096, at most 16384) neurons; the
        references use 512.
    warm_start : bool, default False
        Start from the fitted atoms of a previous call to :meth:`fit`.
    dtype : {"float32", "float64"}, default "float32"
        Arithmetic precision of the torch solver.
    n_threads : int or None, default None
        Threads for torch/SPAMS. ``None``: torch uses 1 thread for small problems
        (``n_time * n_neuron < 4e6``) and its current setting otherwise; SPAMS uses 2.
    verbose : bool, default True
        Show a progress bar over epochs.
    refine : {"lbfgs", "none"}, default "lbfgs"
        Torch solver: after block coordinate descent slows down (relative decrease per
        epoch below ``3e-4``), refine the atoms by L-BFGS on ``min_A F(D, A)`` (see the
        solver module); ``"none"``: block coordinate descent only.
    backend : str, optional
        Deprecated alias of ``solver``, its former name ("backend" names an array library
        elsewhere in the package). A value other than ``"deprecated"`` is used as
        ``solver``, with a :class:`FutureWarning`; it will be removed in a future release.

    Attributes
    ----------
    atoms_ : ndarray, shape (n_time, n_atoms)
        Atoms, ordered by explained energy, unit norm (or zero if unused).
    loadings_ : ndarray, shape (n_atoms, n_neuron)
        Sparse codes of the training neurons; zero columns for constant neurons.
    objective_ : ndarray, shape (n_epochs + 1,)
        With n_epochs = ``n_iter_``. Torch solver: entry ``i < n_iter_`` is the
        objective after pass ``i + 1``: for an epoch of block coordinate descent, summed
        over neuron blocks (each block coded on the atoms current when it was visited: an
        upper bound of the objective of the atoms of that moment, never increasing); for
        an L-BFGS evaluation, the lowest objective evaluated so far. The last entry is the
        exact objective of ``atoms_`` and ``loadings_``.
        Reference solvers: only that last entry is meaningful (earlier ones are NaN).
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
    solver_ : str
        The solver that ran (``"auto"`` resolved).
    """

    def __init__(
        self,
        n_atoms: int = 64,
        alpha: float = 0.1,
        normalize: str = "unit",
        max_iter: int = 200,
        tol: float = 1e-4,
        seed: int = 0,
        solver: str = "auto",
        device: str = "cpu",
        batch_size: int | None = None,
        warm_start: bool = False,
        dtype: str = "float32",
        n_threads: int | None = None,
        verbose: bool = True,
        refine: str = "lbfgs",
        backend: str = _DEPRECATED,
    ) -> None:
        self.n_atoms = n_atoms
        self.alpha = alpha
        self.normalize = normalize
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.solver = solver
        self.device = device
        self.batch_size = batch_size
        self.warm_start = warm_start
        self.dtype = dtype
        self.n_threads = n_threads
        self.verbose = verbose
        self.refine = refine
        self.backend = backend

    # ---------------------------------------------------------------- validation
    def _solver(self) -> str:
        """The solver to run (``backend`` honoured with a FutureWarning; ``auto`` resolved)."""
        solver = self.solver
        if self.backend != _DEPRECATED:
            warnings.warn(
                "SparseDictionary: the parameter 'backend' was renamed 'solver' and will be "
                f"removed; use solver={self.backend!r}",
                FutureWarning,
                stacklevel=3,
            )
            if solver not in ("auto", self.backend):
                raise ValueError(
                    f"solver={solver!r} and its deprecated alias backend={self.backend!r} "
                    "disagree; give only solver"
                )
            solver = self.backend
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        return "torch" if solver == "auto" else solver

    def _check_params(self) -> None:
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
        self : SparseDictionary
            Fitted.
        """
        solver = self._solver()
        Xn, constant = self._prepare(X)
        n_constant = int(constant.sum())
        if n_constant:
            warnings.warn(
                f"SparseDictionary: {n_constant} constant neuron(s) of {Xn.shape[1]} "
                "excluded from the fit (their loadings are zero)",
                UserWarning,
                stacklevel=2,
            )
        # Constant columns are zero in Xn: their codes stay exactly zero and they add
        # nothing to the objective, so the fit runs on Xn without copying a subset.
        D0 = self._initial_atoms(Xn, np.flatnonzero(~constant))
        t0 = time.perf_counter()
        if solver == "torch":
            result = fit_torch(
                Xn,
                D0,
                alpha=float(self.alpha),
                blocks=neuron_blocks(Xn.shape[1], self.batch_size),
                max_iter=int(self.max_iter),
                tol=float(self.tol),
                refine=self.refine,
                device=self.device,
                dtype=self.dtype,
                n_threads=self.n_threads,
                verbose=self.verbose,
            )
        elif solver == "spams":
            result = fit_spams(
                Xn,
                D0,
                alpha=float(self.alpha),
                max_iter=int(self.max_iter),
                batch_size=self.batch_size,
                n_threads=self.n_threads,
                dtype=self.dtype,
            )
        else:
            result = fit_sklearn(
                Xn,
                D0,
                alpha=float(self.alpha),
                max_iter=int(self.max_iter),
                batch_size=self.batch_size,
                seed=self.seed,
                dtype=self.dtype,
            )
        fit_time = time.perf_counter() - t0
        if not result.converged:
            warnings.warn(
                f"SparseDictionary did not converge in max_iter={self.max_iter} epochs "
                f"(tol={self.tol}); consider increasing max_iter",
                ConvergenceWarning,
                stacklevel=2,
            )
        D, A, energy = order_and_sign(result.atoms, result.loadings)
        A[:, constant] = 0
        tss = column_tss(Xn)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(~constant & (tss > 0), 1.0 - result.rss / tss, np.nan)
        self.n_features_in_ = Xn.shape[1]  # columns seen in fit (neurons), sklearn sense
        self.n_time_ = Xn.shape[0]  # what new data must match in transform
        self.constant_ = constant
        self.n_constant_ = n_constant
        self.fit_time_ = fit_time
        self.atoms_ = D
        self.loadings_ = A
        self.objective_ = np.asarray(result.objective, dtype=np.float64)
        self.n_iter_ = int(result.n_iter)
        self.n_refine_ = int(result.n_refine)
        self.r2_ = r2
        self.explained_energy_ = energy
        self.solver_ = solver
        return self

    @property
    def backend_(self) -> str:
        """Deprecated alias of :attr:`solver_` (with a FutureWarning).

        Returns
        -------
        str
        """
        warnings.warn(
            "SparseDictionary.backend_ was renamed solver_ and will be removed",
            FutureWarning,
            stacklevel=2,
        )
        return self.solver_

    def _initial_atoms(self, X: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
        """Starting atoms: the fitted ones with ``warm_start``, else random neurons."""
        if self.warm_start and hasattr(self, "atoms_"):
            if self.atoms_.shape != (X.shape[0], self.n_atoms):
                raise ValueError(
                    f"warm_start: fitted atoms have shape {self.atoms_.shape}, data needs "
                    f"({X.shape[0]}, {self.n_atoms})"
                )
            return self.atoms_.astype(np.float64)
        return initial_atoms(X, self.n_atoms, self.seed, candidates)

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
        return encode(
            Xn,
            self.atoms_,
            float(self.alpha),
            blocks=neuron_blocks(Xn.shape[1], self.batch_size),
            device=self.device,
            n_threads=self.n_threads,
        )

    def objective(self, X: Any) -> float:
        """Objective of the fitted atoms on ``X`` (normalized as in fit, coded by transform).

        Parameters
        ----------
        X : array-like or xarray.DataArray, shape (n_time, n_neuron)
            ``n_time`` must match the training data.

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

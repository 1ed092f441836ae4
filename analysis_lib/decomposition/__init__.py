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

Modules
-------
=====================================================  =====================================
:mod:`~analysis_lib.decomposition.inputs`              input checks, column scaling
:mod:`~analysis_lib.decomposition.solver`              the torch solver: FISTA codes, block
                                                       coordinate descent, L-BFGS refinement
                                                       (pure functions returning arrays)
:mod:`~analysis_lib.decomposition.references`          SPAMS / scikit-learn references and
                                                       exact scoring
:mod:`~analysis_lib.decomposition.estimator`           :class:`SparseDictionary` (validation,
                                                       dispatch, fitted attributes)
:mod:`~analysis_lib.decomposition.dataset`             :func:`decomposition_dataset` (xarray)
=====================================================  =====================================

How the torch solver compares with SPAMS and scikit-learn on the real SmolLM2 x alice matrix
is measured by ``benchmarks/decomposition_vs_spams.py`` (result in
``benchmarks/results/decomposition_vs_spams.json``); that the split into these modules left
every result bit-identical by ``benchmarks/decomposition_identity.py`` and
``tests/test_decomposition_identity.py``.

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

from .dataset import decomposition_dataset
from .estimator import BACKENDS, SOLVERS, SparseDictionary
from .inputs import NORMALIZATIONS, as_time_by_neuron, column_tss, normalize_columns
from .references import (
    fit_sklearn,
    fit_spams,
    objective_value,
    reference_codes,
    spams_codes,
)
from .solver import (
    REFINEMENTS,
    SolverResult,
    code_all,
    code_objective,
    column_sqnorm,
    encode,
    envelope_objective,
    fit_torch,
    initial_atoms,
    lasso_gram_fista,
    neuron_blocks,
    order_and_sign,
    refine_atoms_lbfgs,
    update_dictionary,
)

__all__ = [
    "BACKENDS",
    "NORMALIZATIONS",
    "REFINEMENTS",
    "SOLVERS",
    "SolverResult",
    "SparseDictionary",
    "as_time_by_neuron",
    "code_all",
    "code_objective",
    "column_sqnorm",
    "column_tss",
    "decomposition_dataset",
    "encode",
    "envelope_objective",
    "fit_sklearn",
    "fit_spams",
    "fit_torch",
    "initial_atoms",
    "lasso_gram_fista",
    "neuron_blocks",
    "normalize_columns",
    "objective_value",
    "order_and_sign",
    "reference_codes",
    "refine_atoms_lbfgs",
    "spams_codes",
    "update_dictionary",
]

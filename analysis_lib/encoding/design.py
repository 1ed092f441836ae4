"""Design matrices: atoms of interest, then confounds, cosine drift and an intercept.

Drift regressors come from nilearn's
:func:`~nilearn.glm.first_level.make_first_level_design_matrix` (``drift_model="cosine"``,
its discrete cosine basis with cut-off ``high_pass`` Hz), which also adds the constant.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _single_blas_thread():
    """Context limiting BLAS to one thread: the SVDs here are tiny, and on a shared CPU
    multi-threaded BLAS stalls on descheduled threads (seconds instead of milliseconds)."""
    return _blas_controller().limit(limits=1, user_api="blas")


@dataclass(frozen=True)
class Design:
    """An encoding design.

    Attributes
    ----------
    atoms : ndarray, shape (n_time, n_atoms)
        Regressors of interest (first columns of :attr:`matrix`).
    nuisance : ndarray, shape (n_time, n_nuisance)
        Confounds, drift and intercept (always includes a constant column).
    names : list of str
        Column names of :attr:`matrix`.
    """

    atoms: np.ndarray
    nuisance: np.ndarray
    names: list[str]

    @property
    def matrix(self) -> np.ndarray:
        """Full design ``[atoms, nuisance]``, shape (n_time, n_regressors)."""
        return np.hstack([self.atoms, self.nuisance])

    @property
    def n_atoms(self) -> int:
        return self.atoms.shape[1]

    @property
    def dof(self) -> int:
        """Residual degrees of freedom ``T - p``."""
        return self.atoms.shape[0] - self.atoms.shape[1] - self.nuisance.shape[1]


def drift_regressors(
    frame_times: np.ndarray, drift_model: str | None = "cosine", high_pass: float = 0.01
) -> pd.DataFrame:
    """Drift basis and constant from nilearn (``drift_model`` None gives only the constant).

    Parameters
    ----------
    frame_times : ndarray, shape (n_time,)
        Acquisition time of each volume (s).
    drift_model : {'cosine', 'polynomial'} or None
        nilearn drift model.
    high_pass : float
        Cut-off frequency of the cosine basis (Hz).

    Returns
    -------
    pandas.DataFrame
        Shape (n_time, n_drift + 1): the drift regressors, then the constant.
    """
    from nilearn.glm.first_level import make_first_level_design_matrix

    with _single_blas_thread():  # tiny SVDs: threads only add stalls
        return make_first_level_design_matrix(
            np.asarray(frame_times, float),
            events=None,
            drift_model=drift_model,
            high_pass=high_pass,
        )


def build_design(
    atoms: np.ndarray,
    atom_names: list[str],
    confounds: pd.DataFrame | None,
    frame_times: np.ndarray | None,
    *,
    drift_model: str | None = "cosine",
    high_pass: float = 0.01,
) -> Design:
    """Assemble the design ``[atoms, confounds, drift, constant]`` and check its rank.

    Parameters
    ----------
    atoms : ndarray, shape (n_time, n_atoms)
        Regressors of interest.
    atom_names : list of str
        Names of the ``n_atoms`` columns.
    confounds : pandas.DataFrame, shape (n_time, n_confounds), optional
        Nuisance regressors (motion ...).
    frame_times : ndarray, shape (n_time,), optional
        Volume times (s); needed for a drift model.
    drift_model : {'cosine', 'polynomial'} or None
        nilearn drift model (None: the constant only).
    high_pass : float
        Cut-off of the cosine basis (Hz).

    Returns
    -------
    Design
        ``atoms`` (n_time, n_atoms), ``nuisance`` (n_time, n_nuisance) and the column names.

    Raises
    ------
    ValueError
        When there are no more time points than regressors, when a drift model needs a
        TR that is unknown, or when the design is rank-deficient.
    """
    n_time = atoms.shape[0]
    parts, names = [], []
    if confounds is not None and confounds.shape[1]:
        parts.append(confounds.to_numpy(float))
        names += [str(c) for c in confounds.columns]
    if drift_model is not None:
        if frame_times is None:
            raise ValueError(
                f"drift_model={drift_model!r} needs the TR or a time coordinate; pass tr= "
                "or drift_model=None"
            )
        drift = drift_regressors(frame_times, drift_model, high_pass)
        parts.append(drift.to_numpy(float))
        names += [str(c) for c in drift.columns]
    else:
        parts.append(np.ones((n_time, 1)))
        names.append("constant")
    nuisance = np.hstack(parts)
    n_reg = atoms.shape[1] + nuisance.shape[1]
    if n_time <= n_reg:
        raise ValueError(
            f"fewer time points ({n_time}) than regressors ({n_reg}: {atoms.shape[1]} atoms + "
            f"{nuisance.shape[1]} confounds/drift/intercept); the model cannot be estimated"
        )
    full = np.hstack([atoms, nuisance])
    with _single_blas_thread():
        svals = scipy.linalg.svdvals(full)
    rank = int((svals > svals.max() * max(full.shape) * np.finfo(float).eps).sum())
    if rank < n_reg:
        raise ValueError(
            f"the design matrix is rank-deficient (rank {rank} < {n_reg} columns); some atoms "
            "are linear combinations of other atoms or confounds"
        )
    return Design(atoms=atoms, nuisance=nuisance, names=[*atom_names, *names])

"""Ordinary least squares and AR(1)-prewhitened GLM fits, batched over voxels with torch.

Both follow nilearn's :func:`~nilearn.glm.first_level.run_glm`: the AR(1) coefficient of each
voxel is the Yule-Walker lag-1 autocorrelation of its OLS residuals, truncated to
``1 / bins`` steps; voxels sharing a value are refitted together with the design and data
whitened by ``x[t] - rho * x[t-1]`` (first row unchanged), and t values use
``dof = T - p``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class GLMFit:
    """OLS fit of one design to a block of voxels (all tensors on one device).

    Attributes
    ----------
    beta : Tensor, shape (n_regressors, n_voxels)
    rss : Tensor, shape (n_voxels,)
    xtx_inv_diag : Tensor, shape (n_regressors,)
    dof : int
    """

    beta: torch.Tensor
    rss: torch.Tensor
    xtx_inv_diag: torch.Tensor
    dof: int

    def tstat(self, n_first: int | None = None) -> torch.Tensor:
        """t values ``beta / sqrt(rss / dof * diag((X'X)^-1))`` for the first ``n_first`` rows."""
        k = self.beta.shape[0] if n_first is None else n_first
        sigma2 = self.rss / self.dof
        return self.beta[:k] / torch.sqrt(sigma2[None, :] * self.xtx_inv_diag[:k, None])


def ols(X: torch.Tensor, Y: torch.Tensor) -> GLMFit:
    """Least squares of every column of ``Y`` (T, V) on ``X`` (T, p) through a QR factorization.

    Parameters
    ----------
    X : torch.Tensor, shape (T, p)
        Design, full column rank.
    Y : torch.Tensor, shape (T, V)
        Data, one column per voxel.

    Returns
    -------
    GLMFit
        ``beta`` (p, V), ``rss`` (V,), ``xtx_inv_diag`` (p,), ``dof = T - p``.
    """
    Q, R = torch.linalg.qr(X, mode="reduced")
    beta = torch.linalg.solve_triangular(R, Q.T @ Y, upper=True)
    resid = Y - X @ beta
    rss = (resid * resid).sum(0)
    r_inv = torch.linalg.solve_triangular(
        R, torch.eye(R.shape[0], dtype=R.dtype, device=R.device), upper=True
    )
    xtx_inv_diag = (r_inv * r_inv).sum(1)
    return GLMFit(beta=beta, rss=rss, xtx_inv_diag=xtx_inv_diag, dof=X.shape[0] - X.shape[1])


def residuals(X: torch.Tensor, fit: GLMFit, Y: torch.Tensor) -> torch.Tensor:
    """Residuals ``Y - X beta``, shape (T, V).

    Parameters
    ----------
    X : torch.Tensor, shape (T, p)
        Design.
    fit : GLMFit
        From :func:`ols` of ``X`` and ``Y``.
    Y : torch.Tensor, shape (T, V)
        Data.

    Returns
    -------
    torch.Tensor, shape (T, V)
        The residuals.
    """
    return Y - X @ fit.beta


def ar1_coefficients(resid: torch.Tensor, bins: int = 100) -> torch.Tensor:
    """Lag-1 Yule-Walker coefficients of residuals (T, V), truncated to ``1/bins`` steps.

    Parameters
    ----------
    resid : torch.Tensor, shape (T, V)
        OLS residuals.
    bins : int
        Coefficients are truncated to multiples of ``1 / bins`` (as nilearn bins them).

    Returns
    -------
    torch.Tensor, shape (V,)
        The lag-1 autocorrelation of each voxel.
    """
    n = resid.shape[0]
    y = resid - resid.mean(0, keepdim=True)
    r0 = (y * y).sum(0) / n
    r1 = (y[:-1] * y[1:]).sum(0) / (n - 1)
    rho = r1 / r0
    return torch.trunc(rho * bins) / bins


def ar1_whiten(x: torch.Tensor, rho: float) -> torch.Tensor:
    """Whiten along the first (time) axis: ``w[0] = x[0]``, ``w[t] = x[t] - rho x[t-1]``.

    Parameters
    ----------
    x : torch.Tensor, shape (T, ...)
        Design or data, time first.
    rho : float
        AR(1) coefficient.

    Returns
    -------
    torch.Tensor, shape of ``x``
        The whitened array.
    """
    out = x.clone()
    out[1:] = x[1:] - rho * x[:-1]
    return out


def ar1_groups(rho: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """Voxel indices sharing each binned AR(1) coefficient, in increasing order of rho."""
    values, inverse = np.unique(rho, return_inverse=True)
    return [(float(v), np.nonzero(inverse == i)[0]) for i, v in enumerate(values)]


def two_sided_pvalue(t: np.ndarray, dof: int) -> np.ndarray:
    """Two-sided parametric p values of t statistics with ``dof`` degrees of freedom.

    Parameters
    ----------
    t : ndarray
        t statistics (any shape).
    dof : int
        Degrees of freedom.

    Returns
    -------
    ndarray, shape of ``t``
        ``2 * P(T > |t|)``.
    """
    from scipy import stats

    return 2.0 * stats.t.sf(np.abs(t), dof)

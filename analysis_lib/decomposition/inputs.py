"""Input checks and column scaling of ``(time, neuron)`` response matrices.

Columns (neurons) are scaled by ``normalize``: ``"unit"`` divides each column by its L2
norm (no centering), ``"zscore"`` centers it and divides by its standard deviation
(ddof=0), ``"none"`` leaves it. Constant neurons (all time points equal) are flagged, set
to zero and excluded from a fit. NaN or infinite values raise an error naming how many
there are and where.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NORMALIZATIONS = ("zscore", "unit", "none")


def as_time_by_neuron(X: Any, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as a 2-D float ndarray of shape ``(n_time, n_neuron)``.

    Parameters
    ----------
    X : array-like or xarray.DataArray, shape (n_time, n_neuron)
        A DataArray must have dims ``time`` and ``neuron`` (any order).
    name : str
        Name used in error messages (e.g. a file name).

    Returns
    -------
    ndarray, shape (n_time, n_neuron)
        float64 or float32 (as given; other dtypes become float64).

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

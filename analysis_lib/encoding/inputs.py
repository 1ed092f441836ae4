"""Coerce and validate the inputs of an encoding model: atoms, BOLD and confounds.

Everything becomes a labeled :class:`xarray.DataArray` with dims ``(time, atom)`` or
``(time, voxel)``; mismatches raise :class:`ValueError` naming both sides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


def as_atoms(atoms) -> xr.DataArray:
    """Return ``atoms`` as a float64 DataArray with dims ``(time, atom)``.

    Parameters
    ----------
    atoms : array-like of shape (n_time, n_atoms) or DataArray with dims (time, atom)
        Plain arrays get ``atom`` coords ``0..K-1``. A Dataset with an ``atoms`` variable
        (a decomposition result) is accepted too.
    """
    if isinstance(atoms, xr.Dataset):
        if "atoms" not in atoms:
            raise ValueError(f"atoms Dataset has no 'atoms' variable; it holds {sorted(atoms)}")
        atoms = atoms["atoms"]
    if isinstance(atoms, xr.DataArray):
        if set(atoms.dims) != {"time", "atom"}:
            raise ValueError(f"atoms must have dims (time, atom); got {atoms.dims}")
        da = atoms.transpose("time", "atom").astype(np.float64)
    else:
        arr = np.asarray(atoms, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"atoms must be 2-D (time, atom); got shape {arr.shape}")
        da = xr.DataArray(arr, dims=("time", "atom"), coords={"atom": np.arange(arr.shape[1])})
    if "atom" not in da.coords:
        da = da.assign_coords(atom=np.arange(da.sizes["atom"]))
    values = da.values
    if not np.all(np.isfinite(values)):
        bad = np.unique(np.nonzero(~np.isfinite(values))[1])
        raise ValueError(f"atoms contain NaN or infinite values (atom columns {bad.tolist()})")
    const = np.ptp(values, axis=0) == 0
    if np.any(const):
        raise ValueError(
            f"atoms {np.nonzero(const)[0].tolist()} are constant over time; a constant "
            "regressor is collinear with the intercept"
        )
    return da


def as_bold(bold, *, tr: float | None = None) -> xr.DataArray:
    """Return ``bold`` as a DataArray with dims ``(time, voxel)`` (values not copied).

    Plain arrays get ``voxel`` coords ``0..V-1`` and, when ``tr`` is given, a ``time``
    coordinate ``tr * arange(T)`` and ``attrs['tr']``.

    Parameters
    ----------
    bold : xarray.DataArray or array-like, shape (n_time, n_voxels)
        BOLD data; a DataArray must have dims ``time`` and ``voxel``.
    tr : float, optional
        Repetition time (s) for a plain array.

    Returns
    -------
    xarray.DataArray (time, voxel)
        The same values, with the dims and coords above.
    """
    if isinstance(bold, xr.Dataset):
        if "bold" not in bold:
            raise ValueError(f"BOLD Dataset has no 'bold' variable; it holds {sorted(bold)}")
        bold = bold["bold"]
    if isinstance(bold, xr.DataArray):
        if set(bold.dims) != {"time", "voxel"}:
            raise ValueError(f"bold must have dims (time, voxel); got {bold.dims}")
        da = bold.transpose("time", "voxel")
    else:
        arr = np.asarray(bold)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"bold must be 2-D (time, voxel); got shape {arr.shape}")
        coords = {"voxel": np.arange(arr.shape[1])}
        if tr is not None:
            coords["time"] = float(tr) * np.arange(arr.shape[0])
        da = xr.DataArray(arr, dims=("time", "voxel"), coords=coords, name="bold")
        if tr is not None:
            da.attrs["tr"] = float(tr)
    if "voxel" not in da.coords:
        da = da.assign_coords(voxel=np.arange(da.sizes["voxel"]))
    if da.sizes["voxel"] == 0 or da.sizes["time"] == 0:
        raise ValueError(
            f"BOLD has {da.sizes['time']} time points x {da.sizes['voxel']} voxels: nothing to fit"
        )
    return da


def infer_tr(*arrays: xr.DataArray, tr: float | None = None) -> float | None:
    """Repetition time in seconds from ``tr``, an ``attrs['tr']`` or a ``time`` coordinate.

    Parameters
    ----------
    *arrays : xarray.DataArray
        Arrays with a ``time`` dim, looked at in order.
    tr : float, optional
        An explicit TR (s), which wins.

    Returns
    -------
    float or None
        The TR in seconds, None when nothing gives it.
    """
    if tr is not None:
        return float(tr)
    for da in arrays:
        if "tr" in da.attrs:
            return float(da.attrs["tr"])
    for da in arrays:
        if "time" in da.coords and da.sizes["time"] > 1:
            return float(np.median(np.diff(np.asarray(da["time"], dtype=float))))
    return None


def check_time_axes(atoms: xr.DataArray, bold: xr.DataArray, tr: float | None) -> None:
    """Raise when atoms and BOLD differ in length or in their time coordinates.

    Parameters
    ----------
    atoms : xarray.DataArray (time, atom)
        Atom time courses.
    bold : xarray.DataArray (time, voxel)
        BOLD data.
    tr : float or None
        The TR (s) used to compare time coordinates.
    """
    n_a, n_b = atoms.sizes["time"], bold.sizes["time"]
    tr_text = f"{tr:g} s" if tr is not None else "unknown"
    if n_a != n_b:
        raise ValueError(
            f"atoms have {n_a} time points but BOLD has {n_b} (TR = {tr_text}); "
            "both must sample the same volumes"
        )
    if "time" in atoms.coords and "time" in bold.coords:
        ta = np.asarray(atoms["time"], dtype=float)
        tb = np.asarray(bold["time"], dtype=float)
        tol = 1e-3 * (tr or 1.0)
        if not np.allclose(ta, tb, atol=tol, rtol=0):
            raise ValueError(
                f"atoms time axis ({ta[0]:g} s to {ta[-1]:g} s) does not match the BOLD time "
                f"axis ({tb[0]:g} s to {tb[-1]:g} s), TR = {tr_text}"
            )


@dataclass(frozen=True)
class VoxelValidity:
    """Which voxels can be fitted.

    Attributes
    ----------
    valid : ndarray of bool, shape (n_voxels,)
    n_nan : int
        Voxels with any NaN or infinite value.
    n_constant : int
        Finite voxels whose time series is constant.
    """

    valid: np.ndarray
    n_nan: int
    n_constant: int


def voxel_validity(values: np.ndarray, chunk: int = 8192) -> VoxelValidity:
    """Flag voxels with non-finite values or a constant time series, in chunks.

    Parameters
    ----------
    values : ndarray, shape (n_time, n_voxels)
        BOLD values.
    chunk : int
        Voxels checked at a time (bounds the memory).

    Returns
    -------
    VoxelValidity
        ``valid`` (n_voxels,) and the counts of non-finite and constant voxels.
    """
    n_vox = values.shape[1]
    finite = np.empty(n_vox, bool)
    const = np.empty(n_vox, bool)
    for start in range(0, n_vox, chunk):
        block = np.asarray(values[:, start : start + chunk])
        fin = np.all(np.isfinite(block), axis=0)
        finite[start : start + chunk] = fin
        with np.errstate(invalid="ignore"):
            const[start : start + chunk] = fin & (np.ptp(np.where(fin, block, 0.0), axis=0) == 0)
    valid = finite & ~const
    return VoxelValidity(valid, int((~finite).sum()), int(const.sum()))


def read_confounds(path: str | os.PathLike[str], *, drop_first: int = 0) -> pd.DataFrame:
    """Read confounds (e.g. SPM ``rp_*.txt`` motion or fMRIPrep ``*.tsv``) from a file.

    Whitespace-separated numbers without a header (SPM), or a TSV/CSV with a header.
    ``drop_first`` removes leading rows (volumes discarded from the BOLD series).

    Parameters
    ----------
    path : path-like
        The confounds file.
    drop_first : int
        Leading rows to drop.

    Returns
    -------
    pandas.DataFrame, shape (n_time, n_confounds)
        The confounds (columns named by the header, or ``c0, c1 ...``).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: confounds file not found")
    try:
        if path.suffix in (".tsv", ".csv"):
            frame = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
        else:
            frame = pd.DataFrame(np.loadtxt(path, ndmin=2))
            frame.columns = [f"{path.stem}_{i}" for i in range(frame.shape[1])]
    except Exception as exc:
        raise ValueError(f"{path}: cannot read confounds ({exc})") from exc
    for column in frame.columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{path}: confounds must be numbers; column {column!r} holds "
                f"{frame[column].iloc[row]!r} in data row {row + 1}"
            )
    frame = frame.iloc[drop_first:].reset_index(drop=True).astype(float)
    frame.attrs["source"] = str(path)
    if not np.all(np.isfinite(frame.to_numpy())):
        raise ValueError(f"{path}: confounds contain NaN or infinite values")
    return frame


def as_confounds(confounds, n_time: int) -> pd.DataFrame | None:
    """Return confounds as a DataFrame of ``n_time`` rows (or ``None``).

    Accepts ``None``, an array (T, C), a DataFrame, a DataArray with dim ``time``, a path,
    or a list of those (concatenated column-wise).

    Parameters
    ----------
    confounds : None, array-like, DataFrame, DataArray, path or list of those
        The confounds, one row per volume.
    n_time : int
        Number of volumes the confounds must have.

    Returns
    -------
    pandas.DataFrame, shape (n_time, n_confounds), or None
        None when no confounds are given.
    """
    if confounds is None:
        return None
    if isinstance(confounds, (list, tuple)) and all(
        isinstance(c, (str, os.PathLike, pd.DataFrame, xr.DataArray))
        or (isinstance(c, np.ndarray) and c.ndim == 2)
        for c in confounds
    ):
        frames = [as_confounds(c, n_time) for c in confounds]
        frames = [f for f in frames if f is not None]
        return pd.concat(frames, axis=1) if frames else None
    source = "confounds"
    if isinstance(confounds, (str, os.PathLike)):
        source = str(confounds)
        frame = read_confounds(confounds)
    elif isinstance(confounds, pd.DataFrame):
        source = str(confounds.attrs.get("source", source))
        frame = confounds.astype(float).reset_index(drop=True)
    elif isinstance(confounds, xr.DataArray):
        other = [d for d in confounds.dims if d != "time"]
        frame = pd.DataFrame(confounds.transpose("time", *other).values.reshape(n_time, -1))
    else:
        arr = np.asarray(confounds, dtype=float)
        frame = pd.DataFrame(arr[:, None] if arr.ndim == 1 else arr)
    if frame.shape[0] != n_time:
        raise ValueError(
            f"{source}: confounds have {frame.shape[0]} rows but BOLD has {n_time} time points"
        )
    if not np.all(np.isfinite(frame.to_numpy())):
        raise ValueError(f"{source}: confounds contain NaN or infinite values")
    frame.columns = [f"confound_{c}" if not isinstance(c, str) else c for c in frame.columns]
    return frame

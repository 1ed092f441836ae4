"""ROI tables: time courses of regions (rows = volumes, columns = regions) as ``bold``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


def _time_coord(n_time: int, tr: float | None, t0: float) -> dict:
    return {"time": t0 + tr * np.arange(n_time)} if tr else {}


def bold_from_roi_table(
    table: str | os.PathLike[str] | pd.DataFrame | np.ndarray,
    *,
    tr: float,
    t0: float = 0.0,
    rois: list[str] | None = None,
    space: str = "roi",
) -> xr.DataArray:
    """ROI time courses (rows = volumes, columns = ROIs) as ``bold`` with a ``roi`` coord.

    Parameters
    ----------
    table : path, DataFrame or ndarray, shape (n_time, n_roi)
        Files are whitespace-separated numbers (names from ``rois``) or CSV/TSV with a
        header.
    tr : float
        Repetition time, s.
    t0 : float
        Time of the first row on the stimulus clock, s.
    rois : list of str, optional
        ROI names (default: the table's column names).
    space : str
        Value of ``attrs['space']``.

    Returns
    -------
    xarray.DataArray, shape (n_time, n_roi)
        Dims ``(time, voxel)``, coord ``roi``, time in s; attrs ``space`` and ``tr``.
    """
    if isinstance(table, (str, os.PathLike)):
        path = Path(table)
        if not path.exists():
            raise FileNotFoundError(f"{path}: ROI table not found")
        if path.suffix in (".csv", ".tsv"):
            frame = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
        else:
            frame = pd.DataFrame(np.loadtxt(path, ndmin=2))
    elif isinstance(table, pd.DataFrame):
        frame = table
    else:
        frame = pd.DataFrame(np.asarray(table, float))
    names = rois or [str(c) for c in frame.columns]
    if len(names) != frame.shape[1]:
        raise ValueError(f"{len(names)} ROI names for a table of {frame.shape[1]} columns")
    data = frame.to_numpy(float)
    return xr.DataArray(
        data,
        dims=("time", "voxel"),
        coords={
            "roi": ("voxel", np.asarray(names, dtype=str)),
            **_time_coord(data.shape[0], tr, t0),
        },
        name="bold",
        attrs={"space": space, "tr": float(tr)},
    )

"""GIfTI readers and writers (nibabel): per-hemisphere surface time series and maps.

GIfTI has no standard timing field, so readers take the TR and the time of the first
volume. A functional GIfTI holds either one data array per volume (each of shape
``(n_vertex,)``) or one 2-D array ``(n_vertex, n_time)``; :func:`read_gifti` accepts both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

HEMISPHERES = ("L", "R")


def _name(obj) -> str:
    return str(obj) if isinstance(obj, (str, os.PathLike)) else type(obj).__name__


def read_gifti(path) -> np.ndarray:
    """Read a functional GIfTI file as a ``(time, vertex)`` array.

    Parameters
    ----------
    path : path or nibabel.gifti.GiftiImage

    Returns
    -------
    ndarray, shape (n_time, n_vertex)
        One row per data array (or the transposed single 2-D array).

    Raises
    ------
    FileNotFoundError
        When the path does not exist.
    ValueError
        When nibabel cannot read it, it holds no data arrays, or they differ in shape
        (the message names the file).
    """
    import nibabel as nib

    if isinstance(path, (str, os.PathLike)) and not os.path.exists(path):
        raise FileNotFoundError(f"{path}: GIfTI file not found")
    try:
        img = nib.load(path) if isinstance(path, (str, os.PathLike)) else path
        arrays = [np.asarray(d.data) for d in img.darrays]
    except Exception as exc:
        raise ValueError(f"{_name(path)}: not a readable GIfTI file ({exc})") from exc
    if not arrays:
        raise ValueError(f"{_name(path)}: GIfTI file holds no data arrays")
    if arrays[0].ndim == 2:  # one array (vertices, time)
        return arrays[0].T
    if len({a.shape for a in arrays}) != 1:
        raise ValueError(f"{_name(path)}: data arrays differ in shape")
    return np.vstack(arrays)  # (time, vertices)


def read_hemispheres(
    paths: Mapping[str, object], masks: Mapping[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read and join per-hemisphere GIfTI time series.

    Parameters
    ----------
    paths : mapping hemisphere -> path or GiftiImage
        Usually ``{"L": ..., "R": ...}``.
    masks : mapping hemisphere -> ndarray of bool, shape (n_vertex,), optional
        Vertices to keep per hemisphere (e.g. a cortex mask).

    Returns
    -------
    data : ndarray, shape (n_time, n_kept)
        The hemispheres side by side, in the order of ``paths``.
    vertex : ndarray of int, shape (n_kept,)
        Vertex index within its hemisphere.
    hemi : ndarray of str, shape (n_kept,)

    Raises
    ------
    ValueError
        When the hemispheres differ in number of volumes or a mask in number of vertices.
    """
    parts, vertex, hemi = [], [], []
    n_time, first = None, None
    for h, path in paths.items():
        data = read_gifti(path)
        if n_time is not None and data.shape[0] != n_time:
            raise ValueError(
                f"GIfTI {_name(path)} has {data.shape[0]} volumes but {_name(first)} has {n_time}"
            )
        n_time, first = data.shape[0], path
        keep = np.arange(data.shape[1])
        if masks is not None and h in masks:
            mask = np.asarray(masks[h]).ravel() > 0
            if mask.size != data.shape[1]:
                raise ValueError(
                    f"mask of hemisphere {h}: {mask.size} vertices but {_name(path)} has "
                    f"{data.shape[1]}"
                )
            keep = np.flatnonzero(mask)
        parts.append(data[:, keep])
        vertex.append(keep)
        hemi.append(np.full(keep.size, h))
    return np.hstack(parts), np.concatenate(vertex), np.concatenate(hemi)


def bold_from_gifti(
    paths: Mapping[str, object] | Sequence[object],
    *,
    tr: float,
    t0: float = 0.0,
    space: str = "surface",
) -> xr.DataArray:
    """Read per-hemisphere GIfTI time series into ``bold``.

    Parameters
    ----------
    paths : {"L": path, "R": path} or [left, right]
        Paths or GiftiImages.
    tr : float
        Repetition time in s (GIfTI has no standard timing field).
    t0 : float
        Time of the first volume on the stimulus clock, s.
    space : str
        Value of ``attrs['space']`` (e.g. ``"fsaverage6"``).

    Returns
    -------
    xarray.DataArray, shape (n_time, n_vertex)
        Dims ``(time, voxel)``, coords ``vertex`` and ``hemi``, time in s; attrs
        ``space`` and ``tr``.
    """
    if not isinstance(paths, Mapping):
        paths = dict(zip(HEMISPHERES, paths, strict=False))
    data, vertex, hemi = read_hemispheres(paths)
    data = data.astype(np.float32)
    return xr.DataArray(
        data,
        dims=("time", "voxel"),
        coords={
            "vertex": ("voxel", vertex),
            "hemi": ("voxel", hemi.astype(str)),
            "time": t0 + float(tr) * np.arange(data.shape[0]),
        },
        name="bold",
        attrs={"space": space, "tr": float(tr)},
    )


def map_to_gifti(da: xr.DataArray, hemi: str, n_vertices: int | None = None, fill: float = np.nan):
    """One hemisphere of a ``(voxel,)`` / ``(atom, voxel)`` surface map as a GiftiImage.

    Parameters
    ----------
    da : xarray.DataArray, shape (n_voxel,) or (n_map, n_voxel)
        Coords ``vertex`` and ``hemi`` along ``voxel``.
    hemi : str
        The hemisphere to write (a value of the ``hemi`` coord).
    n_vertices : int, optional
        Vertices of the mesh (default: the largest vertex index + 1).
    fill : float
        Value of the vertices missing from the map.

    Returns
    -------
    nibabel.gifti.GiftiImage
        One float32 data array of shape (n_vertices,) per map.
    """
    import nibabel as nib

    if "vertex" not in da.coords or "hemi" not in da.coords:
        raise ValueError("map has no 'vertex'/'hemi' coordinates; it is not a surface map")
    sel = da.isel(voxel=np.nonzero(da["hemi"].values.astype(str) == hemi)[0])
    if sel.sizes["voxel"] == 0:
        raise ValueError(f"map has no vertex in hemisphere {hemi!r}")
    vert = sel["vertex"].values.astype(int)
    n_vertices = n_vertices or int(vert.max()) + 1
    other = [d for d in da.dims if d != "voxel"]
    values = sel.transpose(*other, "voxel").values.reshape(-1, sel.sizes["voxel"])
    arrays = []
    for row in values:
        out = np.full(n_vertices, fill, dtype=np.float32)
        out[vert] = row
        arrays.append(
            nib.gifti.GiftiDataArray(
                out, intent="NIFTI_INTENT_NONE", datatype="NIFTI_TYPE_FLOAT32"
            )
        )
    return nib.gifti.GiftiImage(darrays=arrays)

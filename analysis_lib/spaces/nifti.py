"""NIfTI readers and writers (nibabel, nilearn): masked 4-D BOLD in, volume maps out.

A ``(..., voxel)`` object in a volume space carries the coords ``i j k`` (voxel indices,
int) and ``x y z`` (world mm), and the attrs ``affine`` (16 floats, row-major) and
``shape`` (3 ints) of its grid. Masking uses nilearn's
:class:`~nilearn.maskers.NiftiMasker`; grids that do not match raise a :class:`ValueError`
naming both sides (no silent resampling).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

PathOrImage = str | os.PathLike[str] | object


def _name(obj) -> str:
    return str(obj) if isinstance(obj, (str, os.PathLike)) else type(obj).__name__


def _time_coord(n_time: int, tr: float | None, t0: float) -> dict:
    return {"time": t0 + tr * np.arange(n_time)} if tr else {}


def volume_coords(ijk: np.ndarray, affine: np.ndarray) -> dict[str, np.ndarray]:
    """Voxel coords for volume data: ``i``, ``j``, ``k`` and world ``x``, ``y``, ``z`` (mm).

    Parameters
    ----------
    ijk : array of int, shape (n_voxels, 3)
        Voxel indices.
    affine : array, shape (4, 4)
        Voxel-to-world affine.

    Returns
    -------
    dict
        ``i j k`` (int64) and ``x y z`` (float), each of shape (n_voxels,).
    """
    ijk = np.asarray(ijk, dtype=np.int64).reshape(-1, 3)
    xyz = ijk @ np.asarray(affine, float)[:3, :3].T + np.asarray(affine, float)[:3, 3]
    return {
        "i": ijk[:, 0],
        "j": ijk[:, 1],
        "k": ijk[:, 2],
        "x": xyz[:, 0],
        "y": xyz[:, 1],
        "z": xyz[:, 2],
    }


def volume_attrs(affine: np.ndarray, shape: Sequence[int]) -> dict[str, Any]:
    """Attrs ``affine`` (16 floats, row-major) and ``shape`` (3 ints) of volume data.

    Parameters
    ----------
    affine : array, shape (4, 4)
    shape : sequence of int, length >= 3
        Grid shape (only the first three entries are kept).

    Returns
    -------
    dict
        ``{"affine": [16 floats], "shape": [3 ints]}``.
    """
    return {
        "affine": [float(v) for v in np.asarray(affine, float).ravel()],
        "shape": [int(s) for s in tuple(shape)[:3]],
    }


def _affine_of(da: xr.DataArray, affine=None) -> np.ndarray:
    affine = da.attrs.get("affine") if affine is None else affine
    if affine is None:
        raise ValueError("map has no 'affine' attr; it is not in a volume space")
    if isinstance(affine, str):
        affine = json.loads(affine)
    return np.asarray(affine, float).reshape(4, 4)


def _shape_of(da: xr.DataArray, shape=None) -> tuple[int, int, int]:
    shape = da.attrs.get("shape") if shape is None else shape
    if shape is None:
        raise ValueError("map has no 'shape' attr; it is not in a volume space")
    if isinstance(shape, str):
        shape = json.loads(shape)
    return tuple(int(s) for s in np.asarray(shape).ravel()[:3])


def bold_from_nifti(
    img: PathOrImage,
    mask_img: PathOrImage,
    *,
    tr: float | None = None,
    t0: float = 0.0,
    space: str = "volume",
) -> xr.DataArray:
    """Mask a 4-D NIfTI image into a ``bold`` DataArray with ``i j k x y z`` coords.

    Parameters
    ----------
    img : path or Nifti1Image, shape (X, Y, Z, T)
    mask_img : path or Nifti1Image, shape (X, Y, Z)
        Must have the same shape and affine as ``img`` (no silent resampling).
    tr : float, optional
        Repetition time in s (default: the image header's pixdim[4] when positive).
    t0 : float
        Time of the first volume on the stimulus clock, s.
    space : str
        Value of ``attrs['space']`` (e.g. ``"MNI152-2mm"``).

    Returns
    -------
    xarray.DataArray, shape (T, n_voxel)
        Dims ``(time, voxel)`` with coords ``i j k x y z`` (the mask's voxels in C order,
        the order NiftiMasker uses), time in s when the TR is known; attrs ``space``,
        ``affine``, ``shape`` and ``tr``.
    """
    import nibabel as nib
    from nilearn.maskers import NiftiMasker

    image = nib.load(img) if isinstance(img, (str, os.PathLike)) else img
    mask = nib.load(mask_img) if isinstance(mask_img, (str, os.PathLike)) else mask_img
    if image.ndim != 4:
        raise ValueError(f"{_name(img)}: expected a 4-D BOLD image, got shape {image.shape}")
    if tuple(image.shape[:3]) != tuple(mask.shape[:3]) or not np.allclose(
        image.affine, mask.affine, atol=1e-4
    ):
        raise ValueError(
            f"mask {_name(mask_img)} (shape {mask.shape[:3]}, affine diagonal "
            f"{np.diag(mask.affine)[:3].tolist()}) does not match BOLD image {_name(img)} "
            f"(shape {image.shape[:3]}, affine diagonal {np.diag(image.affine)[:3].tolist()})"
        )
    try:
        masker = NiftiMasker(mask_img=mask, standardize=None).fit()
        data = masker.transform(image)  # (T, V)
    except (OSError, EOFError) as exc:  # header fine, data cut short
        reason = " ".join(str(exc).split())
        raise ValueError(f"{_name(img)}: NIfTI data unreadable, truncated? ({reason})") from exc
    except ValueError as exc:  # nilearn: an empty mask
        reason = " ".join(str(exc).split())
        raise ValueError(f"mask {_name(mask_img)} for {_name(img)}: {reason}") from exc
    mask_bool = np.asarray(mask.get_fdata()) > 0
    ijk = np.argwhere(mask_bool)  # C order, the order NiftiMasker uses
    xyz = nib.affines.apply_affine(image.affine, ijk)
    if tr is None:
        zoom = float(image.header.get_zooms()[3]) if len(image.header.get_zooms()) > 3 else 0
        tr = zoom if zoom > 0 else None
    coords = {
        "i": ("voxel", ijk[:, 0]),
        "j": ("voxel", ijk[:, 1]),
        "k": ("voxel", ijk[:, 2]),
        "x": ("voxel", xyz[:, 0]),
        "y": ("voxel", xyz[:, 1]),
        "z": ("voxel", xyz[:, 2]),
        **_time_coord(data.shape[0], tr, t0),
    }
    attrs = {
        "space": space,
        "affine": [float(v) for v in image.affine.ravel()],
        "shape": [int(s) for s in image.shape[:3]],
    }
    if tr:
        attrs["tr"] = float(tr)
    return xr.DataArray(data, dims=("time", "voxel"), coords=coords, name="bold", attrs=attrs)


def map_to_nifti(da: xr.DataArray, fill: float = np.nan, *, affine=None, shape=None):
    """Write a ``(voxel,)`` or ``(other, voxel)`` map with ``i j k`` coords into a NIfTI image.

    Parameters
    ----------
    da : xarray.DataArray, shape (n_voxel,) or (n_map, n_voxel)
        Coords ``i j k`` along ``voxel``.
    fill : float
        Value of the grid voxels missing from the map.
    affine : array, shape (4, 4), optional
        Grid affine (default: the map's ``affine`` attr, which
        :func:`~analysis_lib.encoding.fit_encoding` copies onto every variable).
    shape : sequence of 3 int, optional
        Grid shape (default: the map's ``shape`` attr).

    Returns
    -------
    nibabel.Nifti1Image, shape (X, Y, Z) or (X, Y, Z, n_map)
        3-D, or 4-D with one volume per entry of the other dim (e.g. atoms); float32.
    """
    import nibabel as nib

    for c in ("i", "j", "k"):
        if c not in da.coords:
            raise ValueError(f"map has no {c!r} coordinate; it is not in a volume space")
    shape = _shape_of(da, shape)
    affine = _affine_of(da, affine)
    other = [d for d in da.dims if d != "voxel"]
    if len(other) > 1:
        raise ValueError(f"map must have at most one dim besides voxel, got {da.dims}")
    values = da.transpose(*other, "voxel").values.reshape(-1, da.sizes["voxel"])
    vol = np.full((*shape, values.shape[0]), fill, dtype=np.float32)
    vol[da["i"].values, da["j"].values, da["k"].values, :] = values.T
    return nib.Nifti1Image(vol if other else vol[..., 0], affine)

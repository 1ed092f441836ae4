"""BOLD in and maps out of the common neuroimaging spaces.

Readers return the ``bold`` DataArray of the shared contract (dims ``(time, voxel)``, time
in seconds, voxel coords by space); writers turn any ``(voxel,)`` or ``(atom, voxel)`` map
that kept those coords (e.g. ``fit_encoding(...)["tstat"]``) back into an image:

===============  ===========================================  ======================
space            voxel coords / attrs                          reader / writer
===============  ===========================================  ======================
NIfTI + mask     ``i j k x y z``; attrs ``affine``, ``shape``  :func:`bold_from_nifti`
                                                               / :func:`map_to_nifti`
CIFTI dtseries   ``grayordinate``, ``structure``                :func:`bold_from_cifti`
                                                               / :func:`map_to_cifti`
GIfTI            ``vertex``, ``hemi``                           :func:`bold_from_gifti`
                                                               / :func:`map_to_gifti`
ROI table        ``roi``                                        :func:`bold_from_roi_table`
===============  ===========================================  ======================

NIfTI masking uses nilearn's :class:`~nilearn.maskers.NiftiMasker`; CIFTI and GIfTI use
nibabel. Mismatched grids raise :class:`ValueError` naming both sides.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

PathOrImage = str | os.PathLike[str] | object


def _name(obj) -> str:
    return str(obj) if isinstance(obj, (str, os.PathLike)) else type(obj).__name__


def _time_coord(n_time: int, tr: float | None, t0: float) -> dict:
    return {"time": t0 + tr * np.arange(n_time)} if tr else {}


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


# ----------------------------------------------------------------------------- NIfTI


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

    The grid comes from ``affine`` and ``shape`` (default: the map's attrs, which
    :func:`~analysis_lib.encoding.fit_encoding` copies onto every variable).
    Returns a 3-D image, or 4-D with one volume per entry of the other dim (e.g. atoms).
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


# ----------------------------------------------------------------------------- CIFTI


def _load_cifti(img):
    import nibabel as nib

    return nib.load(img) if isinstance(img, (str, os.PathLike)) else img


def bold_from_cifti(img: PathOrImage, *, t0: float | None = None) -> xr.DataArray:
    """Read a CIFTI-2 dtseries into a ``bold`` DataArray with grayordinate coords.

    ``grayordinate`` is the position along the file's brain-model axis (0..91281 for HCP
    fsLR-32k files) and ``structure`` its CIFTI structure name; time comes from the series
    axis (``start + step * arange``). Space is ``"fsLR32k"`` for 91,282 grayordinates.
    """
    import nibabel as nib

    image = _load_cifti(img)
    series, models = (image.header.get_axis(i) for i in range(2))
    if not isinstance(series, nib.cifti2.SeriesAxis) or not isinstance(
        models, nib.cifti2.BrainModelAxis
    ):
        raise ValueError(f"{_name(img)}: not a dense time series (dtseries) CIFTI file")
    try:
        data = np.asarray(image.get_fdata(dtype=np.float32))
    except (OSError, EOFError, ValueError) as exc:  # header fine, data cut short
        raise ValueError(
            f"{_name(img)}: CIFTI data unreadable, truncated? ({' '.join(str(exc).split())})"
        ) from exc
    start = float(series.start if t0 is None else t0)
    step = float(series.step) * (1e-3 if series.unit == "MILLISECOND" else 1.0)
    n_grey = len(models)
    return xr.DataArray(
        data,
        dims=("time", "voxel"),
        coords={
            "time": start + step * np.arange(data.shape[0]),
            "grayordinate": ("voxel", np.arange(n_grey)),
            "structure": ("voxel", np.asarray(models.name, dtype=str)),
        },
        name="bold",
        attrs={"space": "fsLR32k" if n_grey == 91282 else f"cifti-{n_grey}", "tr": step},
    )


def map_to_cifti(da: xr.DataArray, template: PathOrImage, fill: float = np.nan):
    """Write a map with ``grayordinate`` coords as a CIFTI-2 dscalar image.

    Parameters
    ----------
    da : DataArray, dims (voxel,) or (atom, voxel)
        A subsample of grayordinates is allowed; missing ones get ``fill``.
    template : path or Cifti2Image
        Any CIFTI file whose brain-model axis defines the grayordinates (e.g. the subject's
        dtseries). Its size must cover every ``grayordinate`` index.
    """
    import nibabel as nib

    if "grayordinate" not in da.coords:
        raise ValueError("map has no 'grayordinate' coordinate; it is not in a CIFTI space")
    models = _load_cifti(template).header.get_axis(1)
    idx = da["grayordinate"].values.astype(int)
    if idx.max() >= len(models):
        raise ValueError(
            f"map grayordinates reach {idx.max()} but template {_name(template)} has "
            f"{len(models)} grayordinates"
        )
    if "structure" in da.coords:
        names = np.asarray(models.name)[idx]
        bad = names != da["structure"].values.astype(str)
        if bad.any():
            raise ValueError(
                f"map structure {da['structure'].values[bad][0]!r} at grayordinate "
                f"{idx[bad][0]} differs from template {_name(template)} ({names[bad][0]!r})"
            )
    other = [d for d in da.dims if d != "voxel"]
    values = da.transpose(*other, "voxel").values.reshape(-1, da.sizes["voxel"])
    out = np.full((values.shape[0], len(models)), fill, dtype=np.float32)
    out[:, idx] = values
    labels = [str(v) for v in da[other[0]].values] if other else [str(da.name or "map")]
    scalars = nib.cifti2.ScalarAxis(labels)
    return nib.Cifti2Image(out, header=(scalars, models))


# ----------------------------------------------------------------------------- GIfTI


def bold_from_gifti(
    paths: dict[str, PathOrImage] | list[PathOrImage],
    *,
    tr: float,
    t0: float = 0.0,
    space: str = "surface",
) -> xr.DataArray:
    """Read per-hemisphere GIfTI time series (one darray per volume) into ``bold``.

    Parameters
    ----------
    paths : {"L": path, "R": path} or [left, right]
    tr, t0 : float
        GIfTI has no standard timing field; give the TR and first volume time.
    """
    import nibabel as nib

    if not isinstance(paths, dict):
        paths = dict(zip(("L", "R"), paths, strict=False))
    blocks, vertex, hemi = [], [], []
    n_time = None
    for h, p in paths.items():
        img = nib.load(p) if isinstance(p, (str, os.PathLike)) else p
        data = np.column_stack([d.data for d in img.darrays]).astype(np.float32)  # (V, T)
        if n_time is not None and data.shape[1] != n_time:
            raise ValueError(
                f"GIfTI {_name(p)} has {data.shape[1]} volumes but the other hemisphere has "
                f"{n_time}"
            )
        n_time = data.shape[1]
        blocks.append(data.T)
        vertex.append(np.arange(data.shape[0]))
        hemi += [h] * data.shape[0]
    return xr.DataArray(
        np.hstack(blocks),
        dims=("time", "voxel"),
        coords={
            "vertex": ("voxel", np.concatenate(vertex)),
            "hemi": ("voxel", hemi),
            **_time_coord(n_time, tr, t0),
        },
        name="bold",
        attrs={"space": space, "tr": float(tr)},
    )


def map_to_gifti(da: xr.DataArray, hemi: str, n_vertices: int | None = None, fill: float = np.nan):
    """One hemisphere of a ``(voxel,)`` / ``(atom, voxel)`` surface map as a GiftiImage.

    One float32 darray per atom; vertices missing from the map get ``fill``.
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


# ----------------------------------------------------------------------------- ROI tables


def bold_from_roi_table(
    table: str | os.PathLike[str] | pd.DataFrame | np.ndarray,
    *,
    tr: float,
    t0: float = 0.0,
    rois: list[str] | None = None,
    space: str = "roi",
) -> xr.DataArray:
    """ROI time courses (rows = volumes, columns = ROIs) as ``bold`` with a ``roi`` coord.

    Files are whitespace-separated numbers (names from ``rois``) or CSV/TSV with a header.
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


# ----------------------------------------------------------------------------- checks

_SPACE_COORDS = ("grayordinate", "i", "j", "k", "roi", "vertex", "hemi")


def check_same_space(
    a: xr.DataArray | xr.Dataset,
    b: xr.DataArray | xr.Dataset,
    names: tuple[str, str] = ("first", "second"),
) -> None:
    """Raise when two objects are not on the same voxels (space attr and voxel coords)."""
    sa, sb = a.attrs.get("space"), b.attrs.get("space")
    if sa is not None and sb is not None and sa != sb:
        raise ValueError(f"space mismatch: {names[0]} is in {sa!r} but {names[1]} is in {sb!r}")
    if a.sizes["voxel"] != b.sizes["voxel"]:
        raise ValueError(
            f"voxel mismatch: {names[0]} has {a.sizes['voxel']} voxels but {names[1]} has "
            f"{b.sizes['voxel']}"
        )
    for c in _SPACE_COORDS:
        if c in a.coords and c in b.coords and not np.array_equal(a[c].values, b[c].values):
            raise ValueError(f"voxel coordinate {c!r} differs between {names[0]} and {names[1]}")

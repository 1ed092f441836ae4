"""Build the ``bold`` DataArray every dataset loader returns, with its voxel coordinates.

All loaders return the same object so that later stages never depend on where the data
came from: a :class:`xarray.DataArray` named ``bold`` with dims ``(time, voxel)``, time in
seconds on the stimulus clock, and voxel coordinates that depend on the space:

* grayordinates (space ``"fsLR32k"``): ``grayordinate`` (int index into the 91,282 HCP
  grayordinates) and ``structure`` (CIFTI structure name, e.g. ``CIFTI_STRUCTURE_CORTEX_LEFT``, as
  nibabel's BrainModelAxis and :func:`analysis_lib.spaces.map_to_cifti` use;
  :data:`analysis_lib.spaces.HCP_STRUCTURE_NAMES` maps them to hcp-utils names);
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

# The space constants, names and coords live in analysis_lib.spaces; re-exported here for
# the loaders (and the callers that imported them from this module).
from ..spaces import (  # noqa: F401
    GRAYORDINATE_STRUCTURES,
    HCP_STRUCTURE_NAMES,
    N_GRAYORDINATES,
    grayordinate_coords,
    grayordinate_structures,
    volume_attrs,
    volume_coords,
)


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

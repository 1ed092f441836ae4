"""Checks that two objects live on the same voxels, and which kind of space they are in."""

from __future__ import annotations

import numpy as np
import xarray as xr


def space_kind(obj: xr.DataArray | xr.Dataset) -> str:
    """The kind of space of an object, from its voxel coords.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        With a ``voxel`` dim.

    Returns
    -------
    str
        ``"grayordinate"``, ``"volume"``, ``"surface"`` or ``"roi"``.

    Raises
    ------
    ValueError
        When the voxel dim has none of the coords of a known space.
    """
    if "grayordinate" in obj.coords:
        return "grayordinate"
    if all(c in obj.coords for c in ("i", "j", "k")):
        return "volume"
    if "vertex" in obj.coords and "hemi" in obj.coords:
        return "surface"
    if "roi" in obj.coords:
        return "roi"
    raise ValueError(
        "cannot tell the space of the data: its voxel dim has none of the coords "
        f"'grayordinate', 'i/j/k', 'vertex/hemi', 'roi' (found {sorted(obj.coords)})"
    )


_SPACE_COORDS = ("grayordinate", "i", "j", "k", "roi", "vertex", "hemi")


def check_same_space(
    a: xr.DataArray | xr.Dataset,
    b: xr.DataArray | xr.Dataset,
    names: tuple[str, str] = ("first", "second"),
) -> None:
    """Raise when two objects are not on the same voxels (space attr and voxel coords).

    Parameters
    ----------
    a, b : xarray.DataArray or xarray.Dataset
        Each with a ``voxel`` dim (sizes n_a and n_b).
    names : tuple of str
        Names of ``a`` and ``b`` in the message.

    Raises
    ------
    ValueError
        When the ``space`` attrs differ, the voxel counts differ or a shared voxel coord
        (``grayordinate``, ``i j k``, ``roi``, ``vertex``, ``hemi``) differs.

    Returns
    -------
    None
    """
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

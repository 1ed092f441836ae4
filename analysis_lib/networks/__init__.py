"""Functional brain network templates and atom-to-network correspondence.

Modules: :mod:`.atlases` (loading and explicit resampling of network atlases),
:mod:`.nulls` (spatial-autocorrelation-preserving null maps), :mod:`.correspondence`
(thresholding, Dice overlap, null p values, assignment).
"""

from __future__ import annotations

from .atlases import (
    ATLAS_NAMES,
    atlas_image,
    availability,
    load_atlas,
    network_table,
    read_label_table,
    resample_atlas,
    space_kind,
)
from .correspondence import correspondence, dice, maps_from_group, threshold_maps

__all__ = [
    "ATLAS_NAMES",
    "atlas_image",
    "availability",
    "correspondence",
    "dice",
    "load_atlas",
    "maps_from_group",
    "network_table",
    "read_label_table",
    "resample_atlas",
    "space_kind",
    "threshold_maps",
]

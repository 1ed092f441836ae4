"""Metrics of the two studies, as labeled xarray objects comparable across models.

Study A (:mod:`.organization`): atoms per network, within-network consistency, diversity
(effective number of atoms), balance index, layer distribution of sub-groups, R^2
distribution. Study B: prediction per network and functional redundancy
(:mod:`.redundancy`), polarity and layer trends (:mod:`.polarity`), modality selectivity
(:mod:`.modality`); what chance gives for redundancy and polarity (:mod:`.chance`).
:mod:`.compare` stacks results across models.
"""

from __future__ import annotations

from .chance import polarity_baseline, redundancy_baseline
from .compare import compare_models, comparison_table
from .modality import modality_selectivity, modality_summary
from .organization import (
    atoms_per_network,
    balance_index,
    consistency_baseline,
    diversity,
    effective_number,
    layer_distribution,
    mean_pairwise_correlation,
    r2_distribution,
    study_a_summary,
    subgroup_membership,
    within_network_consistency,
)
from .polarity import layer_trend, opposite_polarity_trends, polarity
from .redundancy import (
    atlas_labels,
    jaccard_matrix,
    map_jaccard,
    multi_atom_share,
    prediction_per_network,
    redundancy_summary,
    subgroup_jaccard,
)

__all__ = [
    "atlas_labels",
    "atoms_per_network",
    "balance_index",
    "compare_models",
    "comparison_table",
    "consistency_baseline",
    "diversity",
    "effective_number",
    "jaccard_matrix",
    "layer_distribution",
    "layer_trend",
    "map_jaccard",
    "mean_pairwise_correlation",
    "modality_selectivity",
    "modality_summary",
    "multi_atom_share",
    "opposite_polarity_trends",
    "polarity",
    "polarity_baseline",
    "prediction_per_network",
    "r2_distribution",
    "redundancy_baseline",
    "redundancy_summary",
    "study_a_summary",
    "subgroup_jaccard",
    "subgroup_membership",
    "within_network_consistency",
]

"""Stage ``metrics``: organisation metrics of one model from its atoms, group maps and networks.

:func:`metrics` thresholds the group maps exactly as the correspondence did (its recorded
``correction`` and ``threshold``) and computes :func:`analysis_lib.metrics.study_a_summary`,
:func:`analysis_lib.metrics.redundancy_summary` and
:func:`analysis_lib.metrics.atoms_per_network`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .params import StageParams, param, stage_provenance

CORRECTIONS = ("uncorrected", "fdr-param", "fdr", "fwe")


@dataclass(frozen=True)
class MetricsParams(StageParams):
    """Parameters of the metrics stage.

    The significance of the group maps is the correspondence's (read from its provenance);
    values given here must agree with it, so that the metrics describe the maps whose
    network assignments they summarise.
    """

    stage = "metrics"
    correction: str | None = param(
        None, "voxel p values (default: the correspondence's)", choices=CORRECTIONS
    )
    threshold: float | None = param(
        None,
        "voxel p threshold (default: the correspondence's)",
        minimum=0,
        maximum=1,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )


def atoms_digest(atoms) -> str:
    """The digest the encode stage records as ``input_atoms_sha256`` for these atoms."""
    from ..encoding.inputs import as_atoms
    from ..io import sha256_array

    return sha256_array(as_atoms(atoms).values)


def _significance(params: MetricsParams, corr) -> tuple[str, float]:
    recorded = {}
    if "params" in corr.attrs:
        recorded = json.loads(corr.attrs["params"])
    out = {}
    for key in ("correction", "threshold"):
        mine, theirs = getattr(params, key), recorded.get(key)
        if mine is not None and theirs is not None and mine != theirs:
            raise ValueError(
                f"metrics: {key} {mine!r} differs from the correspondence's {theirs!r}; the "
                "metrics must threshold the maps as the network assignment did"
            )
        out[key] = mine if mine is not None else theirs
        if out[key] is None:
            raise ValueError(f"metrics: the correspondence records no {key}; pass it")
    return str(out["correction"]), float(out["threshold"])


def significant_voxels(group, corr, params: MetricsParams | None = None):
    """The significant voxels of each atom map, as the network correspondence took them.

    The one definition of the voxel-level significant set shared by the correspondence,
    the metrics stage and every chapter (redundancy, polarity): the group maps thresholded
    with the correspondence's recorded ``correction`` and ``threshold``.

    Parameters
    ----------
    group : xarray.Dataset
        Group maps (the group stage).
    corr : xarray.Dataset
        The correspondence computed from them (the networks stage).
    params : MetricsParams, optional
        Explicit correction/threshold; they must agree with the correspondence's.

    Returns
    -------
    xarray.DataArray (atom, voxel) of -1/0/+1
    """
    from ..networks import maps_from_group, threshold_maps

    correction, threshold = _significance(params or MetricsParams(), corr)
    maps, pvalues = maps_from_group(group, correction)
    out = threshold_maps(maps, pvalues, threshold=threshold)
    out.attrs.update(correction=correction, threshold=threshold)
    return out


def metrics(params: MetricsParams, decomposition, group, corr, atlas):
    """Run the metrics stage.

    Parameters
    ----------
    params : MetricsParams
    decomposition : Dataset
        Output of the decompose stage (``atoms``, ``loadings``, ``r2``).
    group : Dataset
        Output of the group stage, fitted on these atoms.
    corr : Dataset
        Output of the networks stage on these group maps.
    atlas : Dataset
        The atlas of the correspondence, on the group's voxels.

    Returns
    -------
    xarray.Dataset
        Scalars ``consistency``, ``spatial_consistency``, ``diversity``,
        ``effective_number``, ``balance``, ``networks_covered``, ``assigned_share``,
        ``r2_median``, ``map_jaccard``, ``subgroup_jaccard``, ``multi_atom_share``; and
        ``atoms_per_network`` (network); attrs with the stage provenance.

    Raises
    ------
    ValueError
        Group maps fitted on other atoms than ``decomposition`` (by their digest), or a
        correction/threshold other than the correspondence's.
    """
    from .. import metrics as m
    from ..networks import maps_from_group

    digest = atoms_digest(decomposition)
    recorded = group.attrs.get("input_atoms_sha256")
    if recorded and recorded != digest:
        raise ValueError(
            f"metrics: the group maps were fitted on other atoms (sha256 {recorded[:12]}...) "
            f"than this decomposition ({digest[:12]}...)"
        )
    correction, threshold = _significance(params, corr)
    maps, _ = maps_from_group(group, correction)
    significant = significant_voxels(group, corr, params)
    summary = m.study_a_summary(decomposition["atoms"], maps, corr, decomposition)
    summary = summary.merge(m.redundancy_summary(significant, decomposition["loadings"], atlas))
    counts = m.atoms_per_network(corr)
    summary["atoms_per_network"] = counts
    resolved = params.replace(correction=correction, threshold=threshold)
    summary.attrs.update(stage_provenance(resolved, atoms=digest))
    summary.attrs["n_unassigned"] = int(counts.attrs["n_unassigned"])
    for key in ("model", "atlas"):
        if corr.attrs.get(key):
            summary.attrs[key] = corr.attrs[key]
    return summary

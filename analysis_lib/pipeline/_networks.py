"""Stage ``networks``: atom-to-network correspondence of the group maps.

:func:`networks` thresholds the group maps, computes the Dice overlap of each atom map with
every network of an atlas, its spatial-null p value and, with the subject encodings, the
network-level group test (:func:`analysis_lib.networks.correspondence`).

The defaults are the validated ones (``python -m analysis_lib validate``, the book's
"Validation on simulated data"): voxels at ``uncorrected`` parametric p < 0.01 and the
network-level test from the subject betas, combined with the spatial null by the larger p.
The stricter ``fdr-param`` voxel threshold kept too few grayordinates on the phantom for
any assignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .checks import check_group_and_subjects, check_group_result, load_named, subject_id
from .params import StageParams, param, stage_provenance

CORRECTIONS = ("uncorrected", "fdr-param", "fdr", "fwe")
SIGNS = ("both", "positive", "negative", "abs")


@dataclass(frozen=True)
class NetworksParams(StageParams):
    """Parameters of the correspondence stage (see ``analysis_lib.networks.correspondence``)."""

    stage = "networks"
    atlas: str = param("cole-anticevic", "atlas name or label image path")
    correction: str = param(
        "uncorrected",
        "p values that threshold the maps: the group's parametric p (uncorrected, "
        "validated), BH of them (fdr-param), the sign-flip qvalue (fdr) or pvalue_fwe (fwe)",
        choices=CORRECTIONS,
    )
    threshold: float = param(
        0.01,
        "voxel p threshold, in (0, 1)",
        minimum=0,
        maximum=1,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )
    sign: str = param("both", "which significant voxels enter Dice", choices=SIGNS)
    n_perm: int = param(1000, "spatial-null maps (smallest p 1 / (n_perm + 1))", minimum=0)
    null: str = param("auto", "spatial null", choices=("auto", "spin", "phase"))
    subcortex: str = param(
        "exclude", "voxels a spin cannot rotate: drop or keep fixed", choices=("exclude", "fixed")
    )
    alpha_assign: float = param(
        0.05,
        "BH level of p_fdr for assigning an atom, in (0, 1)",
        minimum=0,
        maximum=1,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )
    seed: int = param(0, "seed of the spatial null")


def networks(
    params: NetworksParams,
    group,
    subjects: Sequence[Any] | None = None,
    *,
    atlas=None,
    labels: str | None = None,
    group_name: str = "group maps",
    progress: bool = False,
):
    """Run the correspondence stage.

    Parameters
    ----------
    params : NetworksParams
    group : Dataset or path
        Output of the group stage.
    subjects : list of Datasets or paths, optional
        The subject encodings the group maps came from: each (atom, network) pair is then
        also tested at the network level (the validated setting).
    atlas : Dataset, optional
        An atlas already on the group's voxels (default: ``load_atlas(params.atlas)``).
    labels : str, optional
        Label table of a user NIfTI atlas.
    group_name : str
        What to call the group maps in messages (default: their path when given one).
    progress : bool

    Returns
    -------
    xarray.Dataset
        ``dice``, ``p``, ``p_fdr``, ``p_spatial``, ``assignment``, ``coverage`` ... as
        :func:`~analysis_lib.networks.correspondence`, with the stage provenance
        (``input_group_sha256``: digest of the group's ``tstat`` maps;
        ``input_atoms_sha256``).

    Raises
    ------
    ValueError
        ``group`` is not a group result (e.g. a single-subject encoding); subject
        encodings that disagree with each other or with the group maps.
    """
    from ..encoding import subject_maps
    from ..io import read_netcdf
    from ..networks import correspondence, load_atlas

    if not hasattr(group, "attrs"):
        group_name = str(group)
        group = read_netcdf(group)
    check_group_result(group_name, group)
    betas = None
    if subjects:
        named = load_named(subjects)
        check_group_and_subjects(group_name, group, named)
        betas = subject_maps([ds.assign_attrs(subject=subject_id(n, ds)) for n, ds in named])
    if atlas is None:
        atlas = load_atlas(params.atlas, like=group, labels=labels)
    result = correspondence(
        group,
        atlas,
        threshold=params.threshold,
        correction=params.correction,
        sign=params.sign,
        n_perm=params.n_perm,
        seed=params.seed,
        null=params.null,
        subcortex=params.subcortex,
        alpha_assign=params.alpha_assign,
        subject_maps=betas,
        progress=progress,
    )
    detail = result.attrs.pop("params")
    # correspondence's input_maps_sha256 is the digest of the group's tstat
    digests = {"group": result.attrs.pop("input_maps_sha256")}
    if group.attrs.get("input_atoms_sha256"):
        digests["atoms"] = group.attrs["input_atoms_sha256"]
    result.attrs.update(stage_provenance(params, **digests))
    result.attrs["correspondence_params"] = detail
    result.attrs["tests"] = "spatial+network" if betas is not None else "spatial"
    for key in ("dataset", "model"):
        if group.attrs.get(key):
            result.attrs[key] = group.attrs[key]
    return result

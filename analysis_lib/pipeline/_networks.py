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

import numpy as np

from ..networks.correspondence import RULES
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
    rule: str = param(
        "spatial+network",
        "significant set: max(p_spatial, p_network) (spatial+network), the network-level "
        "group test (network) or the temporal null of shifted atoms (network-shift, needs "
        "the atoms and BOLD), the last two with the effect bound min_r; the default needs "
        "no BOLD, the book's grid and validate run the calibrated network-shift "
        "(analysis_lib.networks.rules.CALIBRATED_RULE)",
        choices=RULES,
    )
    min_r: float = param(
        0.0,
        "smallest effect of a significant pair: |network_r| (rule network) or |network_b| "
        "(rule network-shift)",
        minimum=0,
        maximum=1,
    )
    n_shift: int = param(
        500, "circular shifts of the temporal null (rule network-shift)", minimum=2
    )
    shift_fit: str = param(
        "marginal",
        "statistic of the temporal null: each atom alone (marginal) or all atoms in one fit",
        choices=("marginal", "joint"),
    )


def _check_bold_digests(named, bold) -> None:
    """Each BOLD must be the one its subject's encoding was fitted on (its recorded digest)."""
    from ..encoding.core import as_bold
    from ..io import sha256_array

    for (name, ds), b in zip(named, bold, strict=True):
        want = ds.attrs.get("input_bold_sha256")
        if not want:
            continue
        got = sha256_array(np.asarray(as_bold(b).values))
        if got != want:
            raise ValueError(
                f"{name}: the BOLD given for the network-shift rule is not the BOLD this "
                f"encoding was fitted on (digest {got[:12]}, recorded {want[:12]}); pass "
                "each subject's own BOLD, in the order of the subjects"
            )


def networks(
    params: NetworksParams,
    group,
    subjects: Sequence[Any] | None = None,
    *,
    atlas=None,
    labels: str | None = None,
    group_name: str = "group maps",
    atoms=None,
    bold=None,
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
    atoms : DataArray (time, atom), optional
        The atoms the subjects were fitted on (``rule="network-shift"``).
    bold : list of DataArray (time, voxel), optional
        The subjects' BOLD, in the order of ``subjects`` (``rule="network-shift"``).
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
    betas = r = None
    if subjects:
        named = load_named(subjects)
        check_group_and_subjects(group_name, group, named)
        ids = [ds.assign_attrs(subject=subject_id(n, ds)) for n, ds in named]
        betas = subject_maps(ids)
        if params.rule == "network":  # its effect size: partial r from tstat and dof
            r = subject_partial_r(named, subject_maps(ids, variable="tstat"))
    elif params.rule != "spatial+network":
        raise ValueError(
            f"rule={params.rule!r} needs the subject encodings of {group_name}; pass "
            "subjects, or use rule='spatial+network'"
        )
    drift = {}
    if params.rule == "network-shift":
        if atoms is None or bold is None:
            raise ValueError(
                "rule='network-shift' needs the atoms and the subjects' BOLD (atoms=, bold=): "
                "its null refits the network-mean BOLD on circularly shifted atoms"
            )
        if len(bold) != len(named):
            raise ValueError(f"bold holds {len(bold)} subjects, subjects {len(named)}")
        _check_bold_digests(named, bold)
        drift = encoding_drift(named)
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
        subject_r=r,
        rule=params.rule,
        min_r=params.min_r,
        atoms=atoms if params.rule == "network-shift" else None,
        bold=list(bold) if params.rule == "network-shift" else None,
        n_shift=params.n_shift,
        shift_fit=params.shift_fit,
        **drift,
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


def subject_partial_r(named: Sequence[tuple[str, Any]], tstat):
    """Per-subject partial correlations ``t / sqrt(t^2 + dof)`` (subject, atom, voxel).

    Parameters
    ----------
    named : list of (name, Dataset)
        The subject encodings (each with its ``dof`` attr).
    tstat : DataArray (subject, atom, voxel)
        Their stacked ``tstat`` maps (:func:`analysis_lib.encoding.subject_maps`).

    Returns
    -------
    DataArray (subject, atom, voxel)
    """
    from ..networks.correspondence import partial_r

    out = tstat.copy(data=np.zeros(tstat.shape, np.float32))
    for i, (name, ds) in enumerate(named):
        if "dof" not in ds.attrs:
            raise ValueError(
                f"subject encoding {name} has no 'dof' attr (written by the encode stage); "
                "re-run encode"
            )
        out[i] = partial_r(tstat.values[i], float(ds.attrs["dof"]))
    out.name = "subject_partial_r"
    out.attrs.update(long_name="partial correlation of atom and BOLD", units="1")
    return out


def encoding_drift(named: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """The drift model and cut-off the subject encodings were fitted with (one for all)."""
    import json

    seen = set()
    for name, ds in named:
        try:
            p = json.loads(ds.attrs["fit_params"])
            seen.add((p["drift_model"], float(p["high_pass"])))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"subject encoding {name}: no drift_model/high_pass in its 'fit_params' attr "
                "(written by the encode stage)"
            ) from err
    if len(seen) != 1:
        raise ValueError(f"the subject encodings were fitted with different drift models: {seen}")
    model, high_pass = seen.pop()
    return {"drift_model": model, "high_pass": high_pass}


def subject_bold(subjects: Sequence[Any], dataset: str | None = None) -> list:
    """Each subject's BOLD, as its encoding recorded it (for ``rule="network-shift"``).

    Parameters
    ----------
    subjects : list of Datasets or paths
        Subject encodings written by :func:`analysis_lib.pipeline.encode` (attrs
        ``subject`` and ``dataset``).
    dataset : str, optional
        Load from this dataset instead of the one each encoding records.

    Returns
    -------
    list of xarray.DataArray (time, voxel)
        :func:`analysis_lib.datasets.load` of each subject, in order; :func:`networks`
        checks each against its encoding's ``input_bold_sha256``.

    Raises
    ------
    ValueError
        An encoding records no subject, or no dataset and none is given.
    """
    from .. import datasets

    out = []
    for name, ds in load_named(subjects):
        source = dataset or ds.attrs.get("dataset")
        subject = ds.attrs.get("subject")
        if not source or not subject:
            raise ValueError(
                f"{name}: records no dataset or subject (attrs written by the encode stage); "
                "pass the dataset"
            )
        out.append(datasets.load(source, subject))
    return out

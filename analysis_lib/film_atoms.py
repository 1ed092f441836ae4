"""Stage ``film-atoms``: a text model's atoms on real whole-brain movie data (Partly Cloudy).

The film has no dialogue, so what a text model can be given is the **text of its annotated
events** (19 one-line descriptions such as "Stork returns to Gus"), each on the scan clock
(:attr:`analysis_lib.datasets.partly_cloudy.EventStimulus.texts`; volumes outside every
event get the empty text). The stage runs the project's stages, unchanged, on these data:

1. :func:`analysis_lib.pipeline.extract` (stimulus ``partly-cloudy``, the model's text
   branch; cached), then :func:`analysis_lib.pipeline.decompose` into ``n_atoms`` atoms;
2. :func:`analysis_lib.pipeline.encode` per subject (the atoms as fixed regressors of each
   of the 293 regions) and :func:`analysis_lib.pipeline.group` over every subject;
3. :func:`analysis_lib.networks.parcels.parcel_correspondence`: the group maps, thresholded
   as the ``networks`` stage thresholds them (parametric group p < ``threshold``), against
   the 8 Shen/Finn networks (268 cortical, subcortical and cerebellar parcels; the 25 extra
   nuclei carry no Shen network and are left out), with a spatial null that keeps each
   map's autocorrelation over the parcel centroids (what chance Dice gives) and, for the
   significant set, the calibrated rule of the grid (``rule="network-shift"``: each
   subject's network-mean BOLD refitted on circularly shifted atoms, with the effect bound
   of :data:`analysis_lib.networks.rules.CALIBRATED_RULE`);
4. the **unique variance** of the atoms over the event-type model (mental, social, pain,
   control; HRF-convolved): held-out R^2 of the event model and of event model + atoms
   (:func:`analysis_lib.comparison.nested.held_out_r2`, blocked CV with a gap, himalaya
   ridge with penalties chosen in inner folds; ``full_model="banded"`` for one penalty per
   band), per subject and region; per network the group mean of dR^2 with a
   bootstrap 95 % interval over subjects, a sign-flip p value and Holm's correction over
   networks.

The atoms can carry no more than the descriptions do: at most as many distinct TR texts as
there are distinct event combinations (the result records it as ``n_texts``), so the atom
count defaults to 8, not the 64 of a story. Run a random-weight model (``tiny-bert``,
``tiny-llama``) the same way for the control. Example::

    python -m analysis_lib film-atoms --model minilm --json
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .networks.rules import CALIBRATED_RULE
from .pipeline._networks import NetworksParams
from .pipeline.params import StageParams, param, stage_provenance

DATASETS = ("partly-cloudy",)
#: Ridge penalties searched by the held-out dR^2 (inner folds): every other value of the
#: Alice comparison's grid (``comparison.nested``), enough for a dozen regressors.
ALPHAS = np.logspace(-2, 6, 9)
#: The networks stage's defaults: the parcel threshold, the p values it applies to and the
#: assignment level are the same here (one definition of the significant set).
_NETWORKS = NetworksParams.defaults()
#: Dims of the per-network summaries.
NET = "network"


@dataclass(frozen=True)
class FilmAtomsParams(StageParams):
    """Parameters of the ``film-atoms`` stage (see the module docstring)."""

    stage = "film-atoms"
    model: str = param("minilm", "registered text model (its text branch is used)")
    dataset: str = param("partly-cloudy", "real movie dataset", choices=DATASETS)
    subjects: tuple[str, ...] | None = param(None, "subject ids (default: every subject)")
    n_atoms: int = param(8, "number of atoms K", minimum=1)
    alpha: float = param(0.1, "L1 penalty of the decomposition", minimum=0)
    threshold: float = param(
        _NETWORKS["threshold"],
        "parcel p threshold of the group maps (the networks stage's)",
        minimum=0,
        maximum=1,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )
    null: str = param("moran", "spatial null of the parcels", choices=("moran", "variogram"))
    # 8 atoms x 8 networks = 64 pairs: BH can pass a lone true pair only if its p is below
    # 0.05 / 64, which needs more than 1,280 surrogates (p >= 1 / (n_perm + 1))
    n_perm: int = param(2000, "spatial-null surrogates per atom map", minimum=0)
    group_perm: int = param(1000, "sign-flip permutations of the group stage", minimum=1)
    alpha_assign: float = param(
        _NETWORKS["alpha_assign"],
        "BH level for assigning an atom to a network (the networks stage's)",
        minimum=0,
        maximum=1,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )
    rule: str = param(
        CALIBRATED_RULE["rule"],
        "significant set: the calibrated rule (network shift test) or the former "
        "spatial+network (the larger of the spatial and subject-level network p)",
        choices=("network-shift", "spatial+network"),
    )
    min_r: float = param(
        CALIBRATED_RULE["min_r"], "effect bound |network_b| of the network-shift rule", minimum=0
    )
    n_shift: int = param(500, "circular shifts of the network shift test", minimum=20)
    n_folds: int = param(5, "outer folds of the held-out dR^2", minimum=2)
    gap: int = param(15, "volumes left out on each side of a test block (12 s)", minimum=0)
    full_model: str = param(
        "ridge",
        "full model of the dR^2: one ridge penalty (fast) or himalaya's banded ridge",
        choices=("ridge", "banded"),
    )
    seed: int = param(0, "seed of the decomposition, nulls and searches")
    device: str = param("cpu", "torch device")
    n_jobs: int = param(1, "subjects of the dR^2 fitted in parallel (processes)", minimum=1)


def _encoding_nuisance(result: xr.Dataset, frame_times: np.ndarray) -> np.ndarray:
    """The drift basis and constant the subject encoding was fitted with."""
    from .encoding.design import drift_regressors
    from .pipeline._encode import fit_params

    p = fit_params(result)
    return drift_regressors(frame_times, p["drift_model"], float(p["high_pass"])).to_numpy()


def _network_labels(bold: xr.DataArray) -> np.ndarray:
    """Shen network name of each region; "" for the nuclei outside the Shen atlas."""
    atlas = bold["atlas"].values.astype(str)
    names = bold["network_name"].values.astype(str)
    return np.where(atlas == "shen268", names, "")


def _network_summary(dr2: np.ndarray, labels: np.ndarray, names: np.ndarray, seed: int):
    """Per-network group mean of dR^2 (subject, region), interval, sign-flip p, Holm."""
    from .comparison.stats import bootstrap_ci, holm, sign_flip_pvalue

    per_subject = np.column_stack(
        [np.nanmean(dr2[:, labels == n], axis=1) for n in names]
    )  # (subject, network)
    mean = per_subject.mean(0)
    ci = np.array([bootstrap_ci(per_subject[:, j], seed=seed) for j in range(len(names))])
    p = np.array([sign_flip_pvalue(per_subject[:, j], seed=seed) for j in range(len(names))])
    return per_subject, mean, ci, p, holm(p)


def _held_out(y, base, x_atoms, nuisance, params: FilmAtomsParams):
    """Held-out R^2 of the event model and of events + atoms, one subject (time, voxel)."""
    from .comparison.nested import held_out_r2

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="himalaya")
        rb, rf = held_out_r2(
            y,
            base,
            {"atoms": x_atoms},
            nuisance,
            n_folds=params.n_folds,
            gap=params.gap,
            seed=params.seed,
            alphas=ALPHAS,
            scaling="run",  # sparse events: see held_out_r2
            full=params.full_model,
        )
    return rb, rf["atoms"]


def film_atoms(
    params: FilmAtomsParams,
    *,
    bold: xr.DataArray | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Run the ``film-atoms`` stage.

    Parameters
    ----------
    params : FilmAtomsParams
    bold : DataArray (subject, time, voxel), optional
        The subjects' regional time series (default: loaded for ``params.subjects`` or every
        subject present, :func:`analysis_lib.isc.load_dataset_group`).
    progress : bool

    Returns
    -------
    xarray.Dataset
        ``atoms`` (time, atom); ``tstat``, ``pvalue`` (atom, voxel: the group maps);
        the correspondence of
        :func:`~analysis_lib.networks.parcels.parcel_correspondence` (``dice``, ``p``,
        ``p_fdr``, ``null_mean``, ``polarity`` ... (atom, network), ``assignment`` (atom));
        ``r2_events``, ``r2_full``, ``dr2`` (subject, voxel); ``dr2_network`` (subject,
        network), ``dr2_mean``, ``dr2_ci_low``, ``dr2_ci_high``, ``dr2_p``, ``dr2_p_holm``
        (network); attrs ``model``, ``n_texts``, ``n_subjects`` and the stage provenance.
    """
    from .datasets import partly_cloudy as pc
    from .encoding import subject_maps
    from .event_model import event_regressors
    from .isc import load_dataset_group
    from .networks.correspondence import maps_from_group
    from .networks.parcels import parcel_correspondence
    from .pipeline import (
        DecomposeParams,
        EncodeParams,
        ExtractParams,
        GroupParams,
        decompose,
        encode,
        extract,
        group,
    )

    params.check()
    if bold is None:
        bold, _, _ = load_dataset_group(params.dataset, list(params.subjects or []) or None)
    subjects = [str(s) for s in bold["subject"].values]
    if len(subjects) < 2:
        raise ValueError(f"film-atoms: needs at least 2 subjects, got {len(subjects)}")
    stim = pc.stimulus()
    responses = extract(
        ExtractParams(model=params.model, stimulus=params.dataset, device=params.device),
        cache=True,
        progress=progress,
    )
    dec = decompose(
        DecomposeParams(
            n_atoms=params.n_atoms, alpha=params.alpha, seed=params.seed, device=params.device
        ),
        responses,
        progress=progress,
    )
    atoms = dec["atoms"]
    enc_params = EncodeParams(n_perm=0, cv=0, seed=params.seed, device=params.device)
    results = []
    for s in subjects:
        one = bold.sel(subject=s).drop_vars("subject")
        one.attrs.update(subject=s, dataset=params.dataset)
        results.append(encode(enc_params, dec, one, subject=s, dataset=params.dataset))
    grp = group(
        GroupParams(n_perm=params.group_perm, seed=params.seed, device=params.device), results
    )
    tstat, pvalue = maps_from_group(grp, _NETWORKS["correction"])
    labels = _network_labels(bold)
    xyz = np.column_stack([bold[c].values for c in ("x", "y", "z")]).astype(float)
    corr = parcel_correspondence(
        tstat,
        pvalue,
        labels,
        xyz,
        threshold=params.threshold,
        null=params.null,
        n_perm=params.n_perm,
        seed=params.seed,
        alpha_assign=params.alpha_assign,
        subject_maps=subject_maps(results),
        rule=params.rule,
        min_r=params.min_r if params.rule == "network-shift" else 0.0,
        atoms=np.asarray(atoms.transpose("time", "atom").values, float),
        bold=np.asarray(bold.transpose("subject", "time", "voxel").values, float),
        nuisance=_encoding_nuisance(results[0], stim.volume_times),
        n_shift=params.n_shift,
        shift_fit=CALIBRATED_RULE["shift_fit"],
    )

    # unique variance of the atoms over the event-type model, held out
    base = event_regressors(stim.events, stim.volume_times).values
    x_atoms = np.asarray(atoms.transpose("time", "atom").values, float)
    nuisance = np.ones((stim.n_volumes, 1))
    from joblib import Parallel, delayed

    values = np.asarray(bold.transpose("subject", "time", "voxel").values, float)
    jobs = (
        delayed(_held_out)(values[i], base, x_atoms, nuisance, params)
        for i in range(len(subjects))
    )
    fits = list(Parallel(n_jobs=params.n_jobs)(jobs))
    r2_base = np.stack([b for b, _ in fits])
    r2_full = np.stack([f for _, f in fits])
    dr2 = r2_full - r2_base
    names = corr["network"].values.astype(str)
    per_subject, mean, ci, p, p_holm = _network_summary(dr2, labels, names, params.seed)

    sv, sn = ("subject", "voxel"), ("subject", NET)
    ds = corr.copy()
    ds["atoms"] = atoms
    ds["tstat"] = tstat.rename("tstat")
    ds["pvalue"] = pvalue.rename("pvalue")
    ds["r2_events"] = (sv, r2_base, {"long_name": "held-out R^2 of the event-type model"})
    ds["r2_full"] = (sv, r2_full, {"long_name": "held-out R^2 of events + atoms"})
    ds["dr2"] = (sv, dr2, {"long_name": "unique variance of the atoms (dR^2)"})
    ds["dr2_network"] = (sn, per_subject, {"long_name": "dR^2 averaged over the network"})
    ds["dr2_mean"] = (NET, mean, {"long_name": "group mean of dR^2 over subjects"})
    ds["dr2_ci_low"] = (NET, ci[:, 0], {"long_name": "bootstrap 95% interval, low"})
    ds["dr2_ci_high"] = (NET, ci[:, 1], {"long_name": "bootstrap 95% interval, high"})
    ds["dr2_p"] = (NET, p, {"long_name": "sign-flip p over subjects (two-sided)"})
    ds["dr2_p_holm"] = (NET, p_holm, {"long_name": "Holm-corrected over networks"})
    ds = ds.assign_coords(subject=subjects)
    for c in ("region", "roi", "atlas", "network_name", "x", "y", "z"):
        if c in bold.coords:
            ds = ds.assign_coords({c: ("voxel", bold[c].values)})
    ds.attrs.update(
        title=f"{params.model} atoms of the Partly Cloudy events on 293 regions",
        model=params.model,
        dataset=params.dataset,
        n_subjects=len(subjects),
        n_texts=len(set(stim.texts)),
        correspondence_params=corr.attrs.get("params", ""),
        **stage_provenance(params),
    )
    return ds


def cached_film_atoms(params: FilmAtomsParams, *, progress: bool = False) -> xr.Dataset:
    """:func:`film_atoms` with a result cache in ``$ANALYSIS_LIB_DATA/cache/film-atoms``.

    The key is the parameters, the digest of the library code the stage imports and the
    subjects' time-series files (names and sizes), so the CLI and the book share it.

    Parameters
    ----------
    params : FilmAtomsParams
    progress : bool

    Returns
    -------
    xarray.Dataset
        What :func:`film_atoms` returns.
    """
    from .codehash import code_digest
    from .datasets import partly_cloudy as pc
    from .io import cache_lock, read_cache, write_netcdf
    from .paths import data_home

    ids = list(params.subjects) if params.subjects else pc.subjects()
    files = [pc.timeseries_file(s) for s in ids]
    payload = {
        "params": {k: v for k, v in params.as_dict().items() if k != "n_jobs"},
        "code": code_digest([__name__]),
        "files": [(f.name, f.stat().st_size) for f in files],
        "events": pc.stimulus().sha256,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=list).encode())
    path = data_home() / "cache" / "film-atoms" / f"{digest.hexdigest()[:32]}.nc"
    cached = read_cache(path)
    if cached is not None:
        return cached
    with cache_lock(path):  # parallel pages of the book compute it once
        cached = read_cache(path)
        if cached is None:
            write_netcdf(film_atoms(params, progress=progress), path)
            cached = read_cache(path)
    return cached


#: Pretrained text models of the book's chapter, each with the random-weight model of its
#: family that is run the same way as the control (Qwen where its weights are prepared).
#: The tiny models trained on the synthetic movie world (text branch: RoBERTa, CLIP's text
#: tower) are run next to their untrained twins where they have been trained.
BOOK_MODELS: tuple[tuple[str, str], ...] = (
    ("minilm", "tiny-bert"),
    ("smollm2", "tiny-llama"),
    ("qwen2.5-0.5b", "tiny-llama"),
    ("qwen2.5-1.5b", "tiny-llama"),
    ("tiny-roberta-trained", "tiny-roberta"),
    ("tiny-clip-trained", "tiny-clip"),
)


def _present(model: str) -> bool:
    from .models import get_spec, is_available

    kind = get_spec(model).kind
    if kind == "trained":
        from .training import is_trained

        return is_trained(model)
    return kind != "split-gguf" or is_available(model)


def book_models() -> list[str]:
    """Models of the chapter, in order, each once: the pretrained (or trained) ones whose
    weights are here, then their random-weight controls."""
    pretrained = [m for m, _ in BOOK_MODELS if _present(m)]
    controls = [c for m, c in BOOK_MODELS if m in pretrained]
    return list(dict.fromkeys(pretrained + controls))


def summary_table(results: dict[str, xr.Dataset], alpha: float = 0.05):
    """One row per model: atoms matched to a network, chance Dice, unique variance.

    Parameters
    ----------
    results : dict of str -> Dataset
        :func:`film_atoms` results by model name.
    alpha : float
        Level of the Holm-corrected dR^2 test.

    Returns
    -------
    pandas.DataFrame
        Index model; columns ``random weights`` (bool), ``atoms``, ``atoms assigned``,
        ``networks`` (assigned, comma-joined), ``best Dice``, ``chance Dice`` (the mean
        null Dice of that same pair), ``dR2 mean`` (over networks), ``networks dR2 > 0``
        (Holm p < alpha, positive mean).
    """
    import pandas as pd

    from .models import get_spec

    rows = {}
    for model, ds in results.items():
        assigned = [str(a) for a in ds["assignment"].values if str(a) != "none"]
        flat = int(np.nanargmax(ds["dice"].values))
        a, n = np.unravel_index(flat, ds["dice"].shape)
        positive = ds["network"].values[
            (ds["dr2_p_holm"].values < alpha) & (ds["dr2_mean"].values > 0)
        ]
        rows[model] = {
            "random weights": get_spec(model).kind == "tiny",
            "atoms": int(ds.sizes["atom"]),
            "atoms assigned": len(assigned),
            "networks": ", ".join(sorted(set(assigned))) or "none",
            "best Dice": float(ds["dice"].values[a, n]),
            "chance Dice": float(ds["null_mean"].values[a, n]),
            "dR2 mean": float(ds["dr2_mean"].mean()),
            "networks dR2 > 0": ", ".join(map(str, positive)) or "none",
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")

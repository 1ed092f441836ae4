"""End-to-end validation of the pipeline on the simulated phantoms (known ground truth).

Two checks live here. :func:`validate_content` (``python -m analysis_lib validate``) is the
validation that can fail (issue 14): the independent ``phantom-content``
(:mod:`analysis_lib.datasets.phantom_content`), the book's Study A settings
(:data:`STUDY_A`), truth fixed before scoring and precision, recall and F1 of (atom,
network) pairs with the null false-positive rate (:mod:`analysis_lib.validation_score`),
negative controls (:func:`timing_atoms`, :func:`shifted_atoms`, random-weight models) and
held-out noise seeds (:data:`HELDOUT_SEEDS`); with ``study="b"`` the same on the movie
phantom ``phantom-movie-content`` with the book's Study B settings (:data:`STUDY_B`,
:data:`STUDIES`). :func:`run_validation`, described below, is
the former check on ``phantom-simple`` (= ``phantom-story``), kept for comparison
(``validate --phantom simple``).

:func:`run_validation` runs the pipeline's stages (:mod:`analysis_lib.pipeline`: extract,
decompose, encode, group and networks, with their defaults except where noted) on
``phantom-story`` and on ``phantom-null`` (SIMULATED data, see
:mod:`analysis_lib.datasets.phantom`) and scores the result.

Recovery
--------
The phantom plants network time courses ``s_n(t)`` (``network_timecourse`` of the ground
truth, unit variance) built from stimulus features. The pipeline's atoms ``d_k(t)`` are
whatever the model's artificial neurons carry, so the *planted structure in atom terms* is
the least-squares regression of each planted course on the z-scored atoms **in the
encoding model's own design**, i.e. with the same nuisance regressors that
:func:`~analysis_lib.encoding.fit_encoding` adds (the cosine drift basis with cut-off
``high_pass`` = 0.01 Hz and the constant, ``N(t)``):

.. math:: s_n = \\sum_k B_{kn} z(d_k) + N \\gamma_n + \\varepsilon_n .

``B[k, n]`` is then exactly the noise-free subject beta of atom ``k`` in a voxel of
network ``n``, in units of that voxel's signal loading: ``fit_encoding`` run on the planted
signal (``phantom-story`` minus ``phantom-null``) gives betas proportional to ``B[:, n]``
voxel by voxel (``tests/test_networks_validation.py``). The drift regressors matter: the
GLM removes what atoms and planted courses share below 0.01 Hz, and model atoms carry much
of their variance there. The earlier definition, a regression on the atoms and an
intercept alone, described a beta that the pipeline never estimates: it left part of each
driven network's beta pattern unexplained (none with the drift) and ranked the networks of
several atoms differently from their actual betas, which made correct assignments count as
failures (``tests/test_networks_validation.py`` checks the definition; the recovery it
gives is in ``benchmarks/results/validate_phantom.json``).

Atom ``k`` is *planted* in the networks ``P_k = {n : |B_kn| >= b_min}`` (default
``b_min = 0.3``). Then

.. math:: \\text{recovery} = \\frac{\\#\\{k : P_k \\neq \\emptyset,\\ \\text{assignment}(k) \\in P_k\\}}
   {\\#\\{k : P_k \\neq \\emptyset\\}} .

A stricter score, ``recovery_dominant``, counts a planted atom only when it is assigned
to the network where ``|B_kn|`` is largest (networks whose planted courses are identical
up to sign, such as Default and Dorsal-attention in the story phantom, tie exactly and
all count). Ranking the networks of one atom by its unique variance ``B_kn^2 (1 - R_k^2)``
(``R_k^2``: atom ``k`` on the other atoms and the nuisance) gives the same order as
``|B_kn|``, so the choice between the two only changes which atoms pass ``b_min``.

With ``atoms="oracle"`` the atoms are the phantom's own features (no model), which checks
encoding, group inference and correspondence alone.

Null
----
``null_significant_fraction`` is the share of (atom, network) overlaps with ``p < 0.05``
on ``phantom-null`` (the correspondence's p: spatial null and network-level test, the
larger; at most 0.05 when the test is calibrated), and
``null_significant_fraction_spatial_only`` the same share with the spatial-null p alone;
``null_assigned_fraction`` the share of atoms assigned to any network after BH correction
(expected near 0).

What the spatial null does and does not control: it asks whether a thresholded map lines up
with a network better than maps of the same spatial structure placed at random. The
phantom's noise holds *network-shaped* intrinsic fluctuations (unrelated to the stimulus,
independent across subjects); with few subjects their group mean leaves network-wide
offsets, so a lenient voxel threshold (``uncorrected``, p < 0.01) keeps voxels concentrated
in such a network, and the spatial null rightly calls that map aligned with the network
although it is not stimulus-driven. So the correspondence also tests each pair at the
network level, from the subject betas (:func:`analysis_lib.networks.correspondence` with
``subject_maps``): a one-sample t test across subjects of the beta averaged over the
network, which intrinsic fluctuations independent across subjects cannot fool; the former
book rule (``rule="spatial+network"``) takes the larger of the two p values. Subjects are
not the right random unit for a shared stimulus, though: a chance correlation of an atom
with the stimulus-driven response is the same in every subject, so random atoms pass that
test (the negative controls of ``validate_content_network.json`` and the partial null of
:func:`analysis_lib.calibration.partial_null` on real BOLD). The calibrated rule
(:data:`CALIBRATED_RULE`, ``rule="network-shift"``), the book grid's since issue 14, refits
every subject's network-mean BOLD on circularly shifted atoms and asks for an effect of at
least :data:`MIN_R`, chosen on the tuning seeds.

No measured rate is typed here: the null fractions, recoveries and F1 of each rule, seed and
atom set are in the records ``benchmarks/results/validate_phantom.json`` (this check),
``validate_rules.json`` (three p values, tuning seeds), ``validate_tune.json`` (the effect
bound, tuning seeds) and ``validate_content_*.json`` (held-out seeds), rendered on the
book's page "Validation on simulated data".
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import xarray as xr

from .networks.rules import CALIBRATED_RULE
from .networks.rules import TUNED_RULES as TUNED_RULES  # re-exported (validate CLI, tests)

NOMINAL = 0.05
#: Drift model and cut-off (Hz) of the subject GLMs, shared by :func:`group_maps` and
#: :func:`planted_coefficients` so that the planted betas are those the GLM estimates.
DRIFT_MODEL = "cosine"
HIGH_PASS = 0.01


def planted_coefficients(
    atoms: xr.DataArray,
    truth: xr.Dataset,
    *,
    drift_model: str | None = DRIFT_MODEL,
    high_pass: float = HIGH_PASS,
) -> xr.DataArray:
    """Regression coefficients ``B`` (atom, network) of the planted courses on the atoms.

    The design is the encoding model's (module docstring): the z-scored atoms, then the
    nuisance regressors of :func:`~analysis_lib.encoding.design.build_design` (drift basis
    and constant), so that ``B`` is the noise-free beta that
    :func:`~analysis_lib.encoding.fit_encoding` estimates with the same ``drift_model``
    and ``high_pass``.

    Parameters
    ----------
    atoms : DataArray (time, atom)
    truth : phantom ground truth with ``network_timecourse`` (time, network)
    drift_model : {"cosine", "polynomial", None}
        Drift regressors of the encoding model (``None``: constant only).
    high_pass : float
        Cut-off (Hz) of the cosine drift.

    Returns
    -------
    DataArray (atom, network); networks without planted signal have zero columns.
    """
    from .encoding.design import build_design

    d = atoms.transpose("time", "atom").values.astype(float)
    s = truth["network_timecourse"].transpose("time", "network").values.astype(float)
    if d.shape[0] != s.shape[0]:
        raise ValueError(
            f"atoms have {d.shape[0]} time points, the phantom {s.shape[0]}: they must share "
            "the stimulus clock"
        )
    frame_times = None
    for source in (truth, atoms):
        if "time" in source.coords:
            frame_times = np.asarray(source["time"].values, float)
            break
    sd = d.std(0)
    z = np.where(sd > 0, (d - d.mean(0)) / np.where(sd > 0, sd, 1), 0.0)
    design = build_design(
        z,
        [f"atom_{a}" for a in atoms["atom"].values],
        None,
        frame_times,
        drift_model=drift_model,
        high_pass=high_pass,
    )
    coef = np.linalg.lstsq(design.matrix, s, rcond=None)[0][: design.n_atoms]
    return xr.DataArray(
        coef,
        dims=("atom", "network"),
        coords={"atom": atoms["atom"].values, "network": truth["network"].values},
        name="planted_beta",
        attrs={
            "long_name": "regression of planted network courses on z-scored atoms",
            "drift_model": str(drift_model),
            "high_pass": float(high_pass),
        },
    )


def recovery_score(corr: xr.Dataset, planted: xr.DataArray, b_min: float = 0.3) -> dict:
    """Share of planted atoms assigned to one of their planted networks (module docstring).

    Parameters
    ----------
    corr : xarray.Dataset
        Correspondence result with ``assignment`` (atom).
    planted : xarray.DataArray (atom, network)
        The planted betas ``B``.
    b_min : float
        Smallest ``|B_kn|`` for which atom ``k`` counts as planted in network ``n``.

    Returns
    -------
    dict with ``recovery`` (NaN when no atom is planted), ``n_planted``, ``n_recovered``,
    ``recovery_dominant`` and ``n_dominant`` (assigned to the network of largest
    ``|B|``), and ``atoms``: per atom its planted networks, its dominant networks and its
    assignment.
    """
    networks = [str(n) for n in planted["network"].values]
    rows, n_planted, n_rec, n_dom = [], 0, 0, 0
    for k, atom in enumerate(planted["atom"].values):
        b = np.abs(planted.values[k])
        sets = [networks[i] for i in np.flatnonzero(b >= b_min)]
        # exact ties only (networks with the same planted course up to sign)
        top = [networks[i] for i in np.flatnonzero(b >= b.max() * (1 - 1e-9))] if sets else []
        got = str(corr["assignment"].sel(atom=atom).values)
        ok = bool(sets) and got in sets
        n_planted += bool(sets)
        n_rec += ok
        n_dom += got in top
        rows.append(
            {
                "atom": int(atom),
                "planted": sets,
                "dominant": top,
                "assigned": got,
                "recovered": ok,
            }
        )
    return {
        "recovery": n_rec / n_planted if n_planted else float("nan"),
        "n_planted": n_planted,
        "n_recovered": n_rec,
        "recovery_dominant": n_dom / n_planted if n_planted else float("nan"),
        "n_dominant": n_dom,
        "atoms": rows,
    }


def truth_atlas(truth: xr.Dataset) -> xr.Dataset:
    """The phantom's own group network labels as an atlas Dataset (for volume phantoms).

    The MNI phantom labels each voxel with the network of its nearest cortical vertex, so
    no published volume atlas matches it exactly; its own labels are the right template.
    """
    names = [str(n) for n in truth["network"].values]
    coords = {c: ("voxel", truth[c].values) for c in ("i", "j", "k", "x", "y", "z")}
    return xr.Dataset(
        {"label": ("voxel", truth["network_label"].values.astype(np.int32))},
        coords={
            **coords,
            "network": ("network", names),
            "network_id": ("network", np.arange(1, len(names) + 1, dtype=np.int32)),
        },
        attrs={
            "atlas": f"phantom:{truth.attrs.get('atlas', '?')}",
            "space": truth.attrs.get("space", ""),
            "affine": list(truth.attrs["affine"]),
            "shape": list(truth.attrs["shape"]),
        },
    )


def model_atoms(
    model: str,
    stimulus: str,
    n_atoms: int,
    alpha: float,
    seed: int,
    progress: bool,
    site: str | None = None,
) -> tuple[xr.DataArray, dict]:
    """Extract AN responses to ``stimulus`` and decompose them into ``n_atoms`` atoms.

    The extract and decompose stages (:mod:`analysis_lib.pipeline`) with their defaults,
    except ``n_atoms``, ``alpha`` and ``seed``.

    Parameters
    ----------
    model : str
        Registered model name.
    stimulus : str
        Stimulus name.
    n_atoms : int
        Number of atoms.
    alpha : float
        Sparsity penalty of the decomposition.
    seed : int
        Seed of extraction and decomposition.
    progress : bool
        Show progress bars (in a terminal only).
    site : str, optional
        Hook site (default: the model family's, as in the extract stage).

    Returns
    -------
    tuple of (xarray.DataArray, dict)
        Atom time courses (time, atom) and ``{"n_neurons", "r2_median",
        "subgroup_size_median"}`` of the decomposition.
    """
    from .pipeline import DecomposeParams, ExtractParams, decompose, extract

    responses = extract(
        ExtractParams(model=model, stimulus=stimulus, site=site), progress=progress
    )
    ds = decompose(
        DecomposeParams(n_atoms=n_atoms, alpha=alpha, seed=seed), responses, progress=progress
    )
    info = {
        "n_neurons": int(ds.sizes["neuron"]),
        "r2_median": float(np.nanmedian(ds["r2"].values)),
        "subgroup_size_median": float(np.median(ds["subgroup_size"].values)),
    }
    return ds["atoms"], info


def oracle_atoms(truth: xr.Dataset) -> xr.DataArray:
    """The phantom's stimulus features as atoms (dims time, atom)."""
    f = truth["features"].transpose("time", "feature")
    return xr.DataArray(
        f.values,
        dims=("time", "atom"),
        coords={"time": f["time"].values, "atom": np.arange(f.sizes["feature"])},
        name="atoms",
        attrs={"feature_names": [str(v) for v in f["feature"].values]},
    )


def group_maps(
    atoms: xr.DataArray,
    dataset: str,
    *,
    n_perm_group: int,
    seed: int,
    progress: bool,
    options: dict | None = None,
) -> tuple[xr.Dataset, list[xr.Dataset]]:
    """Fit every subject of ``dataset`` on ``atoms``; group maps and the subject encodings.

    The encode stage (no permutations, no cross-validation: only the betas enter the
    group maps) and the group stage (:mod:`analysis_lib.pipeline`). ``seed`` seeds the
    sign flips; ``options`` are the dataset's (phantom) options.

    Parameters
    ----------
    atoms : xarray.DataArray (time, atom)
        Atom time courses on the dataset's grid.
    dataset : str
        Registered dataset (a phantom).
    n_perm_group : int
        Sign-flip permutations of the group stage.
    seed : int
        Seed of the sign flips.
    progress : bool
        Show progress bars (in a terminal only).
    options : dict, optional
        The dataset's options.

    Returns
    -------
    group : Dataset
        Output of :func:`~analysis_lib.pipeline.group` on the subjects' betas.
    encodings : list of Dataset
        Output of :func:`~analysis_lib.pipeline.encode` per subject, for the network-level
        test.
    """
    from . import datasets
    from .pipeline import EncodeParams, GroupParams, encode, group

    options = options or {}
    params = EncodeParams(n_perm=0, cv=0, seed=seed, drift_model=DRIFT_MODEL, high_pass=HIGH_PASS)
    results = [
        encode(params, atoms, datasets.load(dataset, subject, **options))
        for subject in datasets.subjects(dataset, **options)
    ]
    maps = group(GroupParams(n_perm=n_perm_group, seed=seed), results, progress=progress)
    return maps, results


def run_validation(
    *,
    atoms: str = "model",
    model: str = "minilm",
    n_atoms: int = 16,
    alpha: float = 0.1,
    correction: str = "uncorrected",
    threshold: float = 0.01,
    n_perm: int = 1000,
    n_perm_group: int = 1000,
    b_min: float = 0.3,
    seed: int = 0,
    phantom_seed: int | None = None,
    progress: bool = False,
    **phantom_options: Any,
) -> dict:
    """Run the pipeline on phantom-story and phantom-null and score it.

    Parameters
    ----------
    atoms : {"model", "oracle"}
        Atoms from ``model``'s neurons (extract + decompose) or the phantom's features.
    model : str
        Registered model for ``atoms="model"``.
    n_atoms, alpha : int, float
        Dictionary size and L1 penalty of the decomposition.
    correction, threshold : str, float
        Voxel threshold of the group maps (see
        :func:`analysis_lib.networks.correspondence`).
    n_perm : int
        Spatial-null maps.
    n_perm_group : int
        Sign-flip permutations of the group maps.
    b_min : float
        Planted-coefficient threshold of :func:`recovery_score`.
    seed : int
        Seed of the decomposition, the sign flips and the spatial null.
    phantom_seed : int, optional
        Seed of the phantoms' noise and planted amplitudes (``seed`` of
        :class:`~analysis_lib.datasets.phantom.PhantomParams`; default: its default).
    progress : bool
    **phantom_options
        Options of the phantoms (``n_subjects``, ``stride``, ``snr``, ``space``, ...).

    Returns
    -------
    dict with ``recovery``, ``null_significant_fraction``, ``null_assigned_fraction``,
    ``passed`` and details.
    """
    from . import datasets
    from .networks import load_atlas
    from .pipeline import NetworksParams, networks

    t0 = time.perf_counter()
    if phantom_seed is not None:
        phantom_options = {**phantom_options, "seed": int(phantom_seed)}
    truth = datasets.ground_truth("phantom-story", **phantom_options)
    if atoms == "oracle":
        d, info = oracle_atoms(truth), {"features": list(truth["feature"].values)}
    elif atoms == "model":
        d, info = model_atoms(model, str(truth.attrs["stimulus"]), n_atoms, alpha, seed, progress)
    else:
        raise ValueError(f"atoms must be 'model' or 'oracle', got {atoms!r}")
    planted = planted_coefficients(d, truth)
    out: dict[str, Any] = {
        "atoms": atoms if atoms == "oracle" else f"model:{model}",
        "atoms_info": info,
        "simulated": True,
    }
    corr = {}
    for kind in ("story", "null"):
        group, betas = group_maps(
            d,
            f"phantom-{kind}",
            n_perm_group=n_perm_group,
            seed=seed,
            progress=progress,
            options=phantom_options,
        )
        if "grayordinate" in group.coords:
            atlas = load_atlas(str(truth.attrs["atlas"]), like=group)
        else:
            atlas = truth_atlas(truth)
        params = NetworksParams(
            atlas=str(atlas.attrs.get("atlas", truth.attrs["atlas"])),
            correction=correction,
            threshold=threshold,
            n_perm=n_perm,
            seed=seed,
        )
        corr[kind] = networks(params, group, betas, atlas=atlas, progress=progress)
    score = recovery_score(corr["story"], planted, b_min)
    p_null = corr["null"]["p"].values
    assigned_null = corr["null"]["assignment"].values != "none"
    n_tests = p_null.size
    null_frac = float((p_null < NOMINAL).mean())
    null_frac_spatial = float((corr["null"]["p_spatial"].values < NOMINAL).mean())
    tolerance = NOMINAL + 2 * np.sqrt(NOMINAL * (1 - NOMINAL) / n_tests)
    out.update(
        {
            "recovery": score["recovery"],
            "n_planted_atoms": score["n_planted"],
            "n_recovered_atoms": score["n_recovered"],
            "recovery_dominant": score["recovery_dominant"],
            "n_dominant_atoms": score["n_dominant"],
            "per_atom": score["atoms"],
            "null_significant_fraction": null_frac,
            "null_significant_fraction_spatial_only": null_frac_spatial,
            "null_n_tests": int(n_tests),
            "null_tolerance": float(tolerance),
            "null_assigned_fraction": float(assigned_null.mean()),
            "passed": bool(
                np.isfinite(score["recovery"])
                and score["recovery"] >= 0.8
                and null_frac <= tolerance
            ),
            "params": {
                "n_atoms": n_atoms,
                "alpha": alpha,
                "correction": correction,
                "threshold": threshold,
                "n_perm": n_perm,
                "n_perm_group": n_perm_group,
                "b_min": b_min,
                "drift_model": DRIFT_MODEL,
                "high_pass": HIGH_PASS,
                "seed": seed,
                "phantom_seed": phantom_seed,
                "atlas": str(truth.attrs["atlas"]),
                **{k: v for k, v in phantom_options.items() if k != "seed"},
            },
            "seconds": round(time.perf_counter() - t0, 1),
        }
    )
    out["story_assignment"] = [str(a) for a in corr["story"]["assignment"].values]
    return out


# --------------------------------------------------------------------------- phantom-content
#: Rules with an effect-size bound, chosen on the tuning seeds 0-4 only, and the calibrated
#: rule: the book grid's significant set (configs/default.yaml, the ``*-group`` grids) and
#: the default of ``validate`` (defined in :mod:`analysis_lib.networks.rules`).
MIN_R = CALIBRATED_RULE["min_r"]
#: The former book rule (larger of the spatial-null and the subject-level network p), kept
#: for comparison (``validate --rule spatial+network``); its controls do not fail.
SPATIAL_NETWORK_RULE = {"rule": "spatial+network", "min_r": 0.0}
#: The book's Study A settings (configs/default.yaml: study-a-atoms, study-a-group): the
#: validation runs exactly these (issue 14 item 4; ``tests/test_validation_content.py``
#: checks them against the grid).
STUDY_A = {
    "stimulus": "default-story",
    "n_atoms": 64,
    "alpha": 0.1,
    "decomposition_seed": 0,
    "correction": "uncorrected",
    "threshold": 0.01,
    "n_perm_group": 500,
    "n_perm_networks": 1000,
    "n_shift": 500,
    **CALIBRATED_RULE,
}
#: The book's Study B settings (configs/default.yaml: study-b-atoms, study-b-group): the
#: movie, the attention outputs, 16 atoms; the validation of ``--study b`` runs these on
#: ``phantom-movie-content`` (``tests/test_validation_movie.py`` checks them against the
#: grid). The rule and its bound are those tuned on the story phantom's tuning seeds
#: (record ``benchmarks/results/validate_tune.json``); nothing was tuned on the movie
#: phantom, whose held-out record is ``benchmarks/results/validate_movie_shift.json``.
STUDY_B = {
    **STUDY_A,
    "stimulus": "default-movie",
    "site": "attn_out",
    "n_atoms": 16,
}
#: Phantom and null of each study's validation, and its settings.
STUDIES = {
    "a": ("phantom-content", "phantom-content-null", STUDY_A),
    "b": ("phantom-movie-content", "phantom-movie-content-null", STUDY_B),
}
#: Tuning seeds (phantom noise seeds) and held-out seeds. No setting was chosen on pipeline
#: results: the truth rule (validation_score.R_CARRY, phantom_content.COVER_MIN) and the
#: phantom (its SNR, set from the real Alice ISC, not from any pipeline score) were fixed
#: before the first pipeline run. Seeds 0-4 are reserved for development (seed 0: the tests
#: and one SmolLM2 run with 200 spatial-null maps, which assigned nothing because the BH
#: floor 0.05 k / 768 lies below 1/201; no setting was changed after it). Results are
#: reported on the held-out seeds only (record: benchmarks/results/validate_content.json).
TUNING_SEEDS = tuple(range(0, 5))
HELDOUT_SEEDS = tuple(range(20, 40))
ATOM_KINDS = ("model", "timing", "shifted")


def timing_atoms(truth: xr.Dataset, stimulus: Any | None = None) -> xr.DataArray:
    """Negative-control atoms from timing alone, dims (time, atom).

    Story (``phantom-content``): the phantom's timing regressors (onsets, duration,
    silences; SPM HRF) and a word-length boxcar (letters per word over each word's
    duration). Movie (``phantom-movie-content``): the timing regressors (scene blocks, scene
    onsets and offsets, caption onsets), no pixel and no word.

    Parameters
    ----------
    truth : xarray.Dataset
        Ground truth of the phantom (``timing_regressors``).
    stimulus : StoryStimulus, optional
        The story (default: the phantom's).

    Returns
    -------
    xarray.DataArray (time, atom)
        The timing-only atoms.
    """
    from .hrf import convolve
    from .stimuli import load_stimulus

    stim = stimulus if stimulus is not None else load_stimulus(str(truth.attrs["stimulus"]))
    if not hasattr(stim, "words"):
        x = truth["timing_regressors"].transpose("time", "timing").values
        return xr.DataArray(
            x,
            dims=("time", "atom"),
            coords={"time": truth["time"].values, "atom": np.arange(x.shape[1])},
            name="atoms",
            attrs={"feature_names": list(map(str, truth["timing"].values)), "control": "timing"},
        )
    words = stim.words
    onset, offset = words["onset"].to_numpy(float), words["offset"].to_numpy(float)
    letters = words["word"].astype(str).str.count(r"[A-Za-z]").to_numpy(float)
    times = truth["time"].values
    length = convolve(onset, letters - letters.mean(), times, durations=offset - onset, hrf="spm")
    x = np.column_stack([truth["timing_regressors"].values, np.asarray(length, float)])
    names = [*map(str, truth["timing"].values), "word_length_boxcar"]
    return xr.DataArray(
        x,
        dims=("time", "atom"),
        coords={"time": times, "atom": np.arange(x.shape[1])},
        name="atoms",
        attrs={"feature_names": names, "control": "timing"},
    )


def shifted_atoms(atoms: xr.DataArray) -> xr.DataArray:
    """Negative-control atoms: the model's atoms circularly shifted by half the run
    (the responses to a circularly shifted stimulus, on the TR clock)."""
    n = atoms.sizes["time"]
    out = atoms.copy(data=np.roll(atoms.transpose("time", "atom").values, n // 2, axis=0))
    out.attrs = {**atoms.attrs, "control": f"circular shift by {n // 2} volumes"}
    return out


def content_seed(
    d: xr.DataArray,
    seed: int,
    *,
    settings: dict | None = None,
    progress: bool = False,
    study: str = "a",
    **phantom_options: Any,
) -> dict:
    """Score one noise seed of the study's content phantom (and its null) with atoms ``d``.

    Parameters
    ----------
    d : xarray.DataArray (time, atom)
        The atoms.
    seed : int
        Phantom noise seed.
    settings : dict, optional
        Overrides of the study's settings (:data:`STUDY_A`, :data:`STUDY_B`).
    progress : bool
        Show progress bars (in a terminal only).
    study : {"a", "b"}
        ``phantom-content`` (story) or ``phantom-movie-content`` (movie), see
        :data:`STUDIES`.
    **phantom_options
        Options of the phantom.

    Returns
    -------
    dict with ``seed``, ``precision``, ``recall``, ``f1``, ``null_fpr``, ``tp``, ``fp``,
    ``fn``, ``n_truth``, ``n_predicted``, ``per_network_recall``, ``null_n_predicted``,
    ``fp_cover`` (:func:`analysis_lib.validation_score.false_pair_cover`), ``assignment``.
    """
    from . import datasets
    from . import validation_score as vs
    from .networks import load_atlas
    from .pipeline import NetworksParams, networks

    phantom, null, base = _study(study)
    s = {**base, **(settings or {})}
    opts = {**phantom_options, "seed": int(seed)}
    truth = datasets.ground_truth(phantom, **opts)
    carried = vs.carried_features(d, truth["features"])
    truth_p = vs.truth_pairs(carried, truth["feature_network"])
    corr = {}
    for name in (phantom, null):
        group, encodings = group_maps(
            d, name, n_perm_group=s["n_perm_group"], seed=seed, progress=progress, options=opts
        )
        atlas = load_atlas(str(truth.attrs["atlas"]), like=group)
        params = NetworksParams(
            atlas=str(truth.attrs["atlas"]),
            correction=s["correction"],
            threshold=s["threshold"],
            n_perm=s["n_perm_networks"],
            seed=seed,
            rule=s["rule"],
            min_r=s["min_r"],
            n_shift=s["n_shift"],
            shift_fit=s["shift_fit"],
        )
        extra = {}
        if s["rule"] == "network-shift":
            extra = {
                "atoms": d,
                "bold": [
                    datasets.load(name, subject, **opts)
                    for subject in datasets.subjects(name, **opts)
                ],
            }
        corr[name] = networks(params, group, encodings, atlas=atlas, progress=progress, **extra)
    predicted = vs.predicted_pairs(corr[phantom])
    score = vs.score_pairs(predicted, truth_p)
    return {
        "seed": int(seed),
        **{k: score[k] for k in ("precision", "recall", "f1")},
        "null_fpr": vs.null_fpr(corr[null]),
        **{k: score[k] for k in ("tp", "fp", "fn", "n_truth", "n_predicted")},
        "per_network_recall": score["per_network_recall"],
        "null_n_predicted": int(vs.predicted_pairs(corr[null]).values.sum()),
        "fp_cover": vs.false_pair_cover(predicted, truth_p, carried, truth["cover"]),
        "assignment": [str(a) for a in corr[phantom]["assignment"].values],
    }


def _study(study: str) -> tuple[str, str, dict]:
    if study not in STUDIES:
        raise ValueError(f"study must be one of {tuple(STUDIES)}, got {study!r}")
    return STUDIES[study]


def study_atoms(
    model: str, atoms: str = "model", study: str = "a", *, progress: bool = False, **options
) -> tuple[xr.DataArray, dict]:
    """The atoms a validation scores: the model's (study settings), a timing-only control
    or the model's atoms circularly shifted.

    Parameters
    ----------
    model : str
        Registered model (``atoms="model"`` and ``"shifted"``).
    atoms : {"model", "timing", "shifted"}
        Which atoms (:data:`ATOM_KINDS`).
    study : {"a", "b"}
        The study (:data:`STUDIES`): its stimulus, site and atom count.
    progress : bool
        Show progress bars (in a terminal only).
    **options
        Options of the phantom (for the timing regressors).

    Returns
    -------
    tuple of (xarray.DataArray (time, atom), dict)
        The atoms and a description.
    """
    from . import datasets

    if atoms not in ATOM_KINDS:
        raise ValueError(f"atoms must be one of {ATOM_KINDS}, got {atoms!r}")
    phantom, _, s = _study(study)
    if atoms == "timing":
        return timing_atoms(datasets.ground_truth(phantom, **options)), {"atoms": "timing"}
    d, info = model_atoms(
        model,
        s["stimulus"],
        s["n_atoms"],
        s["alpha"],
        s["decomposition_seed"],
        progress,
        site=s.get("site"),
    )
    if atoms == "shifted":
        d = shifted_atoms(d)
    return d, info


def validate_content(
    *,
    model: str = "smollm2",
    atoms: str = "model",
    seeds: tuple[int, ...] = HELDOUT_SEEDS,
    settings: dict | None = None,
    progress: bool = False,
    study: str = "a",
    **phantom_options: Any,
) -> dict:
    """Held-out-seed validation on a content phantom with the book's settings of a study.

    Study A: ``phantom-content`` (story) with :data:`STUDY_A`; Study B:
    ``phantom-movie-content`` (movie) with :data:`STUDY_B`.

    Parameters
    ----------
    model : str
        Registered language model (``atoms="model"`` and ``"shifted"``).
    atoms : {"model", "timing", "shifted"}
        The model's atoms, timing-only atoms, or the model's atoms circularly shifted.
    seeds : tuple of int
        Phantom noise seeds (default :data:`HELDOUT_SEEDS`).
    settings : dict, optional
        Overrides of the study's settings (e.g. fewer null maps while developing).
    study : {"a", "b"}
        Which study's phantom and settings (:data:`STUDIES`).
    **phantom_options
        Options of the phantom (``stride``, ``n_subjects``, ``snr``, ...).
    progress : bool
        Show progress bars (in a terminal only).

    Returns
    -------
    dict with ``per_seed`` (list of :func:`content_seed` dicts), ``summary`` (mean and 95%
    t interval of precision, recall, f1 and null_fpr across seeds, and ``config``).
    """
    from . import validation_score as vs

    phantom, null, base = _study(study)
    s = {**base, **(settings or {})}
    t0 = time.perf_counter()
    d, info = study_atoms(model, atoms, study, progress=progress, **phantom_options)
    per_seed = [
        content_seed(d, seed, settings=s, progress=progress, study=study, **phantom_options)
        for seed in seeds
    ]
    summary = {
        k: vs.mean_interval(r[k] for r in per_seed)
        for k in ("precision", "recall", "f1", "null_fpr")
    }
    summary["config"] = {
        "study": study,
        "dataset": phantom,
        "null_dataset": null,
        "atoms": atoms,
        "model": None if atoms == "timing" else model,
        "n_atoms_used": int(d.sizes["atom"]),
        "seeds": [int(x) for x in seeds],
        "r_carry": vs.R_CARRY,
        "significant_set": (
            "p_fdr < alpha_assign (0.05), p = max(p_spatial, p_network)"
            if s["rule"] == "spatial+network"
            else f"p_fdr < alpha_assign (0.05), rule {s['rule']}, |effect| >= {s['min_r']}"
        ),
        "null_level": vs.NOMINAL,
        **s,
        **phantom_options,
        "atoms_info": info,
    }
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["simulated"] = True
    return {"per_seed": per_seed, "summary": summary}

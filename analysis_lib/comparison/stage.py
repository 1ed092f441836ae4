"""The ``compare`` stage: what each feature set adds to a base model, on held-out data.

For every usable subject and ROI, :func:`analysis_lib.comparison.nested.held_out_r2` gives
the held-out R^2 of the base model (by default the subject's word rate, sound power and
motion) and of base + each feature set; ``dR^2`` is their difference (the unique variance
of the feature set). Over subjects: the mean ``dR^2`` with a percentile bootstrap 95 %
interval, a two-sided sign-flip test, and Holm's correction over all ROIs x feature sets;
the same on the per-subject mean over ROIs, with Holm over feature sets. The one-factor
noise ceiling (:mod:`analysis_lib.comparison.ceiling`) is reported per subject and ROI on
the same R^2 scale, with the leave-one-subject-out ISC next to it for comparison.

Chance: a feature set that carries no information gives ``dR^2 <= 0`` in expectation
(held-out R^2 penalises useless features), and the random-weight twins (``atoms:tiny-bert``,
``atoms:tiny-llama``, ``surprisal:tiny-llama``) show what an untrained network gives through
the same pipeline.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..pipeline.params import StageParams, param, stage_provenance
from . import features as feat
from .ceiling import loso_isc, one_factor_ceiling
from .nested import held_out_r2
from .stats import bootstrap_ci, holm, sign_flip_pvalue

BASE_TERMS = ("rate", "sndpwr", "motion", "wordrate")
#: Changes whenever the fitting method changes (part of every cache key).
METHOD = "band-grid-v1"
DATASETS = ("alice",)
#: The default is the chapter's full comparison (every feature set of issue 15): controls,
#: atoms with K sweeps, layer PCs and surprisal of every model whose weights are present.
DEFAULT_FEATURES = "study-a"
#: Models of the capability series, random-weight twins first.
SERIES = ("tiny-bert", "tiny-llama", "minilm", "smollm2", "qwen2.5-0.5b", "qwen2.5-1.5b")
CAUSAL_SERIES = ("tiny-llama", "smollm2", "qwen2.5-0.5b", "qwen2.5-1.5b")
K_SWEEP = (4, 8, 16, 32, 64)
K_SWEEP_MODELS = ("tiny-llama", "minilm", "smollm2")
PC_LAYERS = {"smollm2": (0, 6, 12, 18, 24, 29)}
#: The book preset's K sweep: one model, three K (the other K of the chapter are in study-a).
BOOK_K_SWEEP = {"minilm": (4, 16, 64)}


def study_a_features(include_unprepared: bool = False) -> str:
    """The ``study-a`` preset: the chapter's feature sets (Qwen only where prepared).

    Controls (authors without rate, timing), atoms (K = 16) of every model of
    :data:`SERIES`, a K sweep for :data:`K_SWEEP_MODELS`, surprisal of every causal model,
    and layer PCs of SmolLM2. Qwen sets are left out when their weights are not prepared
    (``python -m analysis_lib fetch-weights``) unless ``include_unprepared``.
    """

    def ok(m):
        return _qwen_ok(m, include_unprepared)

    specs = ["authors", "timing"]
    specs += [f"atoms:{m}:16" for m in SERIES if ok(m)]
    specs += [f"atoms:{m}:{k}" for m in K_SWEEP_MODELS for k in K_SWEEP if k != 16]
    specs += [f"surprisal:{m}" for m in CAUSAL_SERIES if ok(m)]
    specs += [f"pcs:{m}:{layer}" for m, layers in PC_LAYERS.items() for layer in layers]
    return ",".join(specs)


def _qwen_ok(model: str, include_unprepared: bool) -> bool:
    from ..models import is_available

    return include_unprepared or not model.startswith("qwen") or is_available(model)


def book_features(include_unprepared: bool = False) -> str:
    """The ``book`` preset: the sets the book page computes on a fresh build.

    Controls (authors without rate, timing), atoms (K = 16) and surprisal of every model of
    :data:`SERIES` and :data:`CAUSAL_SERIES`, and a K sweep for one model
    (:data:`BOOK_K_SWEEP`); no layer PCs. Qwen sets only where their weights are prepared
    (``python -m analysis_lib fetch-weights``) unless ``include_unprepared``. A subset of
    ``study-a``, so the two presets share extraction, dictionary and cell caches.
    """
    specs = ["authors", "timing"]
    specs += [f"atoms:{m}:16" for m in SERIES if _qwen_ok(m, include_unprepared)]
    specs += [f"atoms:{m}:{k}" for m, ks in BOOK_K_SWEEP.items() for k in ks if k != 16]
    specs += [f"surprisal:{m}" for m in CAUSAL_SERIES if _qwen_ok(m, include_unprepared)]
    return ",".join(specs)


#: Named feature-set presets of ``CompareParams.features``.
PRESETS = {"study-a": study_a_features, "book": book_features}


@dataclass(frozen=True)
class CompareParams(StageParams):
    """Parameters of :func:`compare`."""

    stage = "compare"
    dataset: str = param("alice", "dataset with story-listening fMRI", choices=DATASETS)
    subjects: tuple[str, ...] = param((), "subjects (default: every usable subject present)")
    base: str = param(
        "rate,sndpwr,motion",
        "comma-separated base-model terms: rate, sndpwr (the authors' per-subject files), "
        "motion (6 parameters), wordrate (this package's convolved word train)",
    )
    features: str = param(
        DEFAULT_FEATURES,
        "comma-separated feature sets: authors, timing, atoms:MODEL[:K], pcs:MODEL:LAYER, "
        "layers:MODEL, surprisal:MODEL; or a preset: study-a (the chapter's full sets) or "
        "book (the subset the book page computes)",
    )
    n_atoms: int = param(16, "atoms per model when a spec gives no K", minimum=1)
    alpha: float = param(0.1, "L1 penalty of the sparse dictionaries", minimum=0)
    n_pcs: int = param(8, "principal components per layer (pcs:, layers:)", minimum=1)
    radius: str = param("6mm", "ROI sphere radius", choices=("6mm", "10mm"))
    n_folds: int = param(5, "outer blocked folds", minimum=2)
    gap: int = param(6, "volumes left out on each side of a test block", minimum=0)
    inner_folds: int = param(3, "inner blocked folds (penalty choice)", minimum=2)
    n_iter: int = param(10, "band weights searched by the banded ridge (grid)", minimum=2)
    n_boot: int = param(10000, "bootstrap resamples of the group mean", minimum=100)
    n_perm: int = param(
        10000, "random sign flips when there are more than 16 subjects", minimum=100
    )
    seed: int = param(0, "seed of the search, the bootstrap and the sign flips", minimum=0)
    n_jobs: int = param(1, "subjects fitted in parallel (processes)", minimum=1)

    def check(self) -> None:
        super().check()
        terms = self.base_terms
        bad = [t for t in terms if t not in BASE_TERMS]
        if bad or not terms:
            raise ValueError(
                f"compare: base must be comma-separated terms of {list(BASE_TERMS)}, "
                f"got {self.base!r}"
            )
        feat.parse_specs(self.feature_text, self.n_atoms)

    @property
    def feature_text(self) -> str:
        """``features`` with a preset (:data:`PRESETS`) expanded."""
        preset = PRESETS.get(self.features.strip())
        return preset() if preset else self.features

    @property
    def base_terms(self) -> list[str]:
        return [t.strip() for t in self.base.split(",") if t.strip()]

    @property
    def feature_specs(self) -> list[feat.FeatureSpec]:
        return feat.expand(feat.parse_specs(self.feature_text, self.n_atoms))


def usable_subjects(params: CompareParams) -> tuple[list[str], list[str]]:
    """Subjects to use and the warnings about left-out ones (naming subject and ROI)."""
    from ..datasets import alice

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loader's own warning; we name ROIs below
        present = alice.all_subjects(params.radius)
    wanted = list(params.subjects) or present
    missing = [s for s in wanted if s not in present]
    if missing:
        raise ValueError(
            f"compare: subject {missing[0]!r} not in {alice.data_dir()}; present: "
            f"{', '.join(present)}"
        )
    keep, notes = [], []
    for s in wanted:
        table = alice._read_table(
            alice.timecourse_file(s, params.radius), alice.N_VOLUMES, len(alice.ROIS)
        )
        const = [r for r, c in zip(alice.ROIS, np.ptp(table, axis=0) == 0, strict=True) if c]
        if const:
            notes.append(
                f"alice: subject {s} left out: ROI column(s) {', '.join(const)} constant in "
                f"{alice.timecourse_file(s, params.radius)}"
            )
        else:
            keep.append(s)
    return keep, notes


def _base_matrix(subject: str, terms: list[str]) -> np.ndarray:
    from ..datasets import alice

    cols = []
    if "rate" in terms or "sndpwr" in terms:
        b = alice.load_baselines(subject)
        cols += [b.sel(predictor=t).values[:, None] for t in ("rate", "sndpwr") if t in terms]
    if "motion" in terms:
        cols.append(alice.load_confounds(subject).values)
    if "wordrate" in terms:
        from ..word_timing import timing_features

        cols.append(timing_features("alice", ("rate",)).values)
    return np.hstack(cols).astype(float)


def _one_subject(subject: str, params: CompareParams, values: dict, nuisance: np.ndarray):
    """Held-out R^2 of one subject (base, and base + each feature set)."""
    from .. import __version__
    from ..datasets import alice
    from ..paths import data_home

    y = alice.load(subject, params.radius).values.astype(float)
    base = _base_matrix(subject, params.base_terms)
    cv = {k: getattr(params, k) for k in ("n_folds", "gap", "inner_folds", "n_iter", "seed")}
    folder = data_home() / "cache" / "compare_cells"

    def cell_key(name: str, x: np.ndarray) -> str:
        h = hashlib.sha256()
        for part in (y, base, nuisance, np.ascontiguousarray(x, dtype=np.float64)):
            h.update(np.ascontiguousarray(part, dtype=np.float64).tobytes())
        h.update(json.dumps([name, cv, METHOD, __version__], sort_keys=True).encode())
        return h.hexdigest()[:32]

    keys = {name: cell_key(name, x) for name, x in values.items()}
    done = {}
    for name, key in keys.items():
        path = folder / f"{key}.json"
        if path.is_file():
            done[name] = json.loads(path.read_text())
    todo = {name: x for name, x in values.items() if name not in done}
    if todo or not done:
        rb, rf = held_out_r2(y, base, todo, nuisance, **cv)
        folder.mkdir(parents=True, exist_ok=True)
        for name, r2 in rf.items():
            done[name] = {"r2_base": rb.tolist(), "r2_full": r2.tolist()}
            tmp = folder / f".{keys[name]}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(done[name]))
            tmp.replace(folder / f"{keys[name]}.json")
    rb = np.asarray(next(iter(done.values()))["r2_base"]) if done else rb
    return rb, {name: np.asarray(done[name]["r2_full"]) for name in values}


def compare(params: CompareParams, *, progress: bool = True) -> xr.Dataset:
    """Run the comparison (see the module docstring).

    Parameters
    ----------
    params : CompareParams
    progress : bool
        Progress bar over subjects (only in a terminal).

    Returns
    -------
    xarray.Dataset
        dims ``subject``, ``roi``, ``feature_set``: ``r2_base`` (subject, roi), ``r2_full``
        and ``dr2`` (feature_set, subject, roi), ``ceiling`` and ``loso_isc``
        (subject, roi); group ``dr2_mean``, ``dr2_ci_low``, ``dr2_ci_high``, ``p_signflip``,
        ``p_holm`` (feature_set, roi) and the same with prefix ``roi_mean_`` over the
        per-subject mean across ROIs (feature_set); feature-set coords ``kind``, ``model``,
        ``n_features``, ``perplexity`` (per-word, NaN for non-causal models).

    Raises
    ------
    ValueError
        Bad parameters, unknown subjects, fewer than 3 usable subjects.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from ..datasets import alice
    from ..encoding.design import drift_regressors

    subjects, notes = usable_subjects(params)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    if len(subjects) < 3:
        raise ValueError(f"compare: {len(subjects)} usable subjects; at least 3 are needed")
    specs = params.feature_specs
    feat.warm(specs)  # responses and surprisal of each causal LM in one pass
    sets = [feat.build(s, alpha=params.alpha, n_pcs=params.n_pcs, seed=params.seed) for s in specs]
    times = alice.volume_times()
    nuisance = drift_regressors(times).to_numpy(float)
    rois = list(alice.ROIS)
    S, R, F = len(subjects), len(rois), len(sets)
    r2_base = np.empty((S, R))
    r2_full = np.empty((F, S, R))
    Y_all = np.empty((S, len(times), R))
    values = {fs.name: fs.values for fs in sets}
    jobs = (delayed(_one_subject)(s, params, values, nuisance) for s in subjects)
    bar = tqdm(total=S, desc="compare: subjects", disable=None if progress else True)
    results = []
    for out in Parallel(n_jobs=params.n_jobs, return_as="generator")(jobs):
        results.append(out)
        bar.update()
    bar.close()
    for i, (s, (rb, rf)) in enumerate(zip(subjects, results, strict=True)):
        y = alice.load(s, params.radius).values.astype(float)
        r2_base[i] = rb
        for j, fs in enumerate(sets):
            r2_full[j, i] = rf[fs.name]
        motion = alice.load_confounds(s).values
        qm, _ = np.linalg.qr(np.hstack([nuisance, motion]))
        Y_all[i] = y - qm @ (qm.T @ y)
    dr2 = r2_full - r2_base[None]
    ceiling = one_factor_ceiling(Y_all)
    loso = loso_isc(Y_all)

    mean = dr2.mean(axis=1)
    lo = np.empty((F, R))
    hi = np.empty((F, R))
    p = np.empty((F, R))
    for j in range(F):
        for r in range(R):
            lo[j, r], hi[j, r] = bootstrap_ci(
                dr2[j, :, r], n_resamples=params.n_boot, seed=params.seed
            )
            p[j, r] = sign_flip_pvalue(dr2[j, :, r], n_perm=params.n_perm, seed=params.seed)
    roi_mean = dr2.mean(axis=2)  # (F, S)
    m_lo, m_hi, m_p = (np.empty(F) for _ in range(3))
    for j in range(F):
        m_lo[j], m_hi[j] = bootstrap_ci(roi_mean[j], n_resamples=params.n_boot, seed=params.seed)
        m_p[j] = sign_flip_pvalue(roi_mean[j], n_perm=params.n_perm, seed=params.seed)

    models = [fs.model for fs in sets]
    ppl = {m: feat.perplexity(m) for m in sorted(set(models)) if m}
    fs_dim, sr, f_sr, f_r = (
        ("feature_set",),
        ("subject", "roi"),
        ("feature_set", "subject", "roi"),
        ("feature_set", "roi"),
    )
    ds = xr.Dataset(
        {
            "r2_base": (sr, r2_base, {"long_name": "held-out R^2 of the base model"}),
            "r2_full": (f_sr, r2_full, {"long_name": "held-out R^2 of base + feature set"}),
            "dr2": (f_sr, dr2, {"long_name": "unique held-out variance of the feature set"}),
            "ceiling": (sr, ceiling, {"long_name": "one-factor pairwise-ISC ceiling of R^2"}),
            "loso_isc": (sr, loso, {"long_name": "leave-one-subject-out ISC (r, biased low)"}),
            "dr2_mean": (f_r, mean, {"long_name": "mean dR^2 over subjects"}),
            "dr2_ci_low": (f_r, lo, {"long_name": "bootstrap 95% interval, low"}),
            "dr2_ci_high": (f_r, hi, {"long_name": "bootstrap 95% interval, high"}),
            "p_signflip": (f_r, p, {"long_name": "two-sided sign-flip p over subjects"}),
            "p_holm": (f_r, holm(p), {"long_name": "Holm-adjusted over ROIs x feature sets"}),
            "roi_mean_dr2": (("feature_set", "subject"), roi_mean),
            "roi_mean_dr2_mean": (fs_dim, roi_mean.mean(axis=1)),
            "roi_mean_ci_low": (fs_dim, m_lo),
            "roi_mean_ci_high": (fs_dim, m_hi),
            "roi_mean_p_signflip": (fs_dim, m_p),
            "roi_mean_p_holm": (fs_dim, holm(m_p), {"long_name": "Holm over feature sets"}),
        },
        coords={
            "subject": subjects,
            "roi": rois,
            "feature_set": [fs.name for fs in sets],
            "kind": (fs_dim, [fs.kind for fs in sets]),
            "model": (fs_dim, models),
            "n_features": (fs_dim, [fs.values.shape[1] for fs in sets]),
            "perplexity": (fs_dim, [ppl.get(m, np.nan) for m in models]),
        },
        attrs={
            "title": "held-out unique variance of feature sets over a base model",
            "dataset": params.dataset,
            "base": params.base,
            "excluded": json.dumps(notes),
            **stage_provenance(params),
        },
    )
    return ds


def cached_compare(params: CompareParams, *, progress: bool = True) -> xr.Dataset:
    """:func:`compare` with a result cache in ``$ANALYSIS_LIB_DATA/cache/compare``.

    The key is the parameters, the package version and the subjects' ROI files (names and
    sizes), so the CLI (``python -m analysis_lib compare``) and the book page share it.

    Parameters
    ----------
    params : CompareParams
        The comparison's parameters.
    progress : bool, default True
        Progress bars (shown only in a terminal).

    Returns
    -------
    xarray.Dataset
        What :func:`compare` returns (per subject x ROI x feature set, and group summaries).
    """
    from .. import __version__
    from ..datasets import alice
    from ..io import cache_lock, read_netcdf, write_netcdf
    from ..paths import data_home

    files = sorted((alice.data_dir() / params.radius).glob("s*-timecourses.txt"))
    payload = {
        "params": {k: v for k, v in params.as_dict().items() if k != "n_jobs"},
        "feature_sets": [s.name for s in params.feature_specs],
        "version": __version__,
        "method": METHOD,
        "files": [(f.name, f.stat().st_size) for f in files],
    }
    digest = hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=list).encode()
    ).hexdigest()[:32]
    path = data_home() / "cache" / "compare" / f"{digest}.nc"
    if not path.is_file():
        # parallel pages of the book that need the same comparison compute it once
        with cache_lock(path):
            if not path.is_file():
                write_netcdf(compare(params, progress=progress), path)
                return read_netcdf(path)
    ds = read_netcdf(path)
    for note in json.loads(ds.attrs.get("excluded", "[]")):
        warnings.warn(note, UserWarning, stacklevel=2)
    return ds


def summary_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per feature set: the group answer of a :func:`compare` result.

    Parameters
    ----------
    ds : xarray.Dataset
        Output of :func:`compare` or :func:`cached_compare`.

    Returns
    -------
    pandas.DataFrame
        Index ``feature set``; columns ``n features``, ``mean dR² (ROIs)`` with its ``95% CI
        low`` / ``high``, ``p sign-flip`` and ``p Holm`` of the ROI mean, ``ROI of largest
        dR²`` and ``smallest ROI p Holm (either sign)``.
    """
    rows = []
    for fs in ds["feature_set"].values:
        d = ds.sel(feature_set=fs)
        rows.append(
            {
                "feature set": str(fs),
                "n features": int(d["n_features"]),
                "mean dR² (ROIs)": float(d["roi_mean_dr2_mean"]),
                "95% CI low": float(d["roi_mean_ci_low"]),
                "95% CI high": float(d["roi_mean_ci_high"]),
                "p sign-flip": float(d["roi_mean_p_signflip"]),
                "p Holm": float(d["roi_mean_p_holm"]),
                "ROI of largest dR²": str(d["dr2_mean"].idxmax("roi").values),
                "smallest ROI p Holm (either sign)": float(d["p_holm"].min()),
            }
        )
    return pd.DataFrame(rows).set_index("feature set")


def series_rows(ds: xr.Dataset) -> list[dict]:
    """The capability series of a :func:`compare` result, one row per model and kind.

    Parameters
    ----------
    ds : xarray.Dataset
        Output of :func:`compare` or :func:`cached_compare`.

    Returns
    -------
    list of dict
        For every model of :data:`SERIES` present, its ``atoms`` (K = 16) and
        ``surprisal`` sets: ``model``, ``features``, ``feature_set``, ``perplexity`` (None
        for models without a language-model head), ``dR2`` (mean over ROIs of the group
        mean dR^2), ``lo``, ``hi`` (its 95 % bootstrap interval) and ``p_holm``. Plain
        Python values, so that a recorded run (``benchmarks/alice_series.py``) holds the
        same rows as the chapter computes.
    """
    names = {str(f) for f in ds["feature_set"].values}
    rows = []
    for m in SERIES:
        for kind, fs in (("atoms", f"atoms:{m}:16"), ("surprisal", f"surprisal:{m}")):
            if fs not in names:
                continue
            d = ds.sel(feature_set=fs)
            ppl = float(d["perplexity"])
            rows.append(
                {
                    "model": m,
                    "features": kind,
                    "feature_set": fs,
                    "perplexity": ppl if np.isfinite(ppl) else None,
                    "dR2": float(d["roi_mean_dr2_mean"]),
                    "lo": float(d["roi_mean_ci_low"]),
                    "hi": float(d["roi_mean_ci_high"]),
                    "p_holm": float(d["roi_mean_p_holm"]),
                }
            )
    return rows

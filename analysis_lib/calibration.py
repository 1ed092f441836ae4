"""Null calibration on real brains: atoms of a wrong stimulus regressed on real BOLD.

Simulated null data check a test under the simulator's assumptions. On real data the
question is whether a test holds its level with real noise (autocorrelation, drift,
physiology) and real stimulus-like regressors: atoms that are *not* aligned with what the
subjects heard are fitted to their BOLD with the encoding stage
(:func:`analysis_lib.encoding.fit_encoding`), and the share of (subject, atom, region)
tests with ``p < 0.05`` is the false-positive rate of each p value the stage reports:

``parametric``  OLS t test (``pvalue_param``);
``shift``       circular shifts of the atoms (``pvalue_perm`` with ``null="shift"``);
``phase``       phase randomisation of the atoms (``pvalue_perm`` with ``null="phase"``).

Wrong stimuli (:data:`CONTROLS`): ``reversed``, the model's atoms of the real story played
backwards in time (same spectrum, no alignment), and ``other-story``, the model's atoms of
another story (``default-story``) resampled onto the dataset's volume times (linear
interpolation over its duration, then repeated circularly to fill the remaining volumes).

Intervals are 95 % Wilson intervals of a binomial proportion over all tests; tests within
a subject are not independent, so the intervals are optimistic, and the rates are shown
per subject as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .io import provenance

CONTROLS = ("reversed", "other-story")
TESTS = ("parametric", "shift", "phase")
DATASETS = ("alice",)


@dataclass(frozen=True)
class WrongStimulusParams:
    """Parameters of :func:`wrong_stimulus_null`.

    Attributes
    ----------
    dataset : str
        Real dataset (:data:`DATASETS`).
    model : str
        Registered language model whose atoms are used.
    n_atoms : int
        Atoms of the dictionary (the comparison stage's default decomposition).
    controls : tuple of str
        Wrong stimuli (:data:`CONTROLS`).
    n_perm : int
        Surrogates of the shift and phase nulls.
    seed : int
        Seed of the surrogates.
    """

    dataset: str = "alice"
    model: str = "minilm"
    n_atoms: int = 16
    controls: tuple[str, ...] = CONTROLS
    n_perm: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        bad = sorted(set(self.controls) - set(CONTROLS))
        if bad or not self.controls:
            raise ValueError(f"controls must be a non-empty subset of {CONTROLS}, got {bad}")
        if self.n_atoms < 1 or self.n_perm < 19:
            raise ValueError("n_atoms must be >= 1 and n_perm >= 19")


def _resample(atoms: np.ndarray, tr_from: float, times_to: np.ndarray) -> np.ndarray:
    """Linear interpolation onto ``times_to`` (from 0), repeated circularly to fill."""
    t_from = tr_from * np.arange(atoms.shape[0])
    rel = np.asarray(times_to, float) - float(times_to[0])
    rel = np.mod(rel, t_from[-1])
    return np.column_stack([np.interp(rel, t_from, atoms[:, j]) for j in range(atoms.shape[1])])


def wrong_atoms(params: WrongStimulusParams, times: np.ndarray) -> dict[str, np.ndarray]:
    """The wrong-stimulus atoms on the dataset's volume times.

    Parameters
    ----------
    params : WrongStimulusParams
    times : ndarray, shape (n_time,)
        Volume times (s) of the dataset's BOLD.

    Returns
    -------
    dict of ndarray (n_time, n_atoms), one per control
    """
    from .comparison.features import FeatureSpec, build
    from .decomposition import SparseDictionary
    from .extraction import cached_extract
    from .stimuli import load_stimulus

    out = {}
    if "reversed" in params.controls:
        real = build(FeatureSpec("atoms", params.model, k=params.n_atoms), seed=params.seed)
        out["reversed"] = np.ascontiguousarray(np.flip(real.values, 0))
    if "other-story" in params.controls:
        responses = cached_extract(params.model, "default-story", progress=False)
        sd = SparseDictionary(
            n_atoms=params.n_atoms, alpha=0.1, seed=params.seed, verbose=False
        ).fit(responses)
        tr = float(load_stimulus("default-story").tr)
        out["other-story"] = _resample(np.asarray(sd.atoms_, float), tr, times)
    for name, a in out.items():
        if a.shape[0] != len(times):
            raise ValueError(f"{name} atoms have {a.shape[0]} rows, the BOLD {len(times)}")
    return out


def wrong_stimulus_null(
    params: WrongStimulusParams, subjects: list[str] | None = None, progress: bool = False
) -> xr.Dataset:
    """p values of wrong-stimulus atoms on real BOLD, for each test.

    Parameters
    ----------
    params : WrongStimulusParams
    subjects : list of str, optional
        Subjects (default: every usable subject present).
    progress : bool
        Show a progress bar over subjects.

    Returns
    -------
    xarray.Dataset
        ``pvalue`` (control, test, subject, atom, region), with provenance attrs.
    """
    import warnings

    from tqdm.auto import tqdm

    from . import datasets
    from .encoding import fit_encoding

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # excluded-subject warnings are the loader's
        subs = list(subjects) if subjects is not None else datasets.subjects(params.dataset)
    if not subs:
        raise ValueError(f"no subjects of {params.dataset!r} found under the data roots")
    first = datasets.load(params.dataset, subs[0])
    times = np.asarray(first["time"].values, float)
    atoms = wrong_atoms(params, times)
    regions = (
        [str(r) for r in first["roi"].values]
        if "roi" in first.coords
        else list(range(first.sizes["voxel"]))
    )
    p = np.full(
        (len(params.controls), len(TESTS), len(subs), params.n_atoms, len(regions)), np.nan
    )
    for si, s in enumerate(tqdm(subs, desc="subjects", disable=None if progress else True)):
        bold = first if si == 0 else datasets.load(params.dataset, s)
        if not np.array_equal(np.asarray(bold["time"].values, float), times):
            raise ValueError(f"{params.dataset} {s}: volume times differ from {subs[0]}'s")
        for ci, c in enumerate(params.controls):
            a = xr.DataArray(atoms[c], dims=("time", "atom"), coords={"time": times})
            for null in ("shift", "phase"):
                fit = fit_encoding(
                    a,
                    bold,
                    n_perm=params.n_perm,
                    null=null,
                    cv=0,
                    seed=params.seed,
                    progress=False,
                )
                p[ci, TESTS.index(null), si] = fit["pvalue_perm"].values
                if null == "shift":
                    p[ci, TESTS.index("parametric"), si] = fit["pvalue_param"].values
    ds = xr.Dataset(
        {
            "pvalue": (
                ("control", "test", "subject", "atom", "region"),
                p,
                {"long_name": "p value of a wrong-stimulus atom", "units": "1"},
            )
        },
        coords={
            "control": list(params.controls),
            "test": list(TESTS),
            "subject": subs,
            "atom": np.arange(params.n_atoms),
            "region": regions,
        },
    )
    ds.attrs.update(
        title="wrong-stimulus null on real BOLD",
        dataset=params.dataset,
        **provenance(
            {
                "model": params.model,
                "n_atoms": params.n_atoms,
                "controls": list(params.controls),
                "n_perm": params.n_perm,
                "seed": params.seed,
            }
        ),
    )
    return ds


def rejection_rates(null: xr.Dataset, level: float = 0.05) -> xr.Dataset:
    """False-positive rate of each (control, test) with a 95 % Wilson interval.

    Parameters
    ----------
    null : xarray.Dataset
        From :func:`wrong_stimulus_null`.
    level : float
        Nominal level.

    Returns
    -------
    xarray.Dataset
        ``rate``, ``low``, ``high``, ``n_tests`` (control, test) and ``rate_subject``
        (control, test, subject).
    """
    from scipy.stats import binomtest

    p = null["pvalue"]
    hit = (p < level).where(np.isfinite(p))
    k = hit.sum(("subject", "atom", "region"))
    n = np.isfinite(p).sum(("subject", "atom", "region"))
    low = xr.zeros_like(k, dtype=float)
    high = xr.zeros_like(k, dtype=float)
    for c in k["control"].values:
        for t in k["test"].values:
            ci = binomtest(int(k.sel(control=c, test=t)), int(n.sel(control=c, test=t)))
            iv = ci.proportion_ci(0.95, method="wilson")
            low.loc[{"control": c, "test": t}] = iv.low
            high.loc[{"control": c, "test": t}] = iv.high
    return xr.Dataset(
        {
            "rate": k / n,
            "low": low,
            "high": high,
            "n_tests": n,
            "rate_subject": hit.mean(("atom", "region")),
        },
        attrs={"level": level, **{k_: v for k_, v in null.attrs.items() if k_ != "title"}},
    )

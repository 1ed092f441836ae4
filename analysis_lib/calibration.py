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


# ------------------------------------------------------------------ partial nulls
#: Tests of the network-level partial null (:func:`partial_null`).
PARTIAL_TESTS = ("shift", "shift-polarity", "subject")


@dataclass(frozen=True)
class PartialNullParams:
    """Parameters of :func:`partial_null`.

    Attributes
    ----------
    dataset : str
        Real dataset with network labels per region (``partly-cloudy``).
    n_draws : int
        Random atoms; draw ``d`` is planted in network ``d mod n_network``.
    amplitude : float
        Planted effect in the driven network: the atom, scaled to each region's standard
        deviation times ``amplitude * (1 + 0.5 e_s)`` for subject ``s`` (``e_s`` standard
        normal), is added to every region of that network.
    n_shift : int
        Circular shifts of the network shift test.
    threshold : float
        Uncorrected group p of the region map whose polarity the one-sided test follows
        (the book grid's voxel threshold).
    seed : int
    """

    dataset: str = "partly-cloudy"
    n_draws: int = 100
    amplitude: float = 0.2
    n_shift: int = 200
    threshold: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dataset != "partly-cloudy":
            raise ValueError(
                f"partial_null needs regions labelled by network; dataset {self.dataset!r} "
                "has none (use 'partly-cloudy')"
            )
        if self.n_draws < 1:
            raise ValueError(f"n_draws must be at least 1, got {self.n_draws}")
        if self.amplitude < 0:
            raise ValueError(f"amplitude must be >= 0, got {self.amplitude}")
        if self.n_shift < 20:
            raise ValueError(f"n_shift must be at least 20, got {self.n_shift}")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")


def _random_atom(rng: np.random.Generator, times: np.ndarray) -> np.ndarray:
    """An atom-like course unrelated to any stimulus: HRF-convolved random events."""
    from .hrf import convolve

    onsets = np.sort(rng.uniform(times[0], times[-1], size=max(8, times.size // 4)))
    return convolve(onsets, rng.standard_normal(onsets.size), times)


def partial_null(
    params: PartialNullParams, subjects: list[str] | None = None, progress: bool = False
) -> xr.Dataset:
    """The network-level tests when an atom drives one network and is tested against others.

    A random atom (HRF-convolved random events, unrelated to the film) is planted in the
    real BOLD of one network of every subject (:class:`PartialNullParams`); each test is
    then asked about every network. For the planted network a rejection is power; for the
    others it is a false positive under a *partial* null (the atom is real, just not
    there). Tests (:data:`PARTIAL_TESTS`):

    ``shift``           the network shift test of the ``network-shift`` rule
                        (:func:`analysis_lib.networks.temporal.network_shift_test`,
                        marginal fit, two-sided);
    ``shift-polarity``  the same statistic, one-sided in the polarity of the atom's
                        thresholded group map over the network (the sign that the
                        correspondence's Dice polarity reports: negative when more of its
                        significant regions there are negative);
    ``subject``         the subject-level test (one-sample t over subjects of each
                        subject's coefficient for the network-mean BOLD, two-sided), the
                        logic of the ``network`` and ``spatial+network`` rules.

    Parameters
    ----------
    params : PartialNullParams
    subjects : list of str, optional
        Default: every subject present.
    progress : bool

    Returns
    -------
    xarray.Dataset
        ``pvalue`` (test, draw, network), ``planted`` (draw: name of the driven network)
        and provenance attrs.
    """
    from scipy import stats
    from tqdm.auto import tqdm

    from .datasets import partly_cloudy
    from .encoding.design import drift_regressors
    from .networks.temporal import network_courses, network_shift_test

    group = partly_cloudy.load_group(subjects)
    y = np.asarray(group.transpose("subject", "time", "voxel").values, float)
    times = np.asarray(group["time"].values, float)
    labels = np.asarray(group["network"].values, int)
    import pandas as pd

    table = (
        pd.DataFrame({"network": labels, "network_name": group["network_name"].values})
        .drop_duplicates("network")
        .query("network > 0")
        .sort_values("network")
    )
    ids = table["network"].to_numpy()
    names = [str(n) for n in table["network_name"]]
    nuisance = drift_regressors(times).to_numpy()
    proj = nuisance @ np.linalg.pinv(nuisance)
    sd = y.std(1, keepdims=True)  # (subject, 1, region)
    sd[sd == 0] = 1.0
    n_sub, n_time, _ = y.shape
    rng = np.random.default_rng(params.seed)
    p = np.ones((len(PARTIAL_TESTS), params.n_draws, len(ids)))
    planted = []
    for d in tqdm(range(params.n_draws), desc="draws", disable=None if progress else True):
        a = _random_atom(rng, times)
        a = (a - a.mean()) / a.std()
        target = d % len(ids)
        planted.append(names[target])
        gain = params.amplitude * (1 + 0.5 * rng.standard_normal(n_sub))
        yd = y.copy()
        inside = labels == ids[target]
        yd[:, :, inside] += gain[:, None, None] * a[None, :, None] * sd[:, :, inside]
        courses = [network_courses(yd[s], labels, ids) for s in range(n_sub)]
        shift = network_shift_test(
            a[:, None], courses, nuisance, n_shift=params.n_shift, seed=params.seed + d
        )
        p[0, d] = shift["p"][0]
        # group map of the atom over regions (marginal coefficient, t over subjects)
        ar = a - proj @ a
        yr = yd - proj @ yd  # (subject, time, region)
        beta = (ar @ yr) / (ar @ ar) / sd[:, 0, :]  # (subject, region)
        t_map, p_map = stats.ttest_1samp(beta, 0.0, axis=0)
        sig = np.where(p_map < params.threshold, np.sign(t_map), 0.0)
        for j, i in enumerate(ids):
            m = labels == i
            polarity = -1.0 if (sig[m] < 0).sum() > (sig[m] > 0).sum() else 1.0
            p[1, d, j] = stats.norm.sf(polarity * shift["z"][0, j])
        # subject-level test of the network-mean coefficient
        c = np.stack(courses)  # (subject, time, network)
        cr = c - proj @ c
        cr = cr / cr.std(1, keepdims=True)
        r_sub = ((ar / ar.std()) @ cr) / n_time  # (subject, network)
        p[2, d] = stats.ttest_1samp(r_sub, 0.0, axis=0).pvalue
    ds = xr.Dataset(
        {
            "pvalue": (
                ("test", "draw", "network"),
                p,
                {"long_name": "p value of the (random atom, network) pair", "units": "1"},
            ),
            "planted": ("draw", np.array(planted, dtype=object)),
        },
        coords={"test": list(PARTIAL_TESTS), "draw": np.arange(params.n_draws), "network": names},
    )
    ds.attrs.update(
        title="network-level tests under partial nulls, random atoms planted in real BOLD",
        dataset=params.dataset,
        n_subjects=n_sub,
        **provenance(
            {
                "n_draws": params.n_draws,
                "amplitude": params.amplitude,
                "n_shift": params.n_shift,
                "threshold": params.threshold,
                "seed": params.seed,
            }
        ),
    )
    return ds


def partial_null_rates(null: xr.Dataset, level: float = 0.05) -> xr.Dataset:
    """Rejection rates of :func:`partial_null`: power in the planted network, false
    positives in the others, each with a 95 % Wilson interval.

    Parameters
    ----------
    null : xarray.Dataset
        From :func:`partial_null`.
    level : float
        Nominal level.

    Returns
    -------
    xarray.Dataset
        ``rate``, ``low``, ``high``, ``n_tests`` (test, pair: ``planted``/``other``).
    """
    from scipy.stats import binomtest

    p = null["pvalue"]
    driven = null["planted"] == null["network"]  # (draw, network)
    out = {k: np.zeros((p.sizes["test"], 2)) for k in ("rate", "low", "high", "n_tests")}
    for ti in range(p.sizes["test"]):
        for pi, mask in enumerate((driven, ~driven)):
            v = p.isel(test=ti).values[mask.transpose("draw", "network").values]
            k = int((v < level).sum())
            iv = binomtest(k, v.size).proportion_ci(0.95, method="wilson")
            out["rate"][ti, pi], out["n_tests"][ti, pi] = k / v.size, v.size
            out["low"][ti, pi], out["high"][ti, pi] = iv.low, iv.high
    return xr.Dataset(
        {k: (("test", "pair"), v) for k, v in out.items()},
        coords={"test": p["test"].values, "pair": ["planted", "other"]},
        attrs={"level": level, **{k: v for k, v in null.attrs.items() if k != "title"}},
    )

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Null calibration: are the p values honest?
#
# A test at level $\alpha$ is **calibrated** when, on data without any effect, it
# rejects in a fraction $\alpha$ of the cases, and its p values are uniform on $[0, 1]$.
# fMRI time series and the atoms of a model are both autocorrelated; ordinary least
# squares then underestimates the variance of a regression coefficient and its
# parametric p values are too small. The encoding stage
# ({func}`analysis_lib.encoding.fit_encoding`) therefore tests each atom's $t$ value
# against **surrogate atoms** that keep their autocorrelation but break their alignment
# with the data:
#
# - `shift`: circular shifts $d_k(t) \mapsto d_k(t + \tau \bmod T)$, $\tau$ drawn among
#   the non-zero shifts;
# - `phase`: phase randomization (the Fourier amplitudes of each atom are kept, the
#   phases drawn at random, the same phases for all atoms of one surrogate).
#
# With $B$ surrogates and $t^{(b)}_{kv}$ the surrogate $t$ values, the permutation p value
# is $p_{kv} = (1 + \#\{b : |t^{(b)}_{kv}| \ge |t_{kv}|\}) / (B + 1)$, and the family-wise
# error (FWE) corrected one uses the maximum over voxels,
# $p^{\mathrm{FWE}}_{kv} = (1 + \#\{b : \max_{v'} |t^{(b)}_{kv'}| \ge |t_{kv}|\}) / (B + 1)$.
# A test rejects at level $\alpha$ when $p \le \alpha$. With $B = 99$ surrogates the
# permutation p values take the values $1/100, 2/100, \dots$, so that under exact
# exchangeability $P(p \le 0.05) = 0.05$ exactly (and $P(p < 0.05) = 0.04$). A family
# (one atom's map) makes a family-wise error when any of its voxels has
# $p^{\mathrm{FWE}} \le \alpha$; the FWE rate should be at most $\alpha$.
#
# This page measures the rejection rates on null data: first on many small synthetic
# data sets (AR(1) noise, smooth atoms), where the family-wise rate can be estimated,
# then on the SIMULATED `phantom-null` subjects (AR(1) noise, drift and intrinsic network
# fluctuations, no stimulus signal). Intervals are 95 % Wilson intervals of a binomial
# proportion. The sizes are small so that the page builds in seconds; the test suite
# (`tests/test_encoding.py`) checks the same properties on more data sets.

# %% tags=["remove-cell"]
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue as myst_glue
from scipy import stats

from analysis_lib import datasets
from analysis_lib.encoding import fit_encoding
from analysis_lib.validation import oracle_atoms


def glue(name: str, value, display: bool = False) -> None:
    """Glue a plain Python value (a NumPy scalar would be pasted as ``np.float64(...)``)."""
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=display)


ALPHA = 0.05
N_SETS, N_TIME, N_VOX, N_ATOMS, N_PERM, RHO = 40, 200, 100, 4, 99, 0.4


def ar1(rng: np.random.Generator, shape: tuple[int, int], rho: float) -> np.ndarray:
    """Unit-variance AR(1) series along axis 0."""
    e = rng.standard_normal(shape)
    x = np.empty(shape)
    x[0] = e[0]
    for t in range(1, shape[0]):
        x[t] = rho * x[t - 1] + np.sqrt(1 - rho**2) * e[t]
    return x


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(int(k), int(n)).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


rng = np.random.default_rng(0)
pv = {"shift": [], "phase": [], "param (OLS)": []}
family = {"shift": [], "phase": []}
for i in range(N_SETS):
    atoms = ar1(rng, (N_TIME, N_ATOMS), 0.9)  # smooth, like HRF-convolved features
    bold = 100 + ar1(rng, (N_TIME, N_VOX), RHO)  # no effect of the atoms
    for null in ("shift", "phase"):
        fit = fit_encoding(
            atoms, bold, n_perm=N_PERM, cv=None, null=null, seed=i, tr=1.0, progress=False
        )
        pv[null].append(fit["pvalue_perm"].values.ravel())
        family[null].append((fit["pvalue_fwe"] <= ALPHA).any("voxel").values)
        if null == "shift":
            pv["param (OLS)"].append(fit["pvalue_param"].values.ravel())
pv = {k: np.concatenate(v) for k, v in pv.items()}
family = {k: np.concatenate(v) for k, v in family.items()}

rows = []
for name, p in pv.items():
    k, n = int((p <= ALPHA).sum()), p.size
    lo, hi = wilson(k, n)
    rows.append(
        {"test": name, "level": "voxel", "rate": k / n, "95% low": lo, "95% high": hi, "tests": n}
    )
for name, f in family.items():
    k, n = int(f.sum()), f.size
    lo, hi = wilson(k, n)
    rows.append(
        {
            "test": f"{name} (max-stat FWE)",
            "level": "family",
            "rate": k / n,
            "95% low": lo,
            "95% high": hi,
            "tests": n,
        }
    )
synthetic = pd.DataFrame(rows)
s = synthetic.set_index("test")
glue("cal_n_sets", N_SETS, display=False)
glue("cal_n_vox", N_VOX, display=False)
glue("cal_n_perm", N_PERM, display=False)
glue("cal_rho", RHO, display=False)
glue("cal_shift_rate", s.loc["shift", "rate"], display=False)
glue("cal_phase_rate", s.loc["phase", "rate"], display=False)
glue("cal_param_rate", s.loc["param (OLS)", "rate"], display=False)
glue("cal_fwe_shift", s.loc["shift (max-stat FWE)", "rate"], display=False)
glue("cal_fwe_phase", s.loc["phase (max-stat FWE)", "rate"], display=False)
glue("cal_fwe_shift_hi", s.loc["shift (max-stat FWE)", "95% high"], display=False)
glue("cal_n_families", int(s.loc["shift (max-stat FWE)", "tests"]), display=False)

# %% [markdown]
# ## Synthetic AR(1) null data
#
# {glue:text}`cal_n_sets` data sets of {glue:text}`cal_n_vox` voxels with AR(1) noise
# ($\rho$ = {glue:text}`cal_rho`), four smooth atoms unrelated to the data, and
# {glue:text}`cal_n_perm` surrogates per test:

# %% tags=["remove-input"]
synthetic.style.format({"rate": "{:.3f}", "95% low": "{:.3f}", "95% high": "{:.3f}"}).hide(
    axis="index"
)

# %% [markdown]
# At the nominal 5 %, circular shifts reject {glue:text}`cal_shift_rate:.3f` and phase
# randomization {glue:text}`cal_phase_rate:.3f` of the voxel tests, while the parametric
# OLS p values, which assume independent errors, reject {glue:text}`cal_param_rate:.3f`.
# Over {glue:text}`cal_n_families` families the max-statistic correction makes a
# family-wise error in {glue:text}`cal_fwe_shift:.3f` (shift) and
# {glue:text}`cal_fwe_phase:.3f` (phase) of them (upper 95 % bound for shifts:
# {glue:text}`cal_fwe_shift_hi:.3f`).

# %% tags=["remove-input"]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
bins = np.linspace(0, 1, 21)
for ax, (name, p) in zip(axes, pv.items(), strict=True):
    ax.hist(p, bins=bins, density=True, color="0.4")
    ax.axhline(1, color="tab:red", ls="--", lw=1, label="uniform")
    ax.set(title=name, xlabel="p value")
axes[0].set_ylabel("density")
axes[0].legend(fontsize=8)
fig.suptitle("p values on synthetic null data (should be flat)")
fig.tight_layout()

# %% [markdown]
# ## The simulated null subjects
#
# The four planted story features of the phantom, used as atoms, against two subjects of
# `phantom-null` (SIMULATED: the noise of `phantom-story` without its signal; 4,951
# cortical grayordinates each). Its noise is richer than AR(1): slow drifts (removed by
# the cosine drift model) and network fluctuations shared by the voxels of a network.

# %% tags=["remove-cell"]
atoms = oracle_atoms(datasets.ground_truth("phantom-story"))
phantom_p = {"shift": [], "phase": [], "param (OLS)": []}
for s in datasets.subjects("phantom-null")[:2]:
    bold = datasets.load("phantom-null", s)
    for null in ("shift", "phase"):
        fit = fit_encoding(atoms, bold, n_perm=N_PERM, cv=None, null=null, seed=1, progress=False)
        phantom_p[null].append(fit["pvalue_perm"].values.ravel())
        if null == "shift":
            phantom_p["param (OLS)"].append(fit["pvalue_param"].values.ravel())
phantom_p = {k: np.concatenate(v) for k, v in phantom_p.items()}
rows = []
for name, p in phantom_p.items():
    p = p[np.isfinite(p)]
    k, n = int((p <= ALPHA).sum()), p.size
    lo, hi = wilson(k, n)
    rows.append({"test": name, "rate": k / n, "95% low": lo, "95% high": hi, "tests": n})
    glue(f"cal_phantom_{name.split()[0]}_rate", k / n, display=False)
phantom = pd.DataFrame(rows)

# %% tags=["remove-input"]
phantom.style.format({"rate": "{:.3f}", "95% low": "{:.3f}", "95% high": "{:.3f}"}).hide(
    axis="index"
)

# %% tags=["remove-input"]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
for ax, (name, p) in zip(axes, phantom_p.items(), strict=True):
    ax.hist(p[np.isfinite(p)], bins=bins, density=True, color="tab:blue")
    ax.axhline(1, color="tab:red", ls="--", lw=1)
    ax.set(title=f"phantom-null: {name}", xlabel="p value")
axes[0].set_ylabel("density")
fig.tight_layout()

# %% [markdown]
# On the simulated null subjects the voxel-wise rejection rates are
# {glue:text}`cal_phantom_shift_rate:.3f` (shift), {glue:text}`cal_phantom_phase_rate:.3f`
# (phase) and {glue:text}`cal_phantom_param_rate:.3f` (parametric OLS). Voxels of the
# same network share their fluctuations, so these tests are not independent and the
# intervals above are too narrow; the rate itself is still the expected false-positive
# share. Note that 4 atoms x 2 subjects are only 8 families: too few to estimate a
# family-wise rate, which is why the synthetic part uses many small data sets.
#
# ## Real brains: atoms of a wrong stimulus
#
# Simulated null data check a test under the simulator's own assumptions. On the **real
# Alice BOLD** (every usable subject present under the data roots, 6 ROIs each) the
# encoding stage is given atoms that are *not* aligned with what the subjects heard: the
# MiniLM atoms of the Alice story played backwards (`reversed`) and the MiniLM atoms of
# another story (`other-story`: `default-story`, resampled onto the Alice volume times)
# ({func}`analysis_lib.calibration.wrong_stimulus_null`). Every (subject, atom, ROI) test
# with $p < 0.05$ is a false positive. Intervals are Wilson intervals over all tests; the
# atoms and ROIs of one subject are not independent, so they are too narrow, and the
# spread over subjects is shown beside them.

# %% tags=["remove-cell"]
from analysis_lib.calibration import WrongStimulusParams, rejection_rates, wrong_stimulus_null

wrong_params = WrongStimulusParams()
wrong = wrong_stimulus_null(wrong_params)
wrong_rates = rejection_rates(wrong, level=ALPHA)
glue("cal_real_n_subjects", wrong.sizes["subject"])
glue("cal_real_n_perm", wrong_params.n_perm)
glue("cal_real_model", wrong_params.model)
rows = []
for c in wrong_rates["control"].values:
    for t in wrong_rates["test"].values:
        sel = {"control": c, "test": t}
        rate = float(wrong_rates["rate"].sel(sel))
        per_sub = wrong_rates["rate_subject"].sel(sel).values
        rows.append(
            {
                "wrong stimulus": c,
                "test": t,
                "rate": rate,
                "95% low": float(wrong_rates["low"].sel(sel)),
                "95% high": float(wrong_rates["high"].sel(sel)),
                "subjects: min": per_sub.min(),
                "subjects: max": per_sub.max(),
                "tests": int(wrong_rates["n_tests"].sel(sel)),
            }
        )
        glue(f"cal_real_{c}_{t}", f"{rate:.3f}")
        glue(
            f"cal_real_{c}_{t}_ci",
            f"{float(wrong_rates['low'].sel(sel)):.3f} to {float(wrong_rates['high'].sel(sel)):.3f}",
        )
real_null = pd.DataFrame(rows)

# %% tags=["remove-input"]
real_null.style.format(
    {k: "{:.3f}" for k in ("rate", "95% low", "95% high", "subjects: min", "subjects: max")}
).hide(axis="index")

# %% [markdown]
# On real brains ({glue:text}`cal_real_n_subjects` Alice subjects, {glue:text}`cal_real_model`
# atoms, {glue:text}`cal_real_n_perm` surrogates), the reversed story gives false-positive
# rates of {glue:text}`cal_real_reversed_shift` (shift null; 95 % interval
# {glue:text}`cal_real_reversed_shift_ci`), {glue:text}`cal_real_reversed_phase` (phase
# null) and {glue:text}`cal_real_reversed_parametric` (parametric OLS; interval
# {glue:text}`cal_real_reversed_parametric_ci`); the other story
# {glue:text}`cal_real_other-story_shift`, {glue:text}`cal_real_other-story_phase` and
# {glue:text}`cal_real_other-story_parametric`. The parametric p values ignore the
# autocorrelation of real BOLD and of smooth atoms, which is why the book's encoding
# inference uses the surrogate nulls and why the voxel threshold of the network
# correspondence (parametric p < 0.01, uncorrected) only binarises maps and never carries a
# claim by itself (the claims rest on the network-level tests, see "Validation on simulated
# data").

# %% [markdown]
# ## The network-level test under partial nulls
#
# A network-level test can be right when nothing is anywhere and still wrong when an atom
# is real but tested in the wrong place. To check this, a random atom-like course
# (HRF-convolved random events, unrelated to the film) is **planted in one network** of
# the **real Partly Cloudy BOLD** of every subject (its regions get the course scaled to
# their own standard deviation, with a subject-varying gain), and every test is asked
# about every network ({func}`analysis_lib.calibration.partial_null`). A rejection in the
# planted network is power; in any other network it is a false positive under a partial
# null: the atom drives network A and is tested against B. Three tests:
#
# - `shift`: the network shift test of the calibrated `network-shift` rule (circular
#   shifts of the atom, two-sided);
# - `shift-polarity`: the same statistic, one-sided in the polarity of the atom's
#   thresholded group map over the network (the polarity the correspondence reports);
# - `subject`: the subject-level test behind the `network` and `spatial+network` rules
#   (one-sample $t$ over subjects of each subject's network coefficient).

# %% tags=["remove-cell"]
from analysis_lib.calibration import PartialNullParams, partial_null, partial_null_rates
from analysis_lib.datasets import partly_cloudy

has_pc = partly_cloudy.available()
if has_pc:
    pn_params = PartialNullParams(n_draws=80)
    pn = partial_null(pn_params)
    pn_rates = partial_null_rates(pn, level=ALPHA)
    glue("cal_pn_n_subjects", int(pn.attrs["n_subjects"]))
    glue("cal_pn_n_draws", pn_params.n_draws)
    glue("cal_pn_amplitude", pn_params.amplitude)
    glue("cal_pn_n_networks", int(pn.sizes["network"]))
    rows = []
    for t in pn_rates["test"].values:
        for pair in ("planted", "other"):
            sel = {"test": t, "pair": pair}
            rate, lo, hi = (float(pn_rates[v].sel(sel)) for v in ("rate", "low", "high"))
            rows.append(
                {
                    "test": t,
                    "network tested": "planted (power)" if pair == "planted" else "other (FPR)",
                    "rejection rate": rate,
                    "95% low": lo,
                    "95% high": hi,
                    "tests": int(pn_rates["n_tests"].sel(sel)),
                }
            )
            glue(f"cal_pn_{t}_{pair}", f"{rate:.3f}")
            glue(f"cal_pn_{t}_{pair}_ci", f"{lo:.3f} to {hi:.3f}")
    pn_table = pd.DataFrame(rows)
    _sel = {"test": "shift", "pair": "other"}
    _lo, _hi = (float(pn_rates[v].sel(_sel)) for v in ("low", "high"))
    if _lo > ALPHA:
        _verdict = (
            f"lies above the nominal level {ALPHA:g}: under a partial null the shift test "
            f"is liberal, by a factor of {float(pn_rates['rate'].sel(_sel)) / ALPHA:.1f} at "
            "its point estimate: a significant pair in a network that the atom does not "
            "drive is that much more likely than the level promises"
        )
    elif _hi < ALPHA:
        _verdict = f"lies below the nominal level {ALPHA:g}: the test is conservative here"
    else:
        _verdict = f"covers the nominal level {ALPHA:g}: the test holds its level here"
    glue("cal_pn_shift_verdict", _verdict)
    _r = pn_rates["rate"].sel(pair="other")
    glue(
        "cal_pn_polarity_ratio",
        f"{float(_r.sel(test='shift-polarity') / _r.sel(test='shift')):.1f}",
    )
else:
    glue("cal_pn_polarity_ratio", "(not run)")
    glue("cal_pn_shift_verdict", "(not run: no Partly Cloudy data)")
    for k in ("n_subjects", "n_draws", "amplitude", "n_networks"):
        glue(f"cal_pn_{k}", "(not run: no Partly Cloudy data)")
    for t in ("shift", "shift-polarity", "subject"):
        for pair in ("planted", "other"):
            glue(f"cal_pn_{t}_{pair}", "(not run)")
            glue(f"cal_pn_{t}_{pair}_ci", "(not run)")
    pn_table = pd.DataFrame()

# %% tags=["remove-input"]
if has_pc:
    display_table = pn_table.style.format(
        {k: "{:.3f}" for k in ("rejection rate", "95% low", "95% high")}
    ).hide(axis="index")
else:
    display_table = "The Partly Cloudy data are not under the data roots: not run."
display_table

# %% [markdown]
# On {glue:text}`cal_pn_n_subjects` real subjects ({glue:text}`cal_pn_n_draws` random
# atoms, planted gain {glue:text}`cal_pn_amplitude` region standard deviations, each
# tested against {glue:text}`cal_pn_n_networks` networks), the shift test rejects in the
# other networks at a rate of {glue:text}`cal_pn_shift_other` (95 % interval
# {glue:text}`cal_pn_shift_other_ci`) while finding the planted network at
# {glue:text}`cal_pn_shift_planted`. That interval {glue:text}`cal_pn_shift_verdict`.
# Taking the side of the test from the polarity of the
# matched map gives {glue:text}`cal_pn_shift-polarity_other`
# ({glue:text}`cal_pn_shift-polarity_other_ci`): the polarity is read from the same data
# as the statistic, so the one-sided test picks the side the data already favour
# ({glue:text}`cal_pn_polarity_ratio` times the two-sided rate). The book therefore keeps the two-sided test; a one-sided
# test needs its side fixed before seeing the data (for instance from a held-out run).
# The subject-level test rejects in {glue:text}`cal_pn_subject_other`
# ({glue:text}`cal_pn_subject_other_ci`) of the other networks: the chance correlation of
# a real atom with a network's film-driven response is the same in every subject who saw
# the film, so subjects are not the right random unit for a network-level claim (why the
# calibrated rule tests with shifts of the stimulus, {mod}`analysis_lib.networks.temporal`).

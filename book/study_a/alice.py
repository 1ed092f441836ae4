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
# # Real data: predicting six language regions in the Alice recordings
#
# This chapter uses **real fMRI**: the public release of Brennan et al.
# {cite}`brennan2016abstract`, in which participants listened to the first chapter of
# *Alice's Adventures in Wonderland* (about 12 minutes, TR 2 s). The release holds, per
# subject, the time courses of six left-hemisphere and anterior-temporal regions of
# interest (ROIs): left and right anterior temporal lobe (LATL, RATL), left posterior
# temporal lobe (LPTL), left inferior parietal lobe (LIPL), left premotor cortex (LPreM)
# and left inferior frontal gyrus (LIFG), and the authors' own linguistic predictors.
#
# The question: how well do the atoms of a language model predict these regions on
# held-out data, compared with the predictors that linguists designed for this study, and
# compared with how much of each region's signal is shared across listeners at all (a
# noise ceiling)? The data are read from the extra data root
# (`ANALYSIS_LIB_EXTRA_DATA`) or the data home; without them this page shows a box with
# the command that fetches them (`python -m analysis_lib fetch alice`).

# %% tags=["remove-input"]
from analysis_lib.book import require_data

require_data("alice")  # without the data: a box saying how to fetch them; the rest is skipped

# %% tags=["remove-cell"]
# %matplotlib inline
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from IPython.display import Markdown, display
from myst_nb import glue
from scipy.stats import wilcoxon
from transformers.utils import logging as hf_logging

from analysis_lib import plotting
from analysis_lib.datasets import alice
from analysis_lib.decomposition import SparseDictionary
from analysis_lib.encoding import fit_encoding
from analysis_lib.encoding.design import drift_regressors
from analysis_lib.extraction import cached_extract
from analysis_lib.results import model_info
from analysis_lib.stimuli import load_stimulus

hf_logging.disable_progress_bar()  # no weight-loading bars in the page on the first build
hf_logging.set_verbosity_error()
plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False})
N_ATOMS = 16  # atoms per model: few, so that they compete with the 12 authors' predictors
CV_FOLDS = 5
MODELS = ["minilm", "smollm2", "tiny-bert", "tiny-llama"]

# %% [markdown]
# ## The data
#
# Subjects with a defective recording (every ROI constant) are left out by the loader,
# which says so; the warning is shown here rather than hidden.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    subjects = alice.subjects()  # raises FileNotFoundError with the data's source if absent
    stimulus = load_stimulus("alice")
for w in caught:
    display(Markdown(f"> **Loader warning** ({w.category.__name__}): {w.message}"))
bold = {s: alice.load(s, stimulus=stimulus) for s in subjects}
confounds = {s: alice.load_confounds(s) for s in subjects}
authors = alice.predictors().rename(predictor="atom")
excluded = alice.defective_subjects()
glue("alice_n_subjects", len(subjects), display=False)
glue("alice_excluded", ", ".join(excluded) if excluded else "none", display=False)
glue("alice_n_volumes", int(stimulus.n_volumes), display=False)
glue("alice_n_words", len(stimulus.words), display=False)
print(
    f"{len(subjects)} usable subjects, {stimulus.n_volumes} volumes (TR {stimulus.tr} s, "
    f"first kept volume at {stimulus.t0} s), {len(stimulus.words)} words; "
    f"ROIs: {', '.join(map(str, bold[subjects[0]]['roi'].values))}"
)

# %% [markdown]
# {glue:text}`alice_n_subjects` subjects are usable (left out as defective:
# {glue:text}`alice_excluded`), each with {glue:text}`alice_n_volumes` volumes; the story
# has {glue:text}`alice_n_words` words in the TextGrid of the release.
#
# ## Feature sets
#
# - **Authors' predictors**: the 12 HRF-convolved predictors of Brennan et al. (word rate,
#   log frequency, syntactic node counts of several parsers, CFG and n-gram surprisal),
#   as released (each orthogonalised by the authors against the previous ones).
# - **Atoms of a model**: the FFN output neurons of the model are extracted on the Alice
#   word timings (same procedure as the default story: word events, SPM HRF, TR 2 s) and
#   summarised by a sparse dictionary of {glue:text}`alice_n_atoms` atoms
#   ($\alpha = 0.1$). Extraction is cached in the data home, so only the first build pays
#   for it. `tiny-bert` and `tiny-llama` have **random weights**: they show what word timing
#   alone gives through a network that knows no language.

# %%
glue("alice_n_atoms", N_ATOMS, display=False)
features = {"authors' predictors": authors}
dictionaries = {}
for m in MODELS:
    responses = cached_extract(m, "alice", progress=False)
    sd = SparseDictionary(n_atoms=N_ATOMS, alpha=0.1, seed=0, verbose=False).fit(responses)
    dictionaries[m] = sd
    features[f"{m} atoms"] = xr.DataArray(
        sd.atoms_,
        dims=("time", "atom"),
        coords={"time": responses["time"].values, "atom": np.arange(N_ATOMS)},
    )
summary = pd.DataFrame(
    {
        "weights": [model_info(m)["weights"] for m in MODELS],
        "neurons": [dictionaries[m].n_features_in_ for m in MODELS],
        "atoms": N_ATOMS,
        "median R² of the dictionary": [np.nanmedian(dictionaries[m].r2_) for m in MODELS],
    },
    index=pd.Index(MODELS, name="model"),
)
summary.round(3)

# %% [markdown]
# ## Held-out prediction
#
# For each subject, ROI and feature set, a ridge regression predicts the ROI time course
# from the features in **blocked cross-validation**
# ({func}`analysis_lib.encoding.fit_encoding` with `cv=5`): five contiguous blocks of
# volumes are held out in turn, the training volumes exclude a gap of 12 s on each side of
# the test block, the ridge penalty is chosen by an inner blocked cross-validation on the
# training volumes, and the six motion parameters, a cosine drift (high-pass 0.01 Hz) and
# an intercept are regressed out of features and data first. The score is
# $r_{cv}$, the correlation of the concatenated held-out predictions with the data.
#
# **Noise ceiling.** What a stimulus model can predict is the part of the signal that is
# shared by everyone who heard the story. We estimate it by leave-one-subject-out
# inter-subject correlation: after removing the same nuisance regressors,
#
# $$\mathrm{ISC}_{s,r} = \mathrm{corr}\Big(y_{s,r},\ \tfrac{1}{S-1}\textstyle\sum_{u \ne s}
# y_{u,r}\Big).$$
#
# It is an approximate ceiling, not a strict bound: the mean of the other subjects is itself
# noisy (which lowers it), and it can contain shared non-linguistic signal (which a model
# of the words cannot predict).

# %%
scores = []
for s in subjects:
    for name, x in features.items():
        enc = fit_encoding(x, bold[s], confounds[s], n_perm=0, cv=CV_FOLDS, seed=0, progress=False)
        for roi, r in zip(enc["roi"].values, enc["r_cv"].values, strict=True):
            scores.append({"subject": s, "features": name, "roi": str(roi), "r_cv": float(r)})
scores = pd.DataFrame(scores)


def residualise(y: np.ndarray, nuisance: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``y`` after least squares on ``nuisance``."""
    q, _ = np.linalg.qr(nuisance)
    return y - q @ (q.T @ y)


frame_times = stimulus.volume_times
drift = drift_regressors(frame_times).to_numpy(float)
clean = {
    s: residualise(bold[s].values.astype(float), np.hstack([confounds[s].values, drift]))
    for s in subjects
}
rois = [str(r) for r in bold[subjects[0]]["roi"].values]
ceiling = []
for s in subjects:
    others = np.mean([clean[u] for u in subjects if u != s], axis=0)
    for j, roi in enumerate(rois):
        isc = np.corrcoef(clean[s][:, j], others[:, j])[0, 1]
        ceiling.append({"subject": s, "roi": roi, "isc": float(isc)})
ceiling = pd.DataFrame(ceiling)

# %%
order = list(features)
table = scores.pivot_table(index="features", columns="roi", values="r_cv", aggfunc="mean")
table = table.loc[order, rois]
table.loc["noise ceiling (LOSO ISC)"] = ceiling.groupby("roi")["isc"].mean()[rois]
table["mean over ROIs"] = table[rois].mean(axis=1)
table.round(3)

# %%
fig, ax = plt.subplots(figsize=(12, 4.2))
palette = sns.color_palette("colorblind", len(order))
sns.barplot(
    data=scores,
    x="roi",
    y="r_cv",
    hue="features",
    hue_order=order,
    order=rois,
    errorbar=("ci", 95),
    seed=0,
    palette=palette,
    ax=ax,
)
ceil = ceiling.groupby("roi")["isc"].mean()[rois]
ax.scatter(
    np.arange(len(rois)),
    ceil.values,
    marker="_",
    s=900,
    linewidths=2.5,
    color="black",
    zorder=5,
    label="noise ceiling (LOSO ISC)",
)
ax.axhline(0, color="0.4", lw=0.8)
ax.set(
    xlabel="region of interest",
    ylabel="held-out r (mean over subjects, 95 % CI)",
    title=f"Alice: blocked {CV_FOLDS}-fold cross-validated prediction, {len(subjects)} subjects",
)
ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()

# %% [markdown]
# Per subject, averaged over the six ROIs, each feature set against the authors'
# predictors (two-sided Wilcoxon signed-rank test over subjects):

# %%
per_subject = scores.groupby(["subject", "features"])["r_cv"].mean().unstack()[order]
isc_subject = ceiling.groupby("subject")["isc"].mean()
tests = []
for name in order[1:]:
    diff = per_subject[name] - per_subject[order[0]]
    tests.append(
        {
            "features": name,
            "mean r_cv": per_subject[name].mean(),
            "difference to authors' predictors": diff.mean(),
            "subjects better": int((diff > 0).sum()),
            "Wilcoxon p": wilcoxon(per_subject[name], per_subject[order[0]]).pvalue,
            "share of noise ceiling": per_subject[name].mean() / isc_subject.mean(),
        }
    )
tests = pd.DataFrame(tests).set_index("features")
for name, key in [(order[0], "authors")] + [(f"{m} atoms", m.replace("-", "_")) for m in MODELS]:
    glue(f"alice_r_{key}", float(per_subject[name].mean()), display=False)
for m in MODELS:
    key = m.replace("-", "_")
    glue(f"alice_p_{key}", float(tests.loc[f"{m} atoms", "Wilcoxon p"]), display=False)
    glue(f"alice_better_{key}", int(tests.loc[f"{m} atoms", "subjects better"]), display=False)
glue("alice_ceiling", float(isc_subject.mean()), display=False)
best_roi = table.loc["noise ceiling (LOSO ISC)", rois].astype(float).idxmax()
glue("alice_best_roi", str(best_roi), display=False)
glue("alice_best_roi_isc", float(table.loc["noise ceiling (LOSO ISC)", best_roi]), display=False)
tests.round(4)

# %%
fig, ax = plt.subplots(figsize=(7, 4))
long = per_subject.reset_index().melt(id_vars="subject", var_name="features", value_name="r_cv")
long["model"] = long["features"]
plotting.model_comparison(
    long,
    "r_cv",
    kind="point",
    ax=ax,
    order=order,
    ylabel="held-out r, mean over ROIs",
    reference=float(isc_subject.mean()),
    reference_label="noise ceiling (mean LOSO ISC)",
    title="each dot a subject",
)
ax.set_xlabel("feature set")
ax.set_xticks(ax.get_xticks(), [o.replace(" ", "\n", 1) for o in order], fontsize=8)
fig.tight_layout()

# %% [markdown]
# Averaged over ROIs and subjects, the authors' predictors reach $r_{cv}$ =
# {glue:text}`alice_r_authors:.3f`; the {glue:text}`alice_n_atoms` atoms of MiniLM {glue:text}`alice_r_minilm:.3f`
# (better in {glue:text}`alice_better_minilm` of {glue:text}`alice_n_subjects` subjects,
# Wilcoxon $p$ = {glue:text}`alice_p_minilm:.3g`) and of SmolLM2
# {glue:text}`alice_r_smollm2:.3f` (better in {glue:text}`alice_better_smollm2`,
# $p$ = {glue:text}`alice_p_smollm2:.3g`). The random-weight baselines reach
# {glue:text}`alice_r_tiny_bert:.3f` (tiny-bert) and {glue:text}`alice_r_tiny_llama:.3f`
# (tiny-llama). The mean noise ceiling is {glue:text}`alice_ceiling:.3f`, highest in
# {glue:text}`alice_best_roi` ({glue:text}`alice_best_roi_isc:.3f`).
#
# Caveats. These are six ROI averages from one 12-minute story, so each score rests on
# {glue:text}`alice_n_volumes` volumes per subject; the comparison is between feature sets
# of similar size (12 predictors vs {glue:text}`alice_n_atoms` atoms) with the penalty chosen by inner
# cross-validation, and no feature set was tuned on these data. Whole-brain maps and
# network correspondence need voxel-wise data (e.g. Narratives), which the commands of the
# {doc}`overview` run.

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
# # Prediction across networks
#
# How well do the atoms of each model predict brain activity that they were not fitted
# to? For every simulated subject of `phantom-movie` and every voxel $v$, the encoding
# stage ({func}`analysis_lib.encoding.fit_encoding`) fits a ridge model of the BOLD
# signal on the $K$ atoms in blocked cross-validation (5 outer folds, a gap of 12 s
# between training and test blocks, the penalty chosen in inner folds) and scores the
# held-out predictions $\hat y_v$ by their correlation with the data,
# $r_v = \operatorname{corr}(y_v, \hat y_v)$ on the concatenated test blocks.
# Prediction within a network $N$ is the mean over its voxels
# ({func}`analysis_lib.metrics.prediction_per_network`),
#
# $$ \bar r_N = \frac{1}{|N|} \sum_{v \in N} r_v , $$
#
# computed per subject; the figures show the subject mean and its standard error. The
# networks are those of the Cole-Anticevic atlas; Study B looks at the language
# (`Language`), visual (`Visual1`, `Visual2`), attention (`Dorsal-attention`) and
# default-mode (`Default`) networks.
#
# ```{admonition} Simulated data, tiny models
# :class: warning
# The BOLD data are SIMULATED (`phantom-movie`): luminance, motion, scene cuts and
# captions of the movie were planted in the visual, attention, language and default
# networks; every other network carries noise only. The models are tiny, with random
# (untrained) or synthetic-world-trained weights. The numbers measure how much of the
# planted movie features each model's atoms carry, not a property of real brains.
# ```

# %% tags=["remove-cell"]
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from myst_nb import glue as myst_glue
from scipy.stats import binomtest

from analysis_lib import datasets, metrics
from analysis_lib.io import read_netcdf
from analysis_lib.networks import load_atlas
from analysis_lib.pipeline import EncodeParams, encode
from analysis_lib.plotting import plot_surface_map
from analysis_lib.results import MODEL_LABELS as LABEL
from analysis_lib.results import PAIR_LABELS as FAMILY
from analysis_lib.results import available_models, encoding_files, read_r_cv
from analysis_lib.validation import oracle_atoms


def glue(name: str, value, display: bool = False) -> None:
    """Glue a plain Python value (a NumPy scalar would be pasted as ``np.float64(...)``)."""
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=display)


NETWORKS = ["Language", "Visual1", "Visual2", "Dorsal-attention", "Default"]
N_REF = 4  # subjects of the planted-feature reference (it costs one encoding per subject)
models, missing = available_models()
first = read_netcdf(encoding_files(models[0])[0])
atlas = load_atlas("cole-anticevic", like=first)

# %% [markdown]
# ## A reference: the planted features themselves
#
# Because the data are simulated, we know the best possible regressors: the four
# planted movie features. Fitting them with exactly the same cross-validated ridge
# gives the prediction a model's atoms could reach at most (up to the noise of finite
# data); the other networks show what prediction looks like without any signal. To keep
# the page fast the reference uses the first {glue:text}`sb_pred_n_ref` simulated
# subjects.

# %% tags=["remove-input"]
truth = datasets.ground_truth("phantom-movie")
oracle = oracle_atoms(truth)
subjects = datasets.subjects("phantom-movie")[:N_REF]
# the encode stage with the grid's cross-validation (no permutations: only r_cv is used)
reference = EncodeParams(n_perm=0, cv=5)
r_oracle = [encode(reference, oracle, datasets.load("phantom-movie", s))["r_cv"] for s in subjects]
r_oracle = xr.concat(r_oracle, "subject").assign_coords(subject=subjects)
rows = []
for name, r in [("planted features", r_oracle)] + [(m, read_r_cv(m)) for m in models]:
    per = metrics.prediction_per_network(r, atlas)
    for net in per["network"].values:
        v = per["mean_r"].sel(network=net).values
        rows.append(
            {
                "model": name,
                "network": str(net),
                "mean_r": float(np.mean(v)),
                "sem": float(np.std(v, ddof=1) / np.sqrt(v.size)),
                "subjects": v.size,
                "driven": bool(truth["driven"].sel(network=net)),
            }
        )
table = pd.DataFrame(rows)
driven = [str(n) for n in truth["network"].values[truth["driven"].values.astype(bool)]]
glue("sb_pred_driven", ", ".join(driven), display=False)
glue("sb_pred_n_subjects", len(subjects), display=False)
glue("sb_pred_n_ref", N_REF, display=False)
ref = table[table.model == "planted features"].set_index("network")
glue("sb_pred_oracle_visual1", ref.loc["Visual1", "mean_r"], display=False)
glue("sb_pred_oracle_language", ref.loc["Language", "mean_r"], display=False)
undriven = ref[~ref.driven]["mean_r"]
glue("sb_pred_oracle_undriven_max", float(undriven.abs().max()), display=False)
(
    ref.reset_index()[["network", "driven", "mean_r", "sem"]]
    .rename(columns={"mean_r": "mean r (planted features)", "sem": "s.e.m."})
    .style.format(precision=3)
    .hide(axis="index")
)

# %% [markdown]
# The planted networks are {glue:text}`sb_pred_driven`. With the planted features as
# regressors, the {glue:text}`sb_pred_n_subjects` simulated subjects of the reference reach
# $\bar r$ = {glue:text}`sb_pred_oracle_visual1:.3f` in `Visual1` and
# {glue:text}`sb_pred_oracle_language:.3f` in `Language`; in networks without planted
# signal $|\bar r|$ stays below {glue:text}`sb_pred_oracle_undriven_max:.3f`.
#
# ## Trained and untrained models side by side

# %% tags=["remove-input"]
sel = table[table.network.isin(NETWORKS) & (table.model != "planted features")].copy()
sel["family"] = sel.model.map(FAMILY)
sel["weights"] = np.where(sel.model.str.endswith("-trained"), "trained", "untrained")
families = list(dict.fromkeys(sel.family))
ncols = min(3, len(families))
nrows = -(-len(families) // ncols)
fig, axes = plt.subplots(
    nrows, ncols, figsize=(3.5 * ncols, 3.4 * nrows), sharex=True, sharey=True, squeeze=False
)
for ax in axes.flat[len(families) :]:
    ax.set_visible(False)
for ax, fam in zip(axes.flat[: len(families)], families, strict=True):
    d = sel[sel.family == fam]
    x = np.arange(len(NETWORKS))
    for j, (w, color) in enumerate([("untrained", "0.6"), ("trained", "tab:blue")]):
        dd = d[d.weights == w].set_index("network").reindex(NETWORKS)
        ax.bar(x + (j - 0.5) * 0.38, dd["mean_r"], 0.38, yerr=dd["sem"], color=color, label=w)
    ref_r = ref.reindex(NETWORKS)["mean_r"]
    ax.scatter(x, ref_r, marker="_", s=300, color="tab:red", label="planted features", zorder=3)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, NETWORKS, rotation=40, ha="right")
    ax.set_title(fam)
for ax in axes[:, 0]:
    ax.set_ylabel(r"mean cross-validated $r$ in network")
axes.flat[0].legend(fontsize=8, loc="upper right")
fig.suptitle("Held-out prediction of simulated BOLD (phantom-movie), mean $\\pm$ s.e.m.")
fig.tight_layout()

# %% [markdown]
# Where on the cortex? The subject mean of $r_v$ for the trained CLIP (or the first model
# with results), on the inflated fsLR-32k surface (the simulated data cover every 12th
# cortical grayordinate; the nearest one fills each vertex,
# {func}`analysis_lib.plotting.plot_surface_map`).

# %% tags=["remove-input"]
shown = "tiny-clip-trained" if "tiny-clip-trained" in models else models[0]
fig = plot_surface_map(
    read_r_cv(shown).mean("subject"),
    title=f"{LABEL[shown]}: held-out prediction of phantom-movie",
    cbar_label="mean cross-validated r",
    vmax=0.5,
)

# %% tags=["remove-cell"]
wide = sel.pivot_table(index=["family", "network"], columns="weights", values="mean_r")
for model in models:
    key = model.replace("tiny-", "").replace("-", "_")
    d = table[table.model == model].set_index("network")
    glue(f"sb_pred_{key}_visual1", d.loc["Visual1", "mean_r"], display=False)
    glue(f"sb_pred_{key}_language", d.loc["Language", "mean_r"], display=False)
    glue(f"sb_pred_{key}_default", d.loc["Default", "mean_r"], display=False)
    glue(f"sb_pred_{key}_best", d.loc[NETWORKS, "mean_r"].idxmax(), display=False)
if "trained" in wide and "untrained" in wide:
    gain = (wide["trained"] - wide["untrained"]).dropna()
    glue("sb_pred_n_gain", int((gain > 0).sum()), display=False)
    glue("sb_pred_n_pairs", int(gain.size), display=False)
    ties = int((gain == 0).sum())
    n_sign = int(gain.size) - ties
    sign_p = binomtest(int((gain > 0).sum()), n_sign, 0.5).pvalue if n_sign else float("nan")
    glue("sb_pred_sign_p", float(sign_p), display=False)
else:
    glue("sb_pred_n_gain", 0, display=False)
    glue("sb_pred_n_pairs", 0, display=False)
    glue("sb_pred_sign_p", float("nan"), display=False)

# %% [markdown]
# For CLIP, the untrained twin reaches $\bar r$ = {glue:text}`sb_pred_clip_visual1:.3f`
# in `Visual1` and {glue:text}`sb_pred_clip_language:.3f` in `Language`; the trained one
# {glue:text}`sb_pred_clip_trained_visual1:.3f` and
# {glue:text}`sb_pred_clip_trained_language:.3f`. Over all model families and the
# networks above, the trained twin predicts better than the untrained one in
# {glue:text}`sb_pred_n_gain` of {glue:text}`sb_pred_n_pairs` (family, network) pairs; a
# two-sided sign test of that count against a coin flip gives $p$ =
# {glue:text}`sb_pred_sign_p:.3f` (and the pairs share subjects and stimuli, so they are not
# independent: read this p value as optimistic).
# Random weights are not a null model of *no* prediction: a random transformer still
# transforms its input (luminance, motion and caption onsets pass through the
# attention outputs), which is why untrained networks are the standard control of
# model-brain studies rather than zero.
#
# ## Every network, every model
#
# The full table (mean over subjects of $\bar r_N$). Networks without planted signal
# show what chance prediction looks like.

# %% tags=["remove-input"]
full = table.pivot_table(index="network", columns="model", values="mean_r")
full = full[["planted features", *models]]
full.columns = ["planted features", *[LABEL[m] for m in models]]
full.style.format(precision=3).background_gradient(cmap="RdBu_r", vmin=-0.3, vmax=0.3, axis=None)

# %% [markdown]
# Models without results in this build (not run by the grid): see the list below; a
# model appears in the figures only when all three stages of its run finished.

# %% tags=["remove-input"]
print("not run in this build:", ", ".join(missing) if missing else "none")

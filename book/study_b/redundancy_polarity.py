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
# # Functional redundancy and polarity
#
# Each atom $k$ has a group brain map (one-sample $t$ over subjects of its encoding
# betas; {func}`analysis_lib.encoding.group_encoding`), thresholded exactly as the network
# correspondence thresholded it (its recorded correction and threshold, here
# {glue:text}`rp_significance`; {func}`analysis_lib.pipeline.significant_voxels`, the one
# definition of the significant set that the correspondence, the metrics stage and this page
# share), and an AN sub-group (the neurons with a non-zero loading on it). Study B asks two
# questions of them.
#
# **Redundancy**: do different atoms reach the same voxels, and are they carried by the
# same neurons? With $A_k$ the significant voxels of atom $k$ and
# $S_k = \{j : A_{kj} \neq 0\}$ its sub-group ({mod}`analysis_lib.metrics.redundancy`),
#
# $$ J^{\mathrm{map}}_{kl} = \frac{|A_k \cap A_l|}{|A_k \cup A_l|}, \qquad
#    J^{\mathrm{sub}}_{kl} = \frac{|S_k \cap S_l|}{|S_k \cup S_l|}, \qquad
#    R_N = \frac{\#\{v \in N : \#\{k : v \in A_k\} \ge 2\}}{|N|} , $$
#
# the Jaccard overlaps of maps and of sub-groups, and the **multi-atom share** $R_N$ of
# network $N$: the share of its voxels reached by at least two atoms.
#
# **Polarity**: an atom's significant voxels split into positive ($\beta > 0$) and
# negative regions. Its polarity index is $P_k = (n^+_k - n^-_k)/(n^+_k + n^-_k)$;
# sub-groups with $P_k \ge 0.5$ drive mainly positive, $P_k \le -0.5$ mainly negative
# regions. For each sub-group the loading-weighted layer profile
# $w_{kl} = \sum_{j: l_j = l} |A_{kj}| / \sum_j |A_{kj}|$ gives its centre of mass
# $L_k = \sum_l l\, w_{kl}$ and its trend (least-squares slope of $w_{kl}$ on $l$);
# {func}`analysis_lib.metrics.opposite_polarity_trends` compares positive and negative
# sub-groups ({mod}`analysis_lib.metrics.polarity`).
#
# ```{admonition} Simulated data, tiny models
# :class: warning
# SIMULATED BOLD (`phantom-movie`) and tiny models with random or synthetic-world-trained
# weights, two layers per branch: the layer trends below can only compare layer 0 with
# layer 1. The method is the one to run on real models with many layers.
# ```

# %% tags=["remove-cell"]
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from myst_nb import glue as myst_glue

from analysis_lib import metrics
from analysis_lib.networks import load_atlas
from analysis_lib.pipeline import significant_voxels
from analysis_lib.results import MODEL_LABELS as LABEL
from analysis_lib.results import available_models, read_group


def glue(name: str, value, display: bool = False) -> None:
    """Glue a plain Python value (a NumPy scalar would be pasted as ``np.float64(...)``)."""
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=display)


models, missing = available_models()
res = {m: read_group(m) for m in models}
atlas = load_atlas("cole-anticevic", like=res[models[0]]["group"])
sig = {m: significant_voxels(r["group"], r["networks"]) for m, r in res.items()}
_first = sig[models[0]].attrs
glue(
    "rp_significance",
    f"group p < {_first['threshold']} ({_first['correction']})",
)


def key(model: str) -> str:
    return model.replace("tiny-", "").replace("-", "_")


# %% [markdown]
# ## Overlap of atom maps and of AN sub-groups
#
# The two Jaccard matrices of CLIP, untrained and trained (atoms in the order of the
# variance they explain; grey: atoms with no significant voxel).

# %% tags=["remove-input"]
show = [m for m in ("tiny-clip", "tiny-clip-trained") if m in models] or models[:2]
fig, axes = plt.subplots(len(show), 2, figsize=(9, 4 * len(show)), squeeze=False)
for row, m in zip(axes, show, strict=True):
    mj = metrics.map_jaccard(sig[m])
    sj = metrics.subgroup_jaccard(res[m]["atoms"]["loadings"])
    for ax, mat, what in ((row[0], mj, "atom maps"), (row[1], sj, "AN sub-groups")):
        sns.heatmap(
            mat.values,
            vmin=0,
            vmax=1,
            cmap="magma",
            ax=ax,
            square=True,
            cbar_kws={"label": "Jaccard", "shrink": 0.7},
        )
        ax.set(title=f"{LABEL[m]}: {what}", xlabel="atom", ylabel="atom")
fig.tight_layout()

# %% tags=["remove-cell"]
rows = []
for m in models:
    s = metrics.redundancy_summary(sig[m], res[m]["atoms"]["loadings"], atlas)
    n_sig = int((np.abs(sig[m]).sum("voxel") > 0).sum())
    rows.append(
        {
            "model": LABEL[m],
            "atoms with a map": n_sig,
            **{k: float(v) for k, v in s.data_vars.items()},
        }
    )
    for k, v in s.data_vars.items():
        glue(f"sb_red_{key(m)}_{k}", float(v), display=False)
    glue(f"sb_red_{key(m)}_n_sig", n_sig, display=False)
summary = pd.DataFrame(rows)

# %% [markdown]
# Across models (means over pairs of different atoms, and over networks for the
# multi-atom share):

# %% tags=["remove-input"]
summary.style.format(precision=3).hide(axis="index")

# %% [markdown]
# The untrained CLIP has {glue:text}`sb_red_clip_n_sig` atoms with a significant map,
# mean map overlap {glue:text}`sb_red_clip_map_jaccard:.3f` and sub-group overlap
# {glue:text}`sb_red_clip_subgroup_jaccard:.3f`; the trained CLIP
# {glue:text}`sb_red_clip_trained_n_sig` atoms, {glue:text}`sb_red_clip_trained_map_jaccard:.3f`
# and {glue:text}`sb_red_clip_trained_subgroup_jaccard:.3f`. High map overlap with low
# sub-group overlap is functional redundancy in the sense of Study B: different groups
# of neurons that drive the same brain regions.
#
# ## What chance gives
#
# A Jaccard of 0.3 or a layer difference of 0.2 says nothing alone. Each metric is shown
# beside a permutation baseline ({mod}`analysis_lib.metrics.chance`): for the overlaps,
# every atom's significant set moved to random voxels and its sub-group to random neurons
# (same sizes: *independent placement*, a floor, since it ignores spatial
# autocorrelation); for the layer-trend differences, the polarity classes shuffled across
# the atoms that have a map. The second baseline is the random-weight twin, the untrained
# model in the rows above. The interval is the 2.5 to 97.5 percentile of
# {glue:text}`rp_n_perm_red` (overlaps) and {glue:text}`rp_n_perm_pol` (polarity)
# surrogates; $p$ is one-sided (overlap greater than chance) for the overlaps and
# two-sided for the differences.

# %% tags=["remove-input"]
N_PERM_RED, N_PERM_POL = 200, 1000
glue("rp_n_perm_red", N_PERM_RED)
glue("rp_n_perm_pol", N_PERM_POL)
chance_rows = []
for m in models:
    red = metrics.redundancy_baseline(
        sig[m], res[m]["atoms"]["loadings"], atlas, n_perm=N_PERM_RED, seed=0
    )
    pol_b = metrics.polarity_baseline(
        sig[m], res[m]["atoms"]["loadings"], n_perm=N_PERM_POL, seed=0
    )
    for b in (red, pol_b):
        for metric in b["metric"].values:
            d = b.sel(metric=metric)
            chance_rows.append(
                {
                    "model": LABEL[m],
                    "metric": str(metric),
                    "observed": float(d["observed"]),
                    "chance mean": float(d["null_mean"]),
                    "chance 2.5 %": float(d["null_low"]),
                    "chance 97.5 %": float(d["null_high"]),
                    "p": float(d["p"]),
                }
            )
            for v in ("observed", "null_low", "null_high", "p"):
                glue(f"sb_chance_{key(m)}_{metric}_{v}", float(d[v]))
chance = pd.DataFrame(chance_rows)
beyond = chance[(chance["p"] < 0.05) & chance["metric"].isin(["map_jaccard", "multi_atom_share"])]
glue(
    "rp_beyond_chance",
    ", ".join(sorted(set(beyond["model"]))) if len(beyond) else "none of the models",
)
chance.style.format(precision=3, na_rep="-").hide(axis="index")

# %% [markdown]
# Map overlap or multi-atom share beyond independent placement ($p$ < 0.05):
# {glue:text}`rp_beyond_chance`. For the trained CLIP the map Jaccard is
# {glue:text}`sb_chance_clip_trained_map_jaccard_observed:.3f` against a chance interval of
# {glue:text}`sb_chance_clip_trained_map_jaccard_null_low:.3f` to
# {glue:text}`sb_chance_clip_trained_map_jaccard_null_high:.3f`. On simulated data these
# are properties of the simulator (every planted network is driven by a few shared
# features, so maps overlap by construction), not findings about brains; the table shows
# that the code separates overlap from what set sizes alone give, and a blank difference
# means a model has no sub-group of one polarity class.
#
# ## Which networks are reached by several atoms?

# %% tags=["remove-input"]
share = pd.DataFrame(
    {LABEL[m]: metrics.multi_atom_share(sig[m], atlas).to_series() for m in models}
)
fig, ax = plt.subplots(figsize=(9, 3.8))
sns.heatmap(
    share.T,
    vmin=0,
    vmax=1,
    cmap="viridis",
    annot=True,
    fmt=".2f",
    ax=ax,
    annot_kws={"fontsize": 7},
    cbar_kws={"label": "multi-atom share $R_N$"},
)
ax.set(
    xlabel="network (Cole-Anticevic)",
    ylabel="",
    title="Share of network voxels significant for two atoms or more",
)
fig.tight_layout()

# %% [markdown]
# ## Polarity: positive and negative regions
#
# For each atom, the number of significant voxels with positive and negative group $t$
# (left), and for each model the share of sub-groups in each polarity class (right).

# %% tags=["remove-input"]
pol_rows, trend_rows = [], []
for m in models:
    pol = metrics.polarity(sig[m])
    opp = metrics.opposite_polarity_trends(sig[m], res[m]["atoms"]["loadings"])
    classes = pd.Series(opp["polarity_class"].values).value_counts()
    pol_rows.append(
        {
            "model": LABEL[m],
            **{c: int(classes.get(c, 0)) for c in ("positive", "negative", "mixed", "none")},
        }
    )
    trend_rows.append(
        {
            "model": LABEL[m],
            **{
                k: float(opp[k])
                for k in (
                    "center_positive",
                    "center_negative",
                    "center_difference",
                    "slope_positive",
                    "slope_negative",
                    "slope_difference",
                )
            },
        }
    )
    for c in ("positive", "negative"):
        glue(f"sb_pol_{key(m)}_n_{c}", int(classes.get(c, 0)), display=False)
    diff = float(opp["center_difference"])
    glue(
        f"sb_pol_{key(m)}_center_difference_text",
        f"{diff:.3f} layers"
        if np.isfinite(diff)
        else "undefined: the model has no sub-group of one of the two classes",
        display=False,
    )
    if m == show[-1]:
        shown_pol = pol
counts = pd.DataFrame(pol_rows).set_index("model")
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1.3, 1]})
atoms = shown_pol["atom"].values
axes[0].bar(atoms, shown_pol["n_positive"], color="tab:red", label="positive")
axes[0].bar(atoms, -shown_pol["n_negative"], color="tab:blue", label="negative")
axes[0].axhline(0, color="k", lw=0.6)
axes[0].set(xlabel="atom", ylabel="significant voxels (negative down)", title=f"{LABEL[show[-1]]}")
axes[0].legend(fontsize=8)
(counts.div(counts.sum(axis=1), axis=0)).plot.barh(
    stacked=True, ax=axes[1], color=["tab:red", "tab:blue", "tab:purple", "0.8"]
)
axes[1].set(xlabel="share of sub-groups", ylabel="", title="polarity classes")
axes[1].legend(fontsize=7, loc="lower right")
fig.tight_layout()

# %% [markdown]
# ## Layer trends of sub-groups driving opposite-sign regions
#
# Mean centre of mass $L$ (0: first layer, 1: second) and mean trend of the positive and
# negative sub-groups, and their differences (positive minus negative; empty when a
# model has no sub-group of one class).

# %% tags=["remove-input"]
trends = pd.DataFrame(trend_rows)
if trends.drop(columns="model").isna().all(axis=None):
    display(
        Markdown(
            "*No model has both positive and negative sub-groups in this build, so no layer "
            "trend of opposite-sign sub-groups can be compared (every entry would be empty).*"
        )
    )
else:
    display(trends.style.format(precision=3, na_rep="-").hide(axis="index"))

# %% [markdown]
# In the trained CLIP, {glue:text}`sb_pol_clip_trained_n_positive` sub-groups drive mainly
# positive and {glue:text}`sb_pol_clip_trained_n_negative` mainly negative regions (the
# planted `Default` network responds *negatively* to motion in the simulation, so
# negative regions are expected there); the difference of their mean layer is
# {glue:text}`sb_pol_clip_trained_center_difference_text`.

# %% tags=["remove-input"]
print("not run in this build:", ", ".join(missing) if missing else "none")

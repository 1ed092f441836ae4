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
# # Atoms: extraction and dictionary learning across models
#
# For every model of the default grid, the responses of the feed-forward output neurons
# to the default story were recorded on the fMRI clock and summarised by a sparse
# dictionary of temporal atoms (notebook `notebooks/10_atoms.py`, one executed run per
# model in the appendix). This chapter reads those results (`results/study-a-atoms/`) and
# compares the models: how many neurons each has, what the atoms look like, how large the
# AN sub-groups are, how well the atoms reconstruct each neuron, and where in the network
# the sub-groups live. The method is explained in the {doc}`../methods/primer`.

# %% tags=["remove-cell"]
# %matplotlib inline
import json
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from myst_nb import glue

from analysis_lib import metrics, plotting
from analysis_lib.hrf import convolve
from analysis_lib.results import grid_models, model_info, read_result
from analysis_lib.stimuli import load_stimulus

plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False})
models = grid_models("study-a-atoms")
decomp = {m: read_result("study-a-atoms", m, "atoms.nc") for m in models}
info = pd.DataFrame([model_info(m) for m in models]).set_index("model")
palette = dict(zip(models, sns.color_palette("colorblind", len(models)), strict=True))

# %% [markdown]
# ## The models and their dictionaries
#
# Two pretrained models and their random-weight counterparts of the same families:
# the random models are **baselines** (a real architecture with seeded random weights),
# not language models. Every dictionary has the same number of atoms and penalty.

# %%
rows = []
for m, ds in decomp.items():
    layers = np.unique(ds["layer"].values)
    rows.append(
        {
            "model": m,
            "weights": info.loc[m, "weights"],
            "layers": layers.size,
            "neurons": ds.sizes["neuron"],
            "constant neurons": int(ds.attrs.get("n_constant_neurons", 0)),
            "atoms": ds.sizes["atom"],
            "alpha": float(json.loads(ds.attrs["params"])["alpha"]),
            "epochs": int(ds.attrs.get("n_iter", ds.sizes["iteration"])),
            "median R²": float(np.nanmedian(ds["r2"].values)),
            "median sub-group (neurons)": float(np.median(ds["subgroup_size"].values)),
            "atoms per neuron (mean)": float((np.abs(ds["loadings"].values) > 0).sum(0).mean()),
        }
    )
overview = pd.DataFrame(rows).set_index("model")
for m in models:
    key = m.replace("-", "_")
    glue(f"atoms_neurons_{key}", int(overview.loc[m, "neurons"]), display=False)
    glue(f"atoms_layers_{key}", int(overview.loc[m, "layers"]), display=False)
    glue(f"atoms_r2_{key}", float(overview.loc[m, "median R²"]), display=False)
    glue(
        f"atoms_per_neuron_{key}", float(overview.loc[m, "atoms per neuron (mean)"]), display=False
    )
glue("atoms_n_atoms", int(overview["atoms"].iloc[0]), display=False)
overview.round(3)

# %% [markdown]
# MiniLM has {glue:text}`atoms_neurons_minilm` FFN output neurons in
# {glue:text}`atoms_layers_minilm` layers, SmolLM2 {glue:text}`atoms_neurons_smollm2` in
# {glue:text}`atoms_layers_smollm2`; the random baselines are tiny
# ({glue:text}`atoms_neurons_tiny_bert` neurons). With {glue:text}`atoms_n_atoms` atoms the
# dictionary is therefore a strong compression for the pretrained models and hardly one for
# the baselines: keep that in mind when comparing their $R^2$ below.
#
# ## Atom time courses
#
# Atoms are ordered by the variance they explain (atom 0 explains most). Each is a time
# course on the volumes of the story (TR 1.5 s); the first 16 of each model:

# %%
fig, axes = plt.subplots(len(models), 1, figsize=(11, 2.0 * len(models)), sharex=True)
for ax, m in zip(np.atleast_1d(axes), models, strict=True):
    atoms = decomp[m]["atoms"].isel(atom=slice(0, 16))
    scale = float(np.abs(atoms).max())
    im = ax.imshow(
        atoms.T,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-scale,
        vmax=scale,
        interpolation="nearest",
        extent=[float(atoms.time[0]), float(atoms.time[-1]), 15.5, -0.5],
    )
    ax.set_ylabel(f"{m}\natom")
    fig.colorbar(im, ax=ax, pad=0.01).set_label("amplitude (a.u.)", fontsize=8)
np.atleast_1d(axes)[-1].set_xlabel("time (s)")
fig.suptitle("first 16 atoms of each model (unit-norm time courses)")
fig.tight_layout()

# %% [markdown]
# ### Onset artefacts
#
# An atom whose largest excursion falls in the first seconds of the story, far above
# anything later, follows the **start of the recording**, not the story. The check: for
# every atom, the time of its largest absolute value, and the ratio of that early peak to
# the atom's largest absolute value after the first 15 s.

# %%
EARLY_S, RATIO = 15.0, 2.0
onset_rows = []
for m in models:
    a = decomp[m]["atoms"].transpose("time", "atom")
    t = a["time"].values
    early, late = np.abs(a.values[t < EARLY_S]), np.abs(a.values[t >= EARLY_S])
    ratio = early.max(0) / np.maximum(late.max(0), 1e-12)
    peak_t = t[np.abs(a.values).argmax(0)]
    for k in np.flatnonzero((ratio > RATIO) & (peak_t < EARLY_S)):
        onset_rows.append(
            {
                "model": m,
                "atom": int(a["atom"].values[k]),
                "peak at (s)": float(peak_t[k]),
                "early / later peak": float(ratio[k]),
            }
        )
onsets = pd.DataFrame(onset_rows, columns=["model", "atom", "peak at (s)", "early / later peak"])
glue(
    "atoms_onset_list",
    "; ".join(
        f"{r['model']} atom {r['atom']} (peak at {r['peak at (s)']:.1f} s, "
        f"{r['early / later peak']:.1f} times its later maximum)"
        for _, r in onsets.iterrows()
    )
    or "none",
    display=False,
)
onsets.round(2)

# %% [markdown]
# Atoms flagged as onset artefacts (early peak more than twice any later excursion):
# {glue:text}`atoms_onset_list`. For a causal model such as SmolLM2 the likely cause is the
# first token of the story: the extraction feeds it at position 0 with no
# beginning-of-sequence token in front (SmolLM2's tokenizer adds none), and decoder models
# give the first position activations far larger than any other ("attention sinks"). After
# the HRF, that one word becomes a spike in the first volumes, which a dictionary of many
# atoms spends an atom on. Read such an atom, and its sub-group and network assignment, as
# an artefact of the extraction, not as a property of the model.

# %% [markdown]
# How much of the atoms is simply *how many words are spoken*? The word-rate regressor of
# the story (each word a boxcar convolved with the SPM HRF, see the primer) is the most
# basic linguistic signal. Its largest absolute correlation with any atom of each model:

# %%
story = load_stimulus("default-story")
w = story.words
word_rate = convolve(
    w["onset"].to_numpy(),
    np.ones(len(w)),
    story.volume_times,
    durations=(w["offset"] - w["onset"]).to_numpy(),
)
rate_corr = []
for m, ds in decomp.items():
    d = ds["atoms"].transpose("time", "atom").values
    if d.shape[0] != word_rate.size:
        raise ValueError(f"{m}: atoms have {d.shape[0]} volumes, the story {word_rate.size}")
    r = np.array([np.corrcoef(word_rate, d[:, k])[0, 1] for k in range(d.shape[1])])
    rate_corr.append(
        pd.DataFrame({"model": m, "atom": ds["atom"].values, "|r| with word rate": np.abs(r)})
    )
rate_corr = pd.concat(rate_corr, ignore_index=True)
best_rate = rate_corr.groupby("model", sort=False)["|r| with word rate"].max()
for m in models:
    glue(f"atoms_rate_{m.replace('-', '_')}", float(best_rate[m]), display=False)
ax = plotting.model_comparison(
    rate_corr,
    "|r| with word rate",
    kind="point",
    hue=None,
    ylabel="|r| of atom with word rate",
    title="each dot an atom; diamonds: mean with 95 % CI",
)
ax.figure.tight_layout()

# %% [markdown]
# The atom closest to the word rate reaches $|r|$ = {glue:text}`atoms_rate_minilm:.2f`
# in MiniLM, {glue:text}`atoms_rate_smollm2:.2f` in SmolLM2,
# {glue:text}`atoms_rate_tiny_bert:.2f` in tiny-bert and
# {glue:text}`atoms_rate_tiny_llama:.2f` in tiny-llama. Random networks also respond to
# word timing: every word is an event whatever the weights.
#
# ## AN sub-groups
#
# Atom $k$'s sub-group is $S_k = \{n : A_{kn} \neq 0\}$. Because the models differ a
# hundredfold in size, sizes are shown as a share of the model's neurons.

# %%
sizes = pd.concat(
    [
        pd.DataFrame(
            {
                "model": m,
                "atom": ds["atom"].values,
                "share of neurons": ds["subgroup_size"].values / ds.sizes["neuron"],
            }
        )
        for m, ds in decomp.items()
    ],
    ignore_index=True,
)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
for m in models:
    part = sizes[sizes["model"] == m]
    axes[0].plot(
        part["atom"], part["share of neurons"], marker=".", lw=1, label=m, color=palette[m]
    )
axes[0].set(xlabel="atom (by explained variance)", ylabel="sub-group size (share of neurons)")
axes[0].set_title("sub-group size of each atom")
axes[0].legend(frameon=False, fontsize=8)
plotting.model_comparison(
    sizes, "share of neurons", kind="point", ax=axes[1], ylabel="sub-group size (share)"
)
axes[1].set_title("distribution over atoms")
fig.tight_layout()
med_share = sizes.groupby("model", sort=False)["share of neurons"].median()
for m in models:
    glue(f"atoms_share_{m.replace('-', '_')}", float(med_share[m]), display=False)

# %% [markdown]
# The median atom recruits {glue:text}`atoms_share_minilm:.1%` of MiniLM's neurons and
# {glue:text}`atoms_share_smollm2:.1%` of SmolLM2's
# ({glue:text}`atoms_share_tiny_bert:.1%` and {glue:text}`atoms_share_tiny_llama:.1%`
# for the baselines). Sub-groups overlap: a neuron loads on
# {glue:text}`atoms_per_neuron_minilm:.1f` atoms on average in MiniLM and
# {glue:text}`atoms_per_neuron_smollm2:.1f` in SmolLM2.
#
# ## Reconstruction $R^2$
#
# $R^2_n = 1 - \lVert x_n - D a_n \rVert^2 / \lVert x_n - \bar x_n\rVert^2$ measures how well
# the atoms reconstruct neuron $n$ ({func}`analysis_lib.metrics.r2_distribution`). Left: its
# distribution over neurons; right: its mean per layer, against the relative depth of the
# layer (0 = first block, 1 = last).

# %%
r2 = pd.concat(
    [
        pd.DataFrame({"model": m, "R²": ds["r2"].values, "layer": ds["layer"].values})
        for m, ds in decomp.items()
    ],
    ignore_index=True,
)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
sns.violinplot(
    data=r2, x="model", y="R²", hue="model", palette=palette, cut=0, inner="quartile", ax=axes[0]
)
axes[0].set(xlabel="model", ylabel="reconstruction $R^2$ (per neuron)", title="all neurons")
for m, ds in decomp.items():
    dist = metrics.r2_distribution(ds["r2"])
    layers = dist["layer"].values
    depth = (layers - layers.min()) / max(layers.max() - layers.min(), 1)
    axes[1].plot(depth, dist["mean_layer"], marker="o", ms=3, label=m, color=palette[m])
axes[1].set(xlabel="relative layer depth", ylabel="mean $R^2$", title="by layer")
axes[1].legend(frameon=False, fontsize=8)
fig.tight_layout()

# %% [markdown]
# The median neuron keeps $R^2$ = {glue:text}`atoms_r2_minilm:.2f` in MiniLM and
# {glue:text}`atoms_r2_smollm2:.2f` in SmolLM2 (baselines:
# {glue:text}`atoms_r2_tiny_bert:.2f` and {glue:text}`atoms_r2_tiny_llama:.2f`, with
# far fewer neurons per atom).
#
# ## Where the sub-groups live: layer distribution
#
# $P_{kl} = \#\{n \in S_k : \mathrm{layer}_n = l\} / \#S_k$ is the share of atom $k$'s
# sub-group in layer $l$ ({func}`analysis_lib.metrics.layer_distribution`). A sub-group
# confined to one layer has one bright cell per column; a sub-group spread over the network
# has a uniform column. The heatmaps show the first 32 atoms of each model.

# %%
fig, axes = plt.subplots(len(models), 1, figsize=(11, 2.6 * len(models)))
centre = []
for ax, (m, ds) in zip(np.atleast_1d(axes), decomp.items(), strict=True):
    dist = metrics.layer_distribution(ds["loadings"])
    plotting.layer_heatmap(dist.isel(atom=slice(0, 32)), ax=ax, title=f"{m}: layer distribution")
    layers = dist["layer"].values
    depth = (layers - layers.min()) / max(layers.max() - layers.min(), 1)
    p = np.nan_to_num(dist.values)
    entropy = -(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0)).sum(1) / np.log(layers.size)
    centre.append(
        pd.DataFrame(
            {
                "model": m,
                "atom": dist["atom"].values,
                "mean depth": p @ depth,
                "spread (normalised entropy)": entropy,
            }
        )
    )
fig.tight_layout()
centre = pd.concat(centre, ignore_index=True)

# %% [markdown]
# Summarised per atom: the **mean depth** of its sub-group ($\sum_l P_{kl}\,\delta_l$ with
# $\delta_l$ the relative depth) and its **spread**, the entropy of $P_{k\cdot}$ divided by
# $\log L$ (1 = spread evenly over all $L$ layers, 0 = one layer).

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
plotting.model_comparison(
    centre, "mean depth", kind="point", ax=axes[0], ylabel="mean relative depth"
)
plotting.model_comparison(
    centre, "spread (normalised entropy)", kind="point", ax=axes[1], ylabel="layer spread (0-1)"
)
fig.tight_layout()
spread = centre.groupby("model", sort=False)["spread (normalised entropy)"].median()
for m in models:
    glue(f"atoms_spread_{m.replace('-', '_')}", float(spread[m]), display=False)

# %% [markdown]
# The median layer spread of a sub-group is {glue:text}`atoms_spread_minilm:.2f` in MiniLM
# and {glue:text}`atoms_spread_smollm2:.2f` in SmolLM2
# ({glue:text}`atoms_spread_tiny_bert:.2f` and {glue:text}`atoms_spread_tiny_llama:.2f` in
# the baselines). The next chapter maps each atom onto the brain.

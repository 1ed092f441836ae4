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
# # Organisation of the atoms across models
#
# Study A compares models by how their atoms are organised over functional brain networks:
# how many atoms each network attracts, how similar the atoms of one network are to each
# other (**consistency**), how different the atoms are overall (**diversity**), and a
# **balance** of the two. This chapter defines each metric
# ({mod}`analysis_lib.metrics`), reads the values computed by the grid
# (`results/study-a-group/model=*/metrics.nc`) and compares the models.
#
# ```{warning}
# The brain data behind these numbers are the **simulated** `phantom-story` (see the
# {doc}`overview`), and `tiny-bert` and `tiny-llama` have **random weights**. The chapter
# demonstrates the metrics and the comparison; it is not evidence about real brains.
# ```

# %% tags=["remove-cell"]
# %matplotlib inline
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from myst_nb import glue

from analysis_lib import metrics, plotting
from analysis_lib.results import grid_models, model_info, read_result

plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False})
models = grid_models("study-a-group")
decomp = {m: read_result("study-a-atoms", m, "atoms.nc") for m in models}
group = {m: read_result("study-a-group", m, "group.nc") for m in models}
corr = {m: read_result("study-a-group", m, "networks.nc") for m in models}
summary = {m: read_result("study-a-group", m, "metrics.nc") for m in models}
weights = {m: model_info(m)["weights"] for m in models}


def key(m: str) -> str:
    return m.replace("-", "_")


# %% [markdown]
# ## Notation
#
# Model with $K$ atoms, atom time courses $d_k$ (columns of the dictionary), group maps
# $m_k$ (group $t$ over grayordinates), and assignments $n(k)$ to a network or to none
# ({doc}`networks`); $r(\cdot,\cdot)$ is the Pearson correlation.
#
# ## Atoms per network
#
# $$N_n = \#\{k : n(k) = n\}, \qquad \text{networks covered} = \#\{n : N_n \ge 1\}.$$

# %%
counts = pd.DataFrame({m: metrics.atoms_per_network(corr[m]).to_pandas() for m in models})
counts.index.name = "network"
fig, ax = plt.subplots(figsize=(8, 4.2))
sns.heatmap(
    counts,
    annot=True,
    fmt="d",
    cmap="Blues",
    cbar_kws={"label": "atoms assigned (count)"},
    ax=ax,
)
ax.set(xlabel="model", ylabel="network", title="atoms per network")
fig.tight_layout()
unassigned = {m: int(metrics.atoms_per_network(corr[m]).attrs["n_unassigned"]) for m in models}
for m in models:
    glue(f"cmp_unassigned_{key(m)}", int(unassigned[m]), display=False)
    glue(f"cmp_covered_{key(m)}", int((counts[m] > 0).sum()), display=False)
glue("cmp_n_networks", int(counts.shape[0]), display=False)

# %% [markdown]
# MiniLM's atoms cover {glue:text}`cmp_covered_minilm` of the
# {glue:text}`cmp_n_networks` networks and SmolLM2's {glue:text}`cmp_covered_smollm2`
# (random baselines: {glue:text}`cmp_covered_tiny_bert` and
# {glue:text}`cmp_covered_tiny_llama`); unassigned atoms: {glue:text}`cmp_unassigned_minilm`,
# {glue:text}`cmp_unassigned_smollm2`, {glue:text}`cmp_unassigned_tiny_bert` and
# {glue:text}`cmp_unassigned_tiny_llama`.
#
# ## Within-network consistency
#
# The atoms of one network should share something: their time courses and their maps are
# compared pairwise,
#
# $$C^{\text{time}}_n = \frac{2}{N_n(N_n-1)}\sum_{i<j,\ n(i)=n(j)=n} r(d_i, d_j), \qquad
# C^{\text{space}}_n = \frac{2}{N_n(N_n-1)}\sum_{i<j,\ n(i)=n(j)=n} r(m_i, m_j),$$
#
# defined for networks with at least two atoms. A model's **consistency** $c$ is the mean
# of $C^{\text{time}}_n$ over those networks
# ({func}`analysis_lib.metrics.within_network_consistency`).

# %%
cons = []
for m in models:
    c = metrics.within_network_consistency(decomp[m]["atoms"], group[m]["tstat"], corr[m])
    frame = c.to_dataframe().reset_index()
    frame["model"] = m
    cons.append(frame)
cons = pd.concat(cons, ignore_index=True)
cons_long = cons.melt(
    id_vars=["model", "network", "n_atoms"],
    value_vars=["temporal", "spatial"],
    var_name="kind",
    value_name="consistency",
).dropna(subset=["consistency"])
if cons_long.empty:
    print("no network has two or more assigned atoms in any model: consistency is undefined")
else:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, kind in zip(axes, ["temporal", "spatial"], strict=True):
        sns.barplot(
            data=cons_long[cons_long["kind"] == kind],
            x="network",
            y="consistency",
            hue="model",
            hue_order=models,
            errorbar=None,
            palette="colorblind",
            ax=ax,
        )
        ax.set(
            xlabel="network (with at least two atoms)",
            ylabel="mean pairwise r",
            title=f"{kind} consistency",
        )
        ax.tick_params(axis="x", rotation=30)
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()

# %% [markdown]
# **What chance gives.** The same consistency with the atom-network labels shuffled across
# the atoms (the number of atoms per network kept; 1,000 permutations;
# {func}`analysis_lib.metrics.consistency_baseline`), beside the observed value, and the
# random-weight twins in the same table. Atoms per network, coverage and diversity do not
# change under this shuffle; for them the random-weight twins are the chance reference.

# %%
base_rows = {}
for m in models:
    b = metrics.consistency_baseline(decomp[m]["atoms"], corr[m], n_perm=1000, seed=0)
    base_rows[m] = {
        k: float(b[k]) for k in ("observed", "null_mean", "null_low", "null_high", "p")
    }
baseline = pd.DataFrame(base_rows).T.rename(
    columns={
        "observed": "consistency c",
        "null_mean": "shuffled labels: mean",
        "null_low": "2.5 %",
        "null_high": "97.5 %",
        "p": "p (one-sided)",
    }
)
baseline.index.name = "model"
for m, row in baseline.iterrows():
    glue(
        f"cmp_cons_base_{key(m)}",
        "undefined (no network has two atoms)"
        if not np.isfinite(row["consistency c"])
        else f"{row['consistency c']:.2f} against {row['shuffled labels: mean']:.2f} "
        f"[{row['2.5 %']:.2f}, {row['97.5 %']:.2f}] for shuffled labels (p = {row['p (one-sided)']:.3f})",
        display=False,
    )
baseline.round(3)

# %% [markdown]
# MiniLM: {glue:text}`cmp_cons_base_minilm`; SmolLM2: {glue:text}`cmp_cons_base_smollm2`;
# tiny-bert: {glue:text}`cmp_cons_base_tiny_bert`; tiny-llama:
# {glue:text}`cmp_cons_base_tiny_llama` (SIMULATED phantom-story: properties of the
# simulator and the pipeline, not findings about brains).
#
# ## Diversity
#
# How many *different* behaviours do the atoms show? With $\lambda_i$ the eigenvalues of
# the $K \times K$ correlation matrix of the atom time courses and
# $p_i = \lambda_i / \sum_j \lambda_j$, the **effective number** of atoms is the exponential
# of the spectral entropy,
#
# $$K_{\text{eff}} = \exp\Big(-\sum_i p_i \log p_i\Big) \in [1, K],$$
#
# equal to $K$ for uncorrelated atoms and 1 for identical ones; the **diversity** is its
# normalised form $d = (K_{\text{eff}} - 1)/(K - 1) \in [0, 1]$
# ({func}`analysis_lib.metrics.effective_number`, {func}`analysis_lib.metrics.diversity`).
# The number of networks covered (above) is a second, spatial, view of diversity.
#
# ## Balance
#
# A model whose atoms are all alike is consistent but not diverse; one whose atoms are
# unrelated noise is diverse but not consistent. The **balance index** is their harmonic
# mean ({func}`analysis_lib.metrics.balance_index`),
#
# $$B = \frac{2\,c\,d}{c + d},$$
#
# with $c$ clipped to $[0, 1]$: it is high only when both are.

# %%
table = metrics.comparison_table(summary)
table.insert(0, "weights", [weights[m] for m in table.index])
columns = {
    "weights": "weights",
    "assigned_share": "share of atoms assigned",
    "networks_covered": "networks covered",
    "consistency": "consistency c (temporal)",
    "spatial_consistency": "spatial consistency",
    "effective_number": "effective number K_eff",
    "diversity": "diversity d",
    "balance": "balance B",
    "r2_median": "median R² (dictionary)",
}
missing = [c for c in columns if c not in table.columns]
if missing:
    raise KeyError(f"metrics.nc lacks {missing}; re-run the study-a-group grid")
table = table[list(columns)].rename(columns=columns)
table.index.name = "model"
# consistency needs a network with two or more atoms; the summary stores 0 otherwise
pairs = pd.Series({m: int((counts[m] >= 2).sum()) for m in models})
table.insert(3, "networks with >= 2 atoms", pairs[table.index])
undefined = pairs[table.index] == 0
table.loc[undefined, ["consistency c (temporal)", "spatial consistency"]] = np.nan
for m in models:
    row = table.loc[m]
    glue(f"cmp_balance_{key(m)}", float(row["balance B"]), display=False)
    glue(f"cmp_diversity_{key(m)}", float(row["diversity d"]), display=False)
    glue(f"cmp_keff_{key(m)}", float(row["effective number K_eff"]), display=False)
    c = row["consistency c (temporal)"]
    text = "undefined" if pd.isna(c) else f"{c:.2f}"
    glue(f"cmp_consistency_{key(m)}", text, display=False)
    # say why a balance index is 0: undefined consistency, or a negative one clipped to 0
    if pd.isna(c):
        why = f"{row['balance B']:.2f} (consistency undefined: no network has two atoms)"
    elif c <= 0:
        why = f"{row['balance B']:.2f} (consistency {c:.2f} is not positive and is clipped to 0)"
    else:
        why = f"{row['balance B']:.2f}"
    glue(f"cmp_balance_text_{key(m)}", why, display=False)
    glue(f"cmp_r2_{key(m)}", float(row["median R² (dictionary)"]), display=False)
glue("cmp_n_atoms", int(decomp[models[0]].sizes["atom"]), display=False)
table.round(3)

# %%
fig, axes = plt.subplots(2, 2, figsize=(10, 6.6), sharex=True)
shown = [
    ("consistency c (temporal)", "consistency c"),
    ("diversity d", "diversity d"),
    ("balance B", "balance B"),
    ("median R² (dictionary)", "median R²"),
]
frame = table.reset_index()
for ax, (col, label) in zip(axes.flat, shown, strict=True):
    plotting.model_comparison(
        frame.fillna({col: 0.0}), col, hue="weights", ax=ax, ylabel=label, order=models
    )
    low = float(np.nanmin(frame[col])) if frame[col].notna().any() else 0.0
    ax.set_ylim(min(0.0, low - 0.05), 1)  # a negative consistency stays visible
    ax.tick_params(axis="x", rotation=25)
    ax.set_title(label)
fig.suptitle(
    "Study A metrics per model (phantom-story, simulated; undefined consistency shown as 0)"
)
fig.tight_layout()

# %% [markdown]
# With {glue:text}`cmp_n_atoms` atoms, MiniLM's effective number is
# {glue:text}`cmp_keff_minilm:.1f` (diversity {glue:text}`cmp_diversity_minilm:.2f`),
# SmolLM2's {glue:text}`cmp_keff_smollm2:.1f` ({glue:text}`cmp_diversity_smollm2:.2f`),
# tiny-bert's {glue:text}`cmp_keff_tiny_bert:.1f` and tiny-llama's
# {glue:text}`cmp_keff_tiny_llama:.1f`. Temporal consistency is
# {glue:text}`cmp_consistency_minilm` (MiniLM), {glue:text}`cmp_consistency_smollm2`
# (SmolLM2), {glue:text}`cmp_consistency_tiny_bert` and
# {glue:text}`cmp_consistency_tiny_llama` (baselines; "undefined" where no network has two
# assigned atoms). The balance index is {glue:text}`cmp_balance_text_minilm` for MiniLM,
# {glue:text}`cmp_balance_text_smollm2` for SmolLM2, {glue:text}`cmp_balance_text_tiny_bert`
# for tiny-bert and {glue:text}`cmp_balance_text_tiny_llama` for tiny-llama: a balance of 0
# says that the atoms assigned to one network are no more alike than chance, not that the
# model is balanced badly in some other sense.
#
# ## Reading the comparison
#
# - The metrics are only as meaningful as the assignments they rest on: a model with few
#   assigned atoms has consistency computed over few pairs (networks with one atom do not
#   count), which the table's first columns make visible.
# - Diversity depends on $K$ and on the dictionary penalty; compare models at the same
#   settings, as here (64 atoms, $\alpha = 0.1$ for all).
# - The random baselines are the reference any claim about a trained model has to beat:
#   their atoms still follow word timing, and a metric on which they score like the
#   pretrained models does not measure anything learned.
# - To compare real models on real data, run the grid with your models and dataset (the
#   commands are in the {doc}`overview`); this page reads whatever the grid wrote.

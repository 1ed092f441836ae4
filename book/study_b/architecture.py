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
# # Architecture: modality-specific and cross-modal sub-groups
#
# CLIP is a *dual encoder*: its text and image transformers never see each other, so
# every attention neuron is either a text or a vision neuron. A METER-like model
# (BridgeTower here) adds *co-attention* layers in which each modality's stream attends
# to the other; their outputs are cross-modal neurons. Does an AN sub-group found by
# dictionary learning mix the modalities, and does the co-attention model mix them more?
#
# Every neuron carries its branch $b_j \in \{\text{vision}, \text{text}, \text{cross}\}$.
# For the sub-group $S_k = \{j : A_{kj} \neq 0\}$ of atom $k$, with $N_b$ the number of
# neurons of branch $b$ in the model, the rates $q_{kb} = \#\{j \in S_k : b_j = b\}/N_b$
# give the **modality selectivity index** ({func}`analysis_lib.metrics.modality_selectivity`)
#
# $$ I_k = \frac{q_{k,\mathrm{vision}} - q_{k,\mathrm{text}}}
#               {q_{k,\mathrm{vision}} + q_{k,\mathrm{text}}} \in [-1, 1] , $$
#
# $+1$ for a sub-group of vision neurons only, $-1$ for text neurons only, $0$ for both in
# proportion to their numbers. Sub-groups with $I_k \ge 0.5$ count as vision-selective,
# $I_k \le -0.5$ as text-selective, the others as mixed; cross-modal neurons enter
# through their share $s_{k,\mathrm{cross}} = \#\{j \in S_k : b_j = \mathrm{cross}\}/\#S_k$
# ({func}`analysis_lib.metrics.modality_summary`).
#
# The grid decomposes each model's `attn_out` neurons (text and vision branches). For
# BridgeTower this page also decomposes, with the same settings, its `attn_out` and
# `cross_attn_out` neurons *together*, so that sub-groups can mix all three branches.
# ViT (vision only) and RoBERTa (text only) are the trivial controls: their index is
# $+1$ and $-1$ by construction.
#
# ```{admonition} Simulated data, tiny models
# :class: warning
# Tiny models with random or synthetic-world-trained weights; the brain maps used at the
# end of the page are from SIMULATED fMRI (`phantom-movie`).
# ```

# %% tags=["remove-cell"]
# %matplotlib inline
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from myst_nb import glue as myst_glue

from analysis_lib import metrics
from analysis_lib.io import read_netcdf
from analysis_lib.networks import load_atlas
from analysis_lib.pipeline import DecomposeParams, ExtractParams, decompose, extract
from analysis_lib.results import MODEL_LABELS as LABEL
from analysis_lib.results import available_models, has_run, read_group, read_r_cv, run_dir


def glue(name: str, value, display: bool = False) -> None:
    """Glue a plain Python value (a NumPy scalar would be pasted as ``np.float64(...)``)."""
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=display)


models, missing = available_models()
res = {m: read_group(m) for m in models}
vl = [m for m in models if "clip" in m or "bridgetower" in m]


def key(model: str) -> str:
    return model.replace("tiny-", "").replace("-", "_")


def joint_loadings(model: str) -> xr.DataArray:
    """Loadings of one dictionary fitted on attn_out and cross_attn_out together.

    The extract stage at each site (cached), and the decompose stage with the grid run's
    parameters on the neurons of both sites.
    """
    recorded = json.loads(
        read_netcdf(run_dir("study-b-atoms", model) / "atoms.nc").attrs["params"]
    )
    parts = [
        extract(ExtractParams(model=model, stimulus="default-movie", site=s), cache=True)[
            "responses"
        ]
        for s in ("attn_out", "cross_attn_out")
    ]
    joint = xr.concat(parts, "neuron").assign_coords(
        neuron=np.arange(sum(p.sizes["neuron"] for p in parts))
    )
    fields = set(DecomposeParams.defaults())
    params = DecomposeParams.from_mapping({k: v for k, v in recorded.items() if k in fields})
    return decompose(params, joint)["loadings"]


loadings = {LABEL[m]: res[m]["atoms"]["loadings"] for m in models}
for m in [m for m in vl if "bridgetower" in m]:
    loadings[f"{LABEL[m]}, with cross-attention"] = joint_loadings(m)
sel = {name: metrics.modality_selectivity(w) for name, w in loadings.items()}
summ = {name: metrics.modality_summary(s) for name, s in sel.items()}

# %% [markdown]
# ## Selectivity of every sub-group
#
# Each dot is one AN sub-group (atom); its position is the index $I_k$ and its colour
# the share of cross-modal neurons in it.

# %% tags=["remove-input"]
rows = []
for name, s in sel.items():
    for k in s["atom"].values:
        rows.append(
            {
                "model": name,
                "atom": int(k),
                "index": float(s["index"].sel(atom=k)),
                "cross share": float(s["share"].sel(atom=k, branch="cross")),
                "size": int(s["size"].sel(atom=k)),
            }
        )
per_atom = pd.DataFrame(rows)
fig, ax = plt.subplots(figsize=(9, 0.55 * len(sel) + 1.5))
sns.stripplot(
    data=per_atom,
    x="index",
    y="model",
    hue="cross share",
    palette="viridis",
    hue_norm=(0, 1),
    jitter=0.2,
    size=6,
    ax=ax,
    legend=False,
)
sm = plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(0, 1))
fig.colorbar(sm, ax=ax, label="share of cross-modal neurons")
for x in (-0.5, 0.5):
    ax.axvline(x, color="0.5", ls=":", lw=1)
ax.set(
    xlim=(-1.08, 1.08),
    xlabel="modality selectivity index  (text -1 ... +1 vision)",
    ylabel="",
    title="AN sub-groups of the attention outputs",
)
fig.tight_layout()

# %% [markdown]
# ## CLIP versus the METER-like model
#
# One row per model ({func}`analysis_lib.metrics.modality_summary`): mean $|I_k|$ (how
# selective sub-groups are), the shares of vision-selective, text-selective and mixed
# sub-groups, and the mean share of cross-modal neurons.

# %% tags=["remove-cell"]
table = metrics.comparison_table(summ)
for name, s in summ.items():
    m = next(m for m in models if name.startswith(LABEL[m]))
    suffix = "_joint" if "cross-attention" in name else ""
    for v in ("mean_abs_index", "vision_selective", "text_selective", "mixed", "cross_share"):
        glue(f"sb_arch_{key(m)}{suffix}_{v}", float(s[v]), display=False)

# %% tags=["remove-input"]
table.style.format(precision=3)

# %% [markdown]
# In the untrained CLIP, the mean $|I_k|$ is {glue:text}`sb_arch_clip_mean_abs_index:.2f`
# and {glue:text}`sb_arch_clip_mixed:.0%` of sub-groups are mixed; in the trained CLIP
# {glue:text}`sb_arch_clip_trained_mean_abs_index:.2f` and
# {glue:text}`sb_arch_clip_trained_mixed:.0%`. When BridgeTower's cross-attention outputs
# join the decomposition, cross-modal neurons make up on average
# {glue:text}`sb_arch_bridgetower_joint_cross_share:.0%` of a sub-group untrained and
# {glue:text}`sb_arch_bridgetower_trained_joint_cross_share:.0%` trained. A dual encoder
# can still have mixed sub-groups: dictionary learning groups neurons by their *time
# courses*, and text and image streams that respond to the same moments of the movie
# (a caption appearing with a scene change) share atoms without sharing any connection.
#
# ## Where do modality-selective sub-groups map?
#
# The network each atom's group map is assigned to (the largest Dice overlap with the
# Cole-Anticevic networks among the pairs the grid's `network-shift` rule declares
# significant, {func}`analysis_lib.networks.correspondence`;
# `none` when no pair is significant), split by the selectivity class of the
# atom's sub-group.

# %% tags=["remove-input"]
rows = []
for m in vl:
    s = metrics.modality_selectivity(res[m]["atoms"]["loadings"])
    idx = s["index"].values
    cls = np.where(
        idx >= 0.5, "vision-selective", np.where(idx <= -0.5, "text-selective", "mixed")
    )
    assigned = res[m]["networks"]["assignment"].sel(atom=s["atom"]).values.astype(str)
    for c, a in zip(cls, assigned, strict=True):
        rows.append({"model": LABEL[m], "sub-group": c, "network": a})
if rows:
    ct = pd.crosstab(
        [
            pd.Series([r["model"] for r in rows], name="model"),
            pd.Series([r["sub-group"] for r in rows], name="sub-group"),
        ],
        pd.Series([r["network"] for r in rows], name="assigned network"),
    )
    display_table = ct
else:
    display_table = pd.DataFrame()
display_table

# %% tags=["remove-cell"]
# Assigned networks against the same model's held-out prediction there: an atom is
# assigned where the rule declares the pair significant and its map overlaps most;
# the held-out r is what all atoms together predict in that network on unseen data.
check_rows = []
for m in vl:
    r_cv = read_r_cv(m, "study-b-encode")
    per = metrics.prediction_per_network(r_cv, load_atlas("cole-anticevic", like=r_cv))
    mean_r = per["mean_r"].mean("subject").to_series()
    counts = pd.Series(res[m]["networks"]["assignment"].values.astype(str)).value_counts()
    for net, n in counts.items():
        if net != "none" and net in mean_r.index:
            check_rows.append(
                {"model": LABEL[m], "network": net, "atoms": int(n), "held-out r": mean_r[net]}
            )
check = pd.DataFrame(check_rows)
weak = check[check["held-out r"] < 0.05] if not check.empty else check
glue(
    "sb_arch_weak_assign",
    "; ".join(
        f"{r['model']}: {r['atoms']} atom(s) in {r['network']} (held-out r {r['held-out r']:.3f})"
        for _, r in weak.iterrows()
    )
    or "none",
)

# %% [markdown]
# Assignment and prediction answer different questions. An atom is assigned, among the
# networks whose in-sample mean BOLD follows it beyond its circular shifts (the grid's
# `network-shift` rule), to the one its group map overlaps most; the held-out
# $r$ of the prediction page is what all atoms together predict in a network on data the
# fit never saw. Assignments to a network where the same model's held-out mean $r$ is
# below 0.05 (these simulated data): {glue:text}`sb_arch_weak_assign`. Such an atom has
# that network's shape in its weight map without the model predicting the network's
# unseen signal, so it is not evidence that the sub-group serves the network.

# %% [markdown]
# ## Do the cross-modal neurons predict the brain better?
#
# The grid also runs the whole pipeline on BridgeTower's `cross_attn_out` neurons alone
# (`study-b-cross-*`). Mean cross-validated $r$ per network, subject mean, next to the
# same model's uni-modal attention outputs ({func}`analysis_lib.metrics.prediction_per_network`).

# %% tags=["remove-input"]
bts = [m for m in ("tiny-bridgetower", "tiny-bridgetower-trained") if m in models]
cross_ok = [m for m in bts if has_run(m, "study-b-cross")]
NETWORKS = ["Language", "Visual1", "Visual2", "Dorsal-attention", "Default"]
if cross_ok:
    r0 = read_r_cv(cross_ok[0], "study-b-cross-encode")
    atlas = load_atlas("cole-anticevic", like=r0)
    cols = {}
    for m in cross_ok:
        for grid, site in (
            ("study-b-encode", "attn_out"),
            ("study-b-cross-encode", "cross_attn_out"),
        ):
            per = metrics.prediction_per_network(read_r_cv(m, grid), atlas)
            cols[f"{LABEL[m]}: {site}"] = per["mean_r"].mean("subject").to_series()
    cmp = pd.DataFrame(cols).loc[NETWORKS]
    for m in cross_ok:
        glue(
            f"sb_arch_{key(m)}_cross_visual1",
            float(cmp.loc["Visual1", f"{LABEL[m]}: cross_attn_out"]),
            display=False,
        )
    out = cmp.style.format(precision=3)
else:
    out = "BridgeTower cross_attn_out runs: not run in this build"
out

# %%  tags=["remove-input"]
print("not run in this build:", ", ".join(missing) if missing else "none")

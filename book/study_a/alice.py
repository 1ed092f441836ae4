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
# # Real data: what language models add beyond word timing (Alice)
#
# This chapter tests the claim of Study A {cite}`sun2024brainlike` on **real fMRI**: that
# the artificial neurons of language models carry brain-relevant information, and more so
# as models become more capable. The data are the public release of Brennan et al.
# {cite}`brennan2016abstract`: participants listened to the first chapter of *Alice's
# Adventures in Wonderland* (about 12 minutes, TR 2 s); the release holds, per subject,
# six left-hemisphere and anterior-temporal regions of interest (ROIs: LATL, RATL, LPTL,
# LIPL, LPreM, LIFG), each subject's word-rate and sound-power predictors, motion
# parameters, and the authors' linguistic predictors.
#
# The question is asked the way a methods reviewer would: **what does a feature set add,
# on held-out data, to a model that already knows when words occur and how loud the sound
# is?** Everything on this page is computed by one library stage,
# {func}`analysis_lib.comparison.compare` (command `python -m analysis_lib compare`); the
# page only reads and plots its result.
#
# ```{admonition} What this page computes, and the full comparison
# :class: note
# The page runs the **`book`** preset ({glue:text}`alice_n_sets` feature sets: the
# controls, the atoms of every model at one $K$, the surprisal of the causal models and a
# $K$ sweep for MiniLM), sized so that a fresh build computes it within the book's time
# limit. The Qwen models take part only when their weights are already prepared in the
# data home. The chapter's **full** comparison (the **`study-a`** preset: $K$ sweeps for
# three models and the principal components of single SmolLM2 layers as well) is a
# command:
#
#     python -m analysis_lib fetch-weights qwen2.5-0.5b qwen2.5-1.5b
#     python -m analysis_lib compare --dataset alice --features study-a --n-jobs 2
#
# (the first command is the only one that downloads anything; both presets share their
# caches). The data are read from the extra data root (`ANALYSIS_LIB_EXTRA_DATA`) or the
# data home; without them this page shows a box with the command that fetches them
# (`python -m analysis_lib fetch alice`).
# ```

# %% tags=["remove-input"]
from analysis_lib.book import require_data

require_data("alice")  # without the data: a box saying how to fetch them; the rest is skipped

# %% tags=["remove-cell"]
# %matplotlib inline
import json
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue
from transformers.utils import logging as hf_logging

from analysis_lib.comparison import CompareParams, cached_compare, summary_table
from analysis_lib.comparison.stage import (
    BOOK_K_SWEEP,
    PC_LAYERS,
    SERIES,
    series_rows,
    usable_subjects,
)
from analysis_lib.datasets import alice
from analysis_lib.extraction import cached_extract
from analysis_lib.models import is_available
from analysis_lib.word_timing import timing_leak

hf_logging.disable_progress_bar()
#: The recorded run with the Qwen series (benchmarks/alice_series.py).
RECORD = Path("../../benchmarks/results/alice_series.json").resolve()
hf_logging.set_verbosity_error()
plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False})
LABEL = {
    "tiny-bert": "tiny-bert (random)",
    "tiny-llama": "tiny-llama (random)",
    "minilm": "MiniLM-L6",
    "smollm2": "SmolLM2-135M",
    "qwen2.5-0.5b": "Qwen2.5-Coder-0.5B",
    "qwen2.5-1.5b": "Qwen2.5-Coder-1.5B",
}

# %% [markdown]
# ## The data
#
# Every subject present under the data roots is used unless one of its ROI columns is
# constant (a defective recording); the stage names each left-out subject and ROI, and the
# warning is shown here rather than hidden.

# %%
params = CompareParams(dataset="alice", features="book", n_jobs=2)
subjects, notes = usable_subjects(params)
for note in notes:
    display(Markdown(f"> **Left out**: {note}"))
missing_qwen = [m for m in SERIES if m.startswith("qwen") and not is_available(m)]
if missing_qwen:
    display(
        Markdown(
            "```{warning}\nThe Qwen weights are not prepared in this data home ("
            + ", ".join(missing_qwen)
            + "), so this build does not compute the Qwen feature sets; the capability "
            + "series below draws them from the recorded run `benchmarks/results/"
            + "alice_series.json` when one is present (marked as such). Prepare them with"
            + "\n\n    "
            + "python -m analysis_lib fetch-weights "
            + " ".join(missing_qwen)
            + "\n\nand rebuild.\n```"
        )
    )
glue("alice_n_subjects", len(subjects), display=False)
glue("alice_n_present", len(alice.all_subjects()), display=False)
glue("alice_n_volumes", alice.N_VOLUMES, display=False)
print(f"{len(subjects)} usable subjects of {len(alice.all_subjects())} present")

# %% [markdown]
# {glue:text}`alice_n_subjects` of {glue:text}`alice_n_present` subjects are usable, each
# with {glue:text}`alice_n_volumes` volumes.
#
# ## Word timing leaks into every neuron unless activations are centred
#
# A neuron's response on the fMRI clock is the HRF convolved with its word activations
# ({mod}`analysis_lib.extraction`). If the activations are not centred, a neuron with mean
# activation $m$ carries $m$ times the convolved word train, whatever the model knows: a
# random network then looks like a word-rate predictor. The extraction now subtracts each
# neuron's mean over words before the HRF (`centre=True`, the default). The median
# absolute correlation of the neurons with the convolved word rate, before and after:

# %%
leak = []
for m in ("tiny-bert", "minilm"):
    for centre in (False, True):
        r = timing_leak(cached_extract(m, "alice", progress=False, centre=centre), "alice")
        leak.append(
            {"model": m, "centred": centre, "median |r| with word rate": float(r.median())}
        )
leak = pd.DataFrame(leak)
for row in leak.itertuples():
    key = f"alice_leak_{row.model.replace('-', '_')}_{'after' if row.centred else 'before'}"
    glue(key, row[3], display=False)
leak.pivot(index="model", columns="centred", values="median |r| with word rate").round(3)

# %% [markdown]
# Median $|r|$ with the word rate falls from {glue:text}`alice_leak_tiny_bert_before:.2f`
# to {glue:text}`alice_leak_tiny_bert_after:.2f` for the random tiny-bert and from
# {glue:text}`alice_leak_minilm_before:.2f` to {glue:text}`alice_leak_minilm_after:.2f` for
# MiniLM. What remains is real: the variance of a centred response still follows how many
# words fall in each volume, which is why the base model below contains the word rate.
#
# ## The comparison
#
# For each subject and ROI ({mod}`analysis_lib.comparison.nested`):
#
# - the **base model** is the subject's word rate, sound power and six motion parameters
#   (a cosine drift with a 0.01 Hz cut-off and an intercept are projected out of
#   everything first);
# - the **full model** adds one feature set, fitted with himalaya's banded ridge
#   (`BandedRidgeCV`), so the base and the feature set each get their own penalty;
# - both are scored by **held-out $R^2$** in five contiguous blocks of volumes, with
#   {glue:text}`alice_gap` volumes left out on each side of every test block; all penalties
#   are chosen by an inner blocked cross-validation on the training volumes only;
# - the **unique variance** $\Delta R^2 = R^2_{full} - R^2_{base}$ is what the feature set
#   adds. A feature set without information gives $\Delta R^2 \le 0$ on held-out data.
#
# Over subjects: the mean $\Delta R^2$, a percentile bootstrap 95 % interval, a two-sided
# sign-flip test, and Holm's correction over all ROIs x feature sets (and over feature sets
# for the mean over ROIs).
#
# Feature sets: the authors' linguistic predictors **without** their word rate (which is
# in the base); timing-only controls (word length and syllables); the atoms of a sparse
# dictionary ($K$ = 16) of each model's FFN-output neurons, with a sweep of $K$ for
# MiniLM; and each causal model's word surprisal and entropy. `tiny-bert` and `tiny-llama` have **random weights**: they are
# the twins that show what the same pipeline gives with no language knowledge.

# %%
with warnings.catch_warnings():
    # the stage warns about each left-out subject; here they are listed as text below
    warnings.filterwarnings("ignore", message=r"alice: subject .* left out")
    ds = cached_compare(params, progress=False)
for note in json.loads(ds.attrs.get("excluded", "[]")):
    print(note.rsplit(" constant in ", 1)[0] + " constant in its time-course file")
glue("alice_gap", int(params.gap), display=False)
glue("alice_n_sets", int(ds.sizes["feature_set"]), display=False)


table = summary_table(ds)
table.round(4)

# %% [markdown]
# The base model alone reaches a mean held-out $R^2$ of {glue:text}`alice_r2_base:.3f`.
# Per ROI, with each subject's $\Delta R^2$ (dots) and the group interval (bar), for the
# controls and the $K$ = 16 atoms of every model:

# %%
main_sets = ["authors", "timing"] + [
    f"atoms:{m}:16" for m in SERIES if f"atoms:{m}:16" in ds["feature_set"]
]
glue("alice_r2_base", float(ds["r2_base"].mean()), display=False)
rois = [str(r) for r in ds["roi"].values]
fig, axes = plt.subplots(1, len(rois), figsize=(14, 4.2), sharey=True)
for ax, roi in zip(axes, rois, strict=True):
    for i, fs in enumerate(main_sets):
        d = ds.sel(feature_set=fs, roi=roi)
        jitter = np.linspace(-0.15, 0.15, ds.sizes["subject"])
        ax.scatter(i + jitter, d["dr2"], s=6, color="0.6", zorder=1)
        lo, hi, mu = float(d["dr2_ci_low"]), float(d["dr2_ci_high"]), float(d["dr2_mean"])
        star = float(d["p_holm"]) < 0.05
        ax.errorbar(i, mu, yerr=[[mu - lo], [hi - mu]], fmt="o", color="C3" if star else "k")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xticks(range(len(main_sets)), main_sets, rotation=90, fontsize=7)
    ax.set_title(roi)
axes[0].set_ylabel("held-out ΔR² over the base model")
fig.suptitle("red: Holm-corrected p < 0.05 over ROIs x feature sets", fontsize=9)
fig.tight_layout()

# %% [markdown]
# ## The capability series
#
# Study A's central claim is that brain-like organisation grows with model sophistication
# and capability. Capability is measured here on the same text: the **per-word
# perplexity** of each causal model on the Alice chapter (the exponential of the mean word
# surprisal, comparable across tokenizers; {mod}`analysis_lib.surprisal`). Lower is more
# capable. MiniLM and tiny-bert are bidirectional encoders without a language-model head,
# so they have no perplexity and are drawn at the left. Both the atoms ($K$ = 16) and the
# surprisal regressors of each model are shown, with their 95 % intervals of the mean
# $\Delta R^2$ over ROIs.

# %%
series = pd.DataFrame(series_rows(ds)).assign(source="this build")
record = None
if missing_qwen and RECORD.is_file():
    record = json.loads(RECORD.read_text())
    live_params = json.loads(  # as the record holds them (tuples become lists)
        json.dumps({k: v for k, v in params.as_dict().items() if k != "n_jobs"})
    )
    if record["params"] != live_params:
        display(
            Markdown(
                f"```{{warning}}\nThe recorded run `{RECORD.name}` used other parameters "
                "than this page; its Qwen points are not shown. Rerun its command.\n```"
            )
        )
        record = None
if record is not None:
    rec = pd.DataFrame(record["rows"])
    shared = series.merge(rec, on="feature_set", suffixes=("", "_rec"))
    rec_diff = float((shared["dR2"] - shared["dR2_rec"]).abs().max()) if len(shared) else np.nan
    same_subjects = record["subjects"] == [str(x) for x in ds["subject"].values]
    added = rec[rec["model"].isin(missing_qwen)].assign(
        source=f"recorded {record['date']} ({record['commit']})"
    )
    series = pd.concat([series, added], ignore_index=True)
    glue("alice_record_date", record["date"], display=False)
    glue("alice_record_commit", record["commit"], display=False)
    glue("alice_record_command", record["command"], display=False)
    glue("alice_record_diff", rec_diff, display=False)
    display(
        Markdown(
            f"The Qwen points (hollow markers) come from the **recorded run** "
            f"`{RECORD.relative_to(RECORD.parents[2])}` made on {record['date']} at commit "
            f"`{record['commit']}` with `{record['command']}` (the same stage and "
            f"parameters as this page, {record['n_subjects']} subjects; "
            + (
                "the same subjects as here"
                if same_subjects
                else "**other subjects than this build**, so the points are not comparable"
            )
            + "). Its rows for the "
            f"{len(shared)} feature sets this build computed as well differ from this "
            f"build's by at most {rec_diff:.2g} in mean ΔR²"
            + (
                " (the record was made by the code that made this page)."
                if rec_diff < 1e-6
                else ": **the code has changed since the record was made; rerun its command**."
            )
        )
    )
fig, (ax0, ax) = plt.subplots(
    1, 2, figsize=(10, 4.2), sharey=True, gridspec_kw={"width_ratios": [1, 3]}
)
non_causal = series[series["perplexity"].isna()]
for i, r in enumerate(non_causal.itertuples()):
    ax0.errorbar(i, r.dR2, yerr=[[r.dR2 - r.lo], [r.hi - r.dR2]], fmt="s", color="C0")
ax0.set_xticks(range(len(non_causal)), [LABEL[m] for m in non_causal["model"]], rotation=30)
ax0.set_xlim(-0.6, len(non_causal) - 0.4)
ax0.set_ylabel("mean held-out ΔR² over ROIs (95 % CI)")
ax0.set_title("no perplexity (encoders)", fontsize=9)
causal = series[series["perplexity"].notna()]
for kind, marker, color in (("atoms", "s", "C0"), ("surprisal", "o", "C1")):
    sub = causal[causal["features"] == kind].sort_values("perplexity")
    ax.plot(sub["perplexity"], sub["dR2"], "-", color=color, label=kind)
    for r in sub.itertuples():
        ax.errorbar(
            r.perplexity,
            r.dR2,
            yerr=[[r.dR2 - r.lo], [r.hi - r.dR2]],
            fmt=marker,
            color=color,
            mfc=color if r.source == "this build" else "white",
            capsize=3,
        )
        if kind == "atoms":  # one label per model, under its atoms' interval
            ax.annotate(
                LABEL[r.model],
                (r.perplexity, r.lo),
                xytext=(0, -4),
                textcoords="offset points",
                fontsize=7,
                ha="center",
                va="top",
            )
if (series["source"] != "this build").any():
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    handles.append(
        Line2D([], [], marker="s", ls="", color="0.3", mfc="white", label="recorded run")
    )
    ax.legend(handles=handles, frameon=False)
else:
    ax.legend(frameon=False)
for a in (ax0, ax):
    a.axhline(0, color="0.4", lw=0.8)
ax.set_xscale("log")
ax.invert_xaxis()
ax.set_xlabel("per-word perplexity on the Alice chapter (log; more capable to the right)")
fig.tight_layout()
for r in series.itertuples():
    key = f"alice_{r.features}_{r.model.replace('-', '_').replace('.', '_')}"
    glue(key + "_dr2", r.dR2, display=False)
    glue(key + "_lo", r.lo, display=False)
    glue(key + "_hi", r.hi, display=False)
# One perplexity per model (a model appears once for its atoms and once for its surprisal).
for model, ppl in causal.groupby("model")["perplexity"].first().items():
    glue(f"alice_ppl_{model.replace('-', '_').replace('.', '_')}", ppl, display=False)
series.drop(columns="feature_set").round(4)

# %% [markdown]
# ## How many atoms, and which layer
#
# The number of atoms is a free choice of the method. The curve below repeats the
# comparison of MiniLM's atoms for $K$ = {glue:text}`alice_k_sweep`. The `study-a` preset
# (the command above) sweeps $K$ for more models and adds the first principal components
# of single SmolLM2 layers; their panel appears here when that result is the one read.

# %%
glue("alice_k_sweep", ", ".join(str(k) for k in BOOK_K_SWEEP["minilm"]), display=False)
all_ks = sorted(
    {
        int(str(f).rsplit(":", 1)[1])
        for f in ds["feature_set"].values
        if str(f).startswith("atoms:")
    }
)
has_pcs = any(str(f).startswith("pcs:") for f in ds["feature_set"].values)
fig, axs = plt.subplots(1, 2 if has_pcs else 1, figsize=(11 if has_pcs else 6, 4), squeeze=False)
ax = axs[0, 0]
for m in SERIES:
    ks = [k for k in all_ks if f"atoms:{m}:{k}" in ds["feature_set"]]
    if len(ks) < 2:
        continue
    d = ds.sel(feature_set=[f"atoms:{m}:{k}" for k in ks])
    mu = d["roi_mean_dr2_mean"].values
    ax.errorbar(
        ks,
        mu,
        yerr=[mu - d["roi_mean_ci_low"].values, d["roi_mean_ci_high"].values - mu],
        fmt="o-",
        capsize=3,
        label=LABEL[m],
    )
ax.set(xscale="log", xlabel="atoms K", ylabel="mean held-out ΔR² over ROIs (95 % CI)")
ax.set_xticks(all_ks, [str(k) for k in all_ks])
ax.minorticks_off()  # the log axis's minor labels (6, 20, 30 ...) would overlap these
ax.axhline(0, color="0.4", lw=0.8)
ax.legend(frameon=False, fontsize=8)
for m, layers in PC_LAYERS.items() if has_pcs else ():
    bx = axs[0, 1]
    names = [f"pcs:{m}:L{layer}" for layer in layers if f"pcs:{m}:L{layer}" in ds["feature_set"]]
    if not names:
        continue
    d = ds.sel(feature_set=names)
    mu = d["roi_mean_dr2_mean"].values
    bx.errorbar(
        [int(n.rsplit(":L", 1)[1]) for n in names],
        mu,
        yerr=[mu - d["roi_mean_ci_low"].values, d["roi_mean_ci_high"].values - mu],
        fmt="o-",
        capsize=3,
        label=LABEL[m],
    )
    bx.set(xlabel="layer", ylabel="mean held-out ΔR² over ROIs (95 % CI)")
    bx.axhline(0, color="0.4", lw=0.8)
    bx.legend(frameon=False, fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Noise ceiling
#
# What any stimulus model can reach in a subject is the share of its signal that is
# locked to the story, i.e. shared by everyone who heard it. On the scale of the scored
# quantity (single-subject $R^2$), the **one-factor ceiling**
# ({func}`analysis_lib.comparison.ceiling.one_factor_ceiling`) estimates it from the
# pairwise inter-subject correlations $C_{uv} = \rho_u \rho_v$:
# $\hat\rho_s^2 = \sum_{u \ne v} C_{su} C_{sv} / \sum_{u \ne v} C_{uv}$ over the other
# subjects (exact under the model, with no equal-reliability assumption; checked on
# simulated data with a known ceiling in `tests/test_comparison.py`). The correlation with
# the mean of the other subjects (leave-one-subject-out ISC), used before as the ceiling,
# is biased low because that mean is noisy, and is on the scale of $r$, not $R^2$.

# %%
ceil = pd.DataFrame(
    {
        "one-factor ceiling (R²)": ds["ceiling"].mean("subject").to_series(),
        "LOSO ISC (r)": ds["loso_isc"].mean("subject").to_series(),
        "LOSO ISC squared": (ds["loso_isc"] ** 2).mean("subject").to_series(),
        "base R²": ds["r2_base"].mean("subject").to_series(),
    }
)
glue("alice_ceiling_mean", float(ds["ceiling"].mean()), display=False)
glue("alice_loso_mean", float(ds["loso_isc"].mean()), display=False)
ceil.round(3)

# %% [markdown]
# The mean one-factor ceiling is $R^2$ = {glue:text}`alice_ceiling_mean:.3f` (the mean
# LOSO ISC, an $r$, is {glue:text}`alice_loso_mean:.3f`).
#
# ## Bottom line

# %%
alpha = 0.05
pos = table[(table["p Holm"] < alpha) & (table["mean dR² (ROIs)"] > 0)]
neg = table[(table["p Holm"] < alpha) & (table["mean dR² (ROIs)"] < 0)]


def names(index) -> str:
    return ", ".join(f"`{f}`" for f in index) if len(index) else "**none**"


roi_pos, roi_neg = [], []
for f in ds["feature_set"].values:
    d = ds.sel(feature_set=f)
    hit = d["p_holm"] < alpha
    if bool((hit & (d["dr2_mean"] > 0)).any()):
        roi_pos.append(str(f))
    if bool((hit & (d["dr2_mean"] < 0)).any()):
        roi_neg.append(str(f))
best = table["mean dR² (ROIs)"].idxmax()
b = table.loc[best]
glue("alice_best_set", best, display=False)
glue("alice_best_dr2", float(b["mean dR² (ROIs)"]), display=False)
if len(pos) == 0:
    head = (
        f"**On these {len(subjects)} subjects, no feature set adds held-out variance over "
        "word rate + sound power + motion** (mean over ROIs, Holm-corrected sign-flip test "
        f"over subjects, p < {alpha}; none of the {len(table)} sets). The largest mean "
        f"ΔR² over ROIs is {b['mean dR² (ROIs)']:.4f} (`{best}`, 95 % CI "
        f"{b['95% CI low']:.4f} to {b['95% CI high']:.4f}, Holm p = {b['p Holm']:.2g}); "
        "the intervals of every set are in the table above."
    )
else:
    head = (
        f"**On these {len(subjects)} subjects, {len(pos)} of the {len(table)} feature sets "
        "add held-out variance over word rate + sound power + motion** (mean over ROIs, "
        f"Holm-corrected p < {alpha}): "
        + "; ".join(
            f"`{f}` {r['mean dR² (ROIs)']:.4f} (95 % CI {r['95% CI low']:.4f} to "
            f"{r['95% CI high']:.4f})"
            for f, r in pos.iterrows()
        )
        + "."
    )
lines = [
    head,
    "",
    f"- Feature sets that **add** held-out variance to the base model, mean over ROIs, "
    f"Holm-corrected p < {alpha}: {names(pos.index)} (of {len(table)} tested).",
    f"- Feature sets that **lower** held-out R² (mean over ROIs, same test): {names(neg.index)}.",
    f"- Adding in at least one ROI (Holm over ROIs x feature sets): {names(roi_pos)}; "
    f"lowering in at least one ROI: {names(roi_neg)}.",
]
causal_atoms = series[(series["features"] == "atoms") & series["perplexity"].notna()].sort_values(
    "perplexity", ascending=False
)
if len(causal_atoms) >= 3:
    from scipy.stats import spearmanr

    rho = spearmanr(-np.log(causal_atoms["perplexity"]), causal_atoms["dR2"]).statistic
    glue("alice_capability_rho", float(rho), display=False)
    lines.append(
        f"- Across the {len(causal_atoms)} causal models"
        + (
            f" ({(causal_atoms['source'] != 'this build').sum()} of them from the recorded run)"
            if (causal_atoms["source"] != "this build").any()
            else ""
        )
        + ", the Spearman correlation between "
        f"capability (−log perplexity) and the atoms' ΔR² is {rho:.2f}; with "
        f"{len(causal_atoms)} models and overlapping intervals this is descriptive, not a "
        "test."
    )
display(Markdown("\n".join(lines)))
glue(
    "alice_summary_json",
    json.dumps({"adds": list(pos.index), "lowers": list(neg.index), "adds_in_a_roi": roi_pos}),
    display=False,
)

# %% [markdown]
# Read with the numbers above: the intervals of the mean $\Delta R^2$ over ROIs are
# {glue:text}`alice_atoms_minilm_lo:.4f` to {glue:text}`alice_atoms_minilm_hi:.4f` for
# MiniLM's atoms and {glue:text}`alice_atoms_smollm2_lo:.4f` to
# {glue:text}`alice_atoms_smollm2_hi:.4f` for SmolLM2's, against
# {glue:text}`alice_atoms_tiny_bert_lo:.4f` to {glue:text}`alice_atoms_tiny_bert_hi:.4f` for
# the random tiny-bert. The list above is generated from the results: only what survives
# the correction is claimed. A negative $\Delta R^2$ is the held-out price of fitting more
# features than the data support (it shrinks towards 0 as the banded ridge learns to
# switch a useless band off); it is not evidence that a feature set "anti-predicts".
#
# Caveats. Six ROI averages from one 12-minute story: every score rests on
# {glue:text}`alice_n_volumes` volumes per subject, so small effects cannot be resolved and
# a null result here is not evidence of absence. The conclusions are stated as tests over
# subjects, so they can be re-checked on another copy of the release (the public one has
# 28 subjects) by pointing `ANALYSIS_LIB_EXTRA_DATA` at it and running the same command.
# Whole-brain maps and network correspondence need voxel-wise data (e.g. Narratives),
# which the commands of the {doc}`overview` run.

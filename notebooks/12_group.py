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
# # Group maps and functional-network correspondence of one model
#
# One run combines the per-subject encoding results of one model into group maps
# ({func}`analysis_lib.encoding.group_encoding`: one-sample t, sign-flip permutations,
# FWE and FDR), matches the thresholded atom maps to functional brain network templates
# ({func}`analysis_lib.networks.correspondence`: Dice, a spatial null and a network-level
# group test of the subject betas), and computes
# the organization metrics ({mod}`analysis_lib.metrics`).

# %% tags=["parameters"]
model = "minilm"
atoms_path = "../results/dev/atoms/atoms.nc"
encodings = "../results/dev/encode/encoding_*.nc"  # a glob pattern
atlas = "cole-anticevic"
correction = "uncorrected"  # fdr | fdr-param | fwe | uncorrected (see maps_from_group)
threshold = 0.01  # voxel p threshold; the validated setting (`python -m analysis_lib validate`)
n_perm = 1000  # sign-flip permutations of the group maps
n_perm_networks = 5000  # spatial-null maps of the network correspondence; smallest p 1/(n + 1)
seed = 0
results_dir = "../results/dev/group"
run_id = "dev"

# %%
import glob
import json
from pathlib import Path

# %matplotlib inline
import matplotlib.pyplot as plt
import seaborn as sns

from analysis_lib import metrics
from analysis_lib.encoding import group_encoding, subject_maps
from analysis_lib.io import read_netcdf, write_netcdf
from analysis_lib.networks import correspondence, load_atlas, maps_from_group, threshold_maps

out = Path(results_dir)
out.mkdir(parents=True, exist_ok=True)
files = sorted(glob.glob(encodings))
if len(files) < 2:
    raise FileNotFoundError(f"{encodings}: group maps need at least two subjects, found {files}")
decomposition = read_netcdf(atoms_path)
subjects = [read_netcdf(f) for f in files]  # read once: group maps and network-level test
group = group_encoding(subjects, n_perm=n_perm, seed=seed, progress=False)
group.attrs.update(model=model, subjects=len(files))
write_netcdf(group, out / "group.nc")
print(
    f"{model}: {len(files)} subjects, {group.sizes['atom']} atoms, {group.sizes['voxel']:,} voxels"
)

# %%
atl = load_atlas(atlas, like=group)
# each (atom, network) pair: spatial null and network-level group test of the subject betas
corr = correspondence(
    group,
    atl,
    threshold=threshold,
    correction=correction,
    n_perm=n_perm_networks,
    seed=seed,
    subject_maps=subject_maps(subjects),
    progress=False,
)
corr.attrs.update(model=model, atlas=atlas)
write_netcdf(corr, out / "networks.nc")
fig, ax = plt.subplots(figsize=(10, 4))
sns.heatmap(
    corr["dice"].T,
    cmap="mako",
    ax=ax,
    cbar_kws={"label": "Dice"},
    yticklabels=[str(n) for n in corr["network"].values],
)
ax.set(xlabel="atom", ylabel="network", title=f"atom maps vs {atlas} networks ({model})")
fig.tight_layout()

# %%
# the same significance as the network correspondence above (see `maps_from_group`)
maps, pvalues = maps_from_group(group, correction)
significant = threshold_maps(maps, pvalues, threshold=threshold)
summary = metrics.study_a_summary(decomposition["atoms"], maps, corr, decomposition)
summary = summary.merge(metrics.redundancy_summary(significant, decomposition["loadings"], atl))
counts = metrics.atoms_per_network(corr)
summary.attrs.update(model=model, atlas=atlas)
write_netcdf(summary, out / "metrics.nc")
write_netcdf(counts.rename("atoms_per_network"), out / "atoms_per_network.nc")
print(json.dumps({k: float(v) for k, v in summary.data_vars.items()}, indent=1))

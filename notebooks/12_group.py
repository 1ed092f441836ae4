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
# ({func}`analysis_lib.networks.correspondence`: Dice, a spatial null and, with
# `rule="network-shift"` as the book's grid sets it, the network-mean BOLD of every
# subject refitted on circularly shifted atoms, the calibrated rule of
# {mod}`analysis_lib.networks.rules`), and computes
# the organization metrics ({mod}`analysis_lib.metrics`).

# %% tags=["parameters"]
model = "minilm"
atoms_path = "../results/dev/atoms/atoms.nc"
encodings = "../results/dev/encode"  # folder of the encode run: encoding_<subject>.nc
subjects = ["sub-01", "sub-02"]  # exactly the subjects to combine
atlas = "cole-anticevic"
correction = "uncorrected"  # uncorrected | fdr-param | fdr | fwe (see maps_from_group)
threshold = 0.01  # voxel p threshold; the validated setting (`python -m analysis_lib validate`)
n_perm = 1000  # sign-flip permutations of the group maps
n_perm_networks = 1000  # spatial-null maps of the network correspondence; smallest p 1/(n + 1)
# the significant set: spatial+network | network | network-shift; the book's grid runs the
# calibrated rule (network-shift, min_r of analysis_lib.networks.rules.CALIBRATED_RULE)
rule = "spatial+network"
min_r = 0.0  # effect bound of the rule
n_shift = 500  # circular shifts of the temporal null (rule network-shift)
shift_fit = "marginal"  # marginal | joint (rule network-shift)
dataset = ""  # the subjects' BOLD for the network-shift rule ("": as recorded by encode)
seed = 0
results_dir = "../results/dev/group"
run_id = "dev"

# %%
import json
from pathlib import Path

# %matplotlib inline
import matplotlib.pyplot as plt
import seaborn as sns

from analysis_lib.io import read_netcdf, write_netcdf
from analysis_lib.networks import load_atlas
from analysis_lib.pipeline import (
    GroupParams,
    MetricsParams,
    NetworksParams,
    encoding_files,
    group,
    metrics,
    networks,
    subject_bold,
)

# every parameter is checked here, before any work starts
group_params = GroupParams(subjects=subjects, n_perm=n_perm, seed=seed)
networks_params = NetworksParams(
    atlas=atlas,
    correction=correction,
    threshold=threshold,
    n_perm=n_perm_networks,
    seed=seed,
    rule=rule,
    min_r=min_r,
    n_shift=n_shift,
    shift_fit=shift_fit,
)
files = encoding_files(encodings, group_params.subjects)  # exactly these subjects
out = Path(results_dir)
out.mkdir(parents=True, exist_ok=True)
decomposition = read_netcdf(atoms_path)
subject_results = [read_netcdf(f) for f in files]  # read once: group maps and network test
maps = group(group_params, subject_results)
maps.attrs.update(model=model, run_id=run_id)
write_netcdf(maps, out / "group.nc")
print(
    f"{model}: {maps.attrs['n_subjects']} subjects ({', '.join(maps.attrs['subjects'])}), "
    f"{maps.sizes['atom']} atoms, {maps.sizes['voxel']:,} voxels"
)

# %%
atl = load_atlas(atlas, like=maps)
# each (atom, network) pair: spatial null, network-level group test of the subject betas
# and, for the network-shift rule, the shift test on each subject's network-mean BOLD
extra = {}
if rule == "network-shift":
    extra = {"atoms": decomposition, "bold": subject_bold(subject_results, dataset or None)}
corr = networks(networks_params, maps, subject_results, atlas=atl, **extra)
corr.attrs.update(model=model, run_id=run_id)
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
# thresholded as the network correspondence above (its recorded correction and threshold)
summary = metrics(MetricsParams(), decomposition, maps, corr, atl)
summary.attrs.update(model=model, atlas=atlas, run_id=run_id)
write_netcdf(summary, out / "metrics.nc")
write_netcdf(summary["atoms_per_network"], out / "atoms_per_network.nc")
print(json.dumps({k: float(v) for k, v in summary.data_vars.items() if v.ndim == 0}, indent=1))

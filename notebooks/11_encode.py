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
# # Encoding one subject with the atoms as fixed regressors
#
# One run takes the atoms of one model and the BOLD data of **each listed subject** (one
# subject per run in the full-scale grid, all subjects in one run in the default book) and fits a
# voxel-wise GLM ({func}`analysis_lib.encoding.fit_encoding`): betas, t values,
# parametric and permutation p values (circular-shift null), and cross-validated ridge
# prediction.

# %% tags=["parameters"]
model = ""  # label only
atoms_path = "../results/dev/atoms/atoms.nc"
dataset = "phantom-story"
subjects = ["sub-01", "sub-02"]
n_perm = 1000
null = "shift"  # shift (circular shifts of the atoms) | phase (phase randomisation)
noise_model = "ols"  # ols | ar1 (prewhitening)
confounds = ""  # confound file of each subject, with {subject}; empty: none
confounds_drop_first = 0
cv = 5
seed = 0
device = "cpu"
results_dir = "../results/dev/encode"
run_id = "dev"

# %%
from pathlib import Path

# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import xarray as xr

from analysis_lib import datasets
from analysis_lib.io import read_netcdf, write_netcdf
from analysis_lib.pipeline import EncodeParams, encode
from analysis_lib.pipeline.params import subject_list

# every parameter is checked here, before any work starts
params = EncodeParams(
    n_perm=n_perm,
    null=null,
    noise_model=noise_model,
    confounds_drop_first=confounds_drop_first,
    cv=cv,
    seed=seed,
    device=device,
)
subjects = subject_list(subjects)
if confounds and "{subject}" not in confounds:
    raise ValueError(f"confounds {confounds!r} must contain {{subject}} (one file per subject)")
out = Path(results_dir)
out.mkdir(parents=True, exist_ok=True)
atoms = read_netcdf(atoms_path)
fits = {}
for subject in subjects:
    bold = datasets.load(dataset, subject)
    print(
        f"{dataset} {subject}: {bold.sizes['voxel']:,} voxels x {bold.sizes['time']} volumes; "
        f"{atoms.sizes['atom']} atoms"
    )
    conf = [confounds.format(subject=subject)] if confounds else None
    enc = encode(
        params,
        atoms,
        bold,
        conf,
        subject=subject,
        dataset=dataset,
        paths={"atoms": atoms_path, "confounds": conf[0] if conf else None},
    )
    enc.attrs.update({"run_id": run_id, **({"model": model} if model else {})})
    write_netcdf(enc, out / f"encoding_{subject}.nc")
    fits[subject] = enc

# %%
sig = xr.concat([e["pvalue_perm"] < 0.05 for e in fits.values()], "subject").mean(
    ("subject", "voxel")
)
r_cv = np.concatenate([e["r_cv"].values for e in fits.values()]) if cv else None
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].bar(sig["atom"], sig, color="0.3")
axes[0].axhline(0.05, color="tab:red", ls="--", label="nominal 5 %")
axes[0].set(
    xlabel="atom", ylabel="share of voxels p < 0.05", title="uncorrected permutation tests"
)
axes[0].legend()
if r_cv is not None:
    sns.histplot(r_cv, bins=50, ax=axes[1])
    axes[1].set(
        xlabel="cross-validated r", ylabel="voxels x subjects", title="held-out prediction"
    )
fig.tight_layout()

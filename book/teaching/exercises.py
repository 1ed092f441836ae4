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
# # Exercises
#
# Short exercises on the pipeline, each with a worked solution hidden under a toggle:
# try first, then click **Show code cell** (or the dropdown) to compare. Every solution
# was executed when the book was built, on the tiny models and the SIMULATED data of the
# default grid, so it runs in seconds on a laptop. Download this page as a notebook
# (button at the top) to work on it.
#
# The setup cell loads what the exercises share: the attention-output responses of the
# untrained `tiny-clip` to `default-movie` (cached after the first extraction) and the
# ground truth of the `phantom-movie` simulation.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from analysis_lib import datasets
from analysis_lib.decomposition import SparseDictionary
from analysis_lib.encoding import fit_encoding
from analysis_lib.extraction import cached_extract

responses = cached_extract(
    "tiny-clip", "default-movie", site="attn_out", device="cpu", progress=False
)
truth = datasets.ground_truth("phantom-movie")
print(dict(responses.sizes), "| planted features:", [str(f) for f in truth["feature"].values])

# %% [markdown]
# ## Exercise 1: the sparsity penalty and the sub-groups
#
# Sparse dictionary learning codes each neuron's time course $x_j$ on the atoms $D$ by
# minimizing $\tfrac12\lVert x_j - D a_j\rVert_2^2 + \alpha \lVert a_j \rVert_1$. The
# larger $\alpha$, the fewer atoms each neuron uses.
#
# Fit {class}`~analysis_lib.decomposition.SparseDictionary` with $K = 8$ atoms for
# $\alpha \in \{0.02, 0.1, 0.3, 0.6\}$. For each, count the atoms whose sub-group is not
# empty, the median sub-group size, the mean number of atoms per neuron and the median
# reconstruction $R^2$. What happens as $\alpha$ grows, and why?

# %% tags=["hide-cell"]
rows = []
for alpha in (0.02, 0.1, 0.3, 0.6):
    sd = SparseDictionary(n_atoms=8, alpha=alpha, seed=0, verbose=False).fit(responses)
    member = np.abs(sd.loadings_) > 0  # (atom, neuron)
    rows.append(
        {
            "alpha": alpha,
            "non-empty atoms": int((member.sum(1) > 0).sum()),
            "median sub-group size": float(np.median(member.sum(1))),
            "atoms per neuron": float(member.sum(0).mean()),
            "median R2": float(np.nanmedian(sd.r2_)),
        }
    )
pd.DataFrame(rows)

# %% [markdown]
# ```{admonition} Solution: what to see
# :class: dropdown
# As $\alpha$ grows, the L1 penalty pushes more loadings to exactly zero: each neuron
# uses fewer atoms, sub-groups shrink, and the reconstruction $R^2$ drops. With a large
# enough $\alpha$ some atoms lose all their neurons (empty sub-groups). The choice of
# $\alpha$ is a trade-off between interpretable, small sub-groups and a faithful
# summary of the responses; Study A and B use $\alpha = 0.1$ on unit-norm responses.
# ```
#
# ## Exercise 2: circular shifts or phase randomization?
#
# The permutation p values of the encoding stage compare each atom's $t$ value with
# surrogate atoms: circular shifts (`null="shift"`) or phase-randomized copies
# (`null="phase"`). Fit the four planted features of the phantom (as atoms) to subject
# `sub-01` of `phantom-movie` with both nulls (99 surrogates, no cross-validation) and
# compare (a) the share of voxels with $p < 0.05$ for each feature and (b) the two sets
# of p values against each other. Then do the same on `phantom-null`, whose clock is
# that of the default story: use the story features of `phantom-story` there.

# %% tags=["hide-cell"]
from analysis_lib.validation import oracle_atoms

movie_atoms = oracle_atoms(truth)
bold = datasets.load("phantom-movie", "sub-01")
fits = {
    null: fit_encoding(movie_atoms, bold, n_perm=99, cv=None, null=null, seed=0, progress=False)
    for null in ("shift", "phase")
}
story_atoms = oracle_atoms(datasets.ground_truth("phantom-story"))
null_bold = datasets.load("phantom-null", "sub-01")
null_fits = {
    null: fit_encoding(
        story_atoms, null_bold, n_perm=99, cv=None, null=null, seed=0, progress=False
    )
    for null in ("shift", "phase")
}
share = pd.DataFrame(
    {
        f"{data}, {null}": (f["pvalue_perm"] < 0.05).mean("voxel").to_series()
        for data, fs in (("phantom-movie", fits), ("phantom-null", null_fits))
        for null, f in fs.items()
    }
)
share.index = [*truth["feature"].values]  # atoms are the features, in order
display(share.style.format("{:.3f}"))
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(
    fits["shift"]["pvalue_perm"].values.ravel(),
    fits["phase"]["pvalue_perm"].values.ravel(),
    s=2,
    alpha=0.3,
)
ax.plot([0, 1], [0, 1], color="tab:red", lw=1)
ax.set(xlabel="p (circular shift)", ylabel="p (phase randomization)", title="phantom-movie")
fig.tight_layout()

# %% [markdown]
# ```{admonition} Solution: what to see
# :class: dropdown
# On `phantom-movie`, where the features are planted, both nulls flag many voxels and
# agree closely; p values are capped at $1/(B+1) = 0.01$ with 99 surrogates. On
# `phantom-null` both reject close to the nominal 5 %. Circular shifts keep each atom
# exactly (only moved in time) but offer at most $T - 1$ distinct surrogates and treat the
# series as periodic; phase randomization keeps the power spectrum (so the
# autocorrelation) and draws new series, which can be too regular for very non-Gaussian
# atoms (e.g. sparse impulses such as scene cuts). The [calibration
# chapter](../validation/calibration) measures both on many null data sets.
# ```
#
# ## Exercise 3: which network does an atom map to?
#
# The default grid's `study-b-group` run of `tiny-clip` wrote the network
# correspondence of its atoms (`networks.nc`: Dice overlap `dice` (atom, network), its
# spatial-null p value `p` and the `assignment` of each atom). Read it, find the atom
# with the largest Dice overlap and its network, and check against the simulation's
# ground truth: which planted feature does that atom's time course correlate with most,
# and is that feature planted in that network (`truth["weights"]`)?

# %% tags=["hide-cell"]
from analysis_lib.results import read_result  # results/<grid>/model=<model>/<file>

corr = read_result("study-b-group", "tiny-clip", "networks.nc")
atoms = read_result("study-b-atoms", "tiny-clip", "atoms.nc", variable="atoms")
dice = corr["dice"].to_pandas()  # (atom, network)
best_atom, best_net = dice.stack().idxmax()
print(
    f"atom {best_atom}: Dice {dice.loc[best_atom, best_net]:.3f} with {best_net}, "
    f"p = {float(corr['p'].sel(atom=best_atom, network=best_net)):.3f}, "
    f"assigned to {str(corr['assignment'].sel(atom=best_atom).values)!r}"
)
feats = truth["features"].to_pandas()  # (time, feature)
r = feats.corrwith(pd.Series(atoms.sel(atom=best_atom).values, index=feats.index))
print("correlation of the atom with the planted features:")
print(r.round(3).to_string())
weights = truth["weights"].to_pandas()  # (network, feature)
print(f"planted weights of {best_net}:", weights.loc[best_net].to_dict())

# %% [markdown]
# ```{admonition} Solution: what to see
# :class: dropdown
# Two things can happen. If the atom's strongest correlation is with a feature that is
# planted in its best network (e.g. luminance in `Visual1`, motion in `Visual2`, with the
# sign of the planted weight), the atom has recovered planted structure. If it is not,
# the atom is a *mixture* of features: its time course follows several of them (in the
# default movie, captions, scene cuts and motion often change together), and its map
# overlaps several networks. Note also that a large, nominally significant Dice overlap
# does not guarantee an assignment: the assignment uses p values corrected across all
# (atom, network) tests. Counting atoms of the first kind is what the `recovery` score
# of the [phantom validation](../validation/phantom) does.
# Try the same with `model=tiny-clip-trained` and compare.
# ```

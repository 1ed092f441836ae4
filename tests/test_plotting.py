"""Smoke and correctness tests of the book's figure helpers (Agg backend, synthetic inputs)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from analysis_lib import plotting


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _grayordinate_map(stride: int = 12, seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    g = np.arange(0, plotting.N_CORTEX, stride)
    return xr.DataArray(
        rng.normal(size=g.size), dims="voxel", coords={"grayordinate": ("voxel", g)}
    )


def test_surface_textures_place_values_on_their_vertices():
    m = _grayordinate_map(stride=1)
    tex = plotting.surface_textures(m, fill=None)
    left = plotting._vertices_of("left")
    right = plotting._vertices_of("right")
    np.testing.assert_array_equal(tex["left"][left], m.values[: plotting.N_CORTEX_LEFT])
    np.testing.assert_array_equal(tex["right"][right], m.values[plotting.N_CORTEX_LEFT :])
    # medial wall: vertices without a grayordinate stay empty
    wall = np.setdiff1d(np.arange(plotting.N_VERTICES), left)
    assert wall.size > 0 and np.isnan(tex["left"][wall]).all()


def test_surface_textures_nearest_fill_copies_sampled_values():
    m = _grayordinate_map(stride=12)
    sparse = plotting.surface_textures(m, fill=None)
    filled = plotting.surface_textures(m, fill="nearest")
    for hemi in plotting.HEMISPHERES:
        cortex = plotting._vertices_of(hemi)
        assert np.isfinite(filled[hemi][cortex]).all()
        known = np.isfinite(sparse[hemi])
        np.testing.assert_array_equal(filled[hemi][known], sparse[hemi][known])
        # filled values are copies of sampled ones
        assert np.isin(filled[hemi][cortex], sparse[hemi][known]).all()
    # subcortical grayordinates are ignored, bad shapes and indices raise
    sub = xr.DataArray([1.0, 2.0], dims="voxel", coords={"grayordinate": ("voxel", [0, 70000])})
    assert np.nansum(plotting.surface_textures(sub, fill=None)["left"]) == 1.0
    with pytest.raises(ValueError, match="same length"):
        plotting.surface_textures(np.zeros(3), np.arange(4))
    with pytest.raises(ValueError, match=r"0\.\.91281"):
        plotting.surface_textures(np.zeros(1), np.array([100000]))
    with pytest.raises(ValueError, match="grayordinate"):
        plotting.surface_textures(xr.DataArray(np.zeros(2), dims="voxel"))


def test_plot_surface_map_has_panels_title_and_colorbar():
    fig = plotting.plot_surface_map(
        _grayordinate_map(),
        title="atom 0",
        cbar_label="group t (unitless)",
        views=("lateral",),
        threshold=1.0,
    )
    panels = [ax for ax in fig.axes if ax.name == "3d"]
    assert [ax.get_title() for ax in panels] == ["left lateral", "right lateral"]
    cbars = [ax for ax in fig.axes if ax.name != "3d"]
    assert len(cbars) == 1 and cbars[0].get_xlabel() == "group t (unitless)"
    assert fig._suptitle.get_text() == "atom 0"


def test_plot_volume_map_draws_a_glass_brain():
    shape = (10, 12, 10)
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = [-20, -24, -20]
    ijk = np.argwhere(np.ones(shape, bool))[::3]
    da = xr.DataArray(
        np.random.default_rng(0).normal(size=len(ijk)),
        dims="voxel",
        coords={c: ("voxel", ijk[:, n]) for n, c in enumerate("ijk")},
        attrs={"affine": list(affine.ravel()), "shape": list(shape)},
    )
    fig = plotting.plot_volume_map(da, title="atom 3", cbar_label="t value")
    assert len(fig.axes) >= 4
    assert any(ax.get_ylabel() == "t value" for ax in fig.axes)
    with pytest.raises(ValueError, match="voxel"):
        plotting.plot_volume_map(da.expand_dims(atom=[0]))


def _corr() -> xr.Dataset:
    dice = np.array([[0.8, 0.1, 0.0], [0.05, 0.3, 0.6]])
    return xr.Dataset(
        {
            "dice": (("atom", "network"), dice),
            "p_fdr": (("atom", "network"), [[0.001, 0.9, 1.0], [1.0, 0.2, 0.01]]),
            "assignment": ("atom", ["Visual1", "Language"]),
        },
        coords={"atom": [0, 1], "network": ["Visual1", "Auditory", "Language"]},
    )


def test_dice_heatmap_labels_marks_and_frames():
    ax = plotting.dice_heatmap(_corr(), title="toy")
    assert ax.get_xlabel() == "network" and ax.get_ylabel() == "atom"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Visual1", "Auditory", "Language"]
    assert ax.get_title() == "toy"
    cbar = ax.figure.axes[-1]
    assert "Dice" in cbar.get_ylabel()
    offsets = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(np.asarray(offsets), [[0.85, 0.2], [2.85, 1.2]])
    frames = [p for p in ax.patches if not p.get_fill()]
    assert sorted((p.get_x(), p.get_y()) for p in frames) == [(0, 0), (2, 1)]
    # with a significant set (a rule with an effect bound), the dots follow it, not p_fdr
    corr = _corr()
    corr["significant"] = (("atom", "network"), [[False, False, False], [False, False, True]])
    ax = plotting.dice_heatmap(corr)
    np.testing.assert_allclose(np.asarray(ax.collections[-1].get_offsets()), [[2.85, 1.2]])
    with pytest.raises(ValueError, match="correspondence"):
        plotting.dice_heatmap(xr.Dataset({"x": ("atom", [1])}))


def test_layer_heatmap_axes():
    d = xr.DataArray(
        np.full((3, 4), 0.25),
        dims=("atom", "layer"),
        coords={"atom": [0, 1, 2], "layer": [0, 1, 2, 3]},
    )
    ax = plotting.layer_heatmap(d)
    assert ax.get_xlabel() == "atom" and ax.get_ylabel() == "layer"
    assert "share" in ax.figure.axes[-1].get_ylabel()


@pytest.mark.parametrize("kind", ["bar", "point"])
def test_model_comparison_kinds(kind):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "model": np.repeat(["minilm", "tiny-bert"], 20),
            "r": rng.normal(size=40),
            "weights": np.repeat(["pretrained", "random"], 20),
        }
    )
    ax = plotting.model_comparison(
        frame, "r", kind=kind, hue="weights", ylabel="held-out r", reference=0.0
    )
    assert ax.get_ylabel() == "held-out r" and ax.get_xlabel() == "model"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["minilm", "tiny-bert"]
    assert ax.get_legend() is not None


def test_model_comparison_mapping_values_and_errors():
    ax = plotting.model_comparison({"a": 1.0, "b": 3.0}, "balance", title="t")
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == [1.0, 3.0]
    with pytest.raises(ValueError, match="metric"):
        plotting.model_comparison(pd.DataFrame({"model": ["a"], "x": [1]}), "y")
    with pytest.raises(ValueError, match="kind"):
        plotting.model_comparison({"a": 1.0}, kind="pie")


def test_view_surface_map_is_offline_and_carries_the_values():
    m = _grayordinate_map()
    view = plotting.view_surface_map(m, title="atom 3", threshold=0.5, cell=None)
    html = view.html
    assert "atom 3" in html
    # plotly is embedded and nothing is fetched from the network (the test book is offline)
    assert "favicon" not in html and 'src="http' not in html and "src='http" not in html
    # the values reach the vertices: grey (sulcal depth) where |value| < threshold, coloured
    # where |value| clears it (by more than nilearn's colour-table step at the threshold),
    # red where positive and blue where negative (RdBu_r)
    start = html.index('"vertexcolor_both": ') + len('"vertexcolor_both": ')
    colors = json.loads(html[start : html.index("]", start) + 1])
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colors])
    tex = plotting.surface_textures(m, fill="nearest")
    values = np.nan_to_num(np.concatenate([tex["left"], tex["right"]]))
    assert rgb.shape == (values.size, 3)
    coloured = (rgb[:, 0] != rgb[:, 1]) | (rgb[:, 1] != rgb[:, 2])
    assert not coloured[np.abs(values) < 0.5].any()
    assert coloured[np.abs(values) >= 0.55].all()
    assert np.all(rgb[values >= 0.55, 0] > rgb[values >= 0.55, 2])
    assert np.all(rgb[values <= -0.55, 0] < rgb[values <= -0.55, 2])
    assert (np.abs(values) >= 0.55).sum() > 10_000  # the checks above are not vacuous
    meshes = plotting.separated_meshes("inflated", gap=8.0)
    assert meshes["left"][0][:, 0].max() == pytest.approx(-4.0)
    assert meshes["right"][0][:, 0].min() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="grayordinate"):
        plotting.view_surface_map(xr.DataArray(np.zeros(3), dims="voxel"))


def test_view_surface_map_coarsened_for_the_page_keeps_the_peaks():
    m = _grayordinate_map()
    full = plotting.view_surface_map(m, threshold=0.5, plotly_src="p.js", cell=None).html
    light = plotting.view_surface_map(m, threshold=0.5, plotly_src="p.js").html
    assert len(light) < len(full) / 3
    start = light.index('"vertexcolor_both": ') + len('"vertexcolor_both": ')
    colors = json.loads(light[start : light.index("]", start) + 1])
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colors])
    coloured = (rgb[:, 0] != rgb[:, 1]) | (rgb[:, 1] != rgb[:, 2])
    assert 0 < coloured.sum() < len(colors)

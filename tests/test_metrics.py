"""Study A and B metrics: each against a known answer."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from analysis_lib import metrics
from analysis_lib.networks import atlases


def _assignment(names, networks=("A", "B", "C")):
    return xr.Dataset(
        {"assignment": ("atom", np.array(names, dtype=str))},
        coords={"atom": np.arange(len(names)), "network": list(networks)},
    )


def _atoms(x):
    x = np.asarray(x, float)
    return xr.DataArray(x, dims=("time", "atom"), coords={"atom": np.arange(x.shape[1])})


def _toy_atlas(labels):
    labels = np.asarray(labels)
    ijk = np.column_stack([np.arange(labels.size), np.zeros(labels.size), np.zeros(labels.size)])
    data = np.zeros((labels.size, 1, 1), np.int32)
    data[:, 0, 0] = labels
    atlas = atlases.volume_dataset(
        data, np.eye(4), {1: "A", 2: "B"}, {"atlas": "toy"}, mask=np.ones(data.shape, bool)
    )
    assert np.array_equal(atlas["i"].values, ijk[:, 0])
    return atlas


def _vox(values, atlas, dims=("atom", "voxel")):
    values = np.asarray(values)
    coords = {c: ("voxel", atlas[c].values) for c in "ijk"}
    if "atom" in dims:
        coords["atom"] = np.arange(values.shape[0])
    return xr.DataArray(values, dims=dims, coords=coords, attrs=dict(atlas.attrs))


# ------------------------------------------------------------------------------ Study A
def test_atoms_per_network():
    counts = metrics.atoms_per_network(_assignment(["A", "A", "none", "C"]))
    assert counts.sel(network="A") == 2 and counts.sel(network="B") == 0
    assert counts.sel(network="C") == 1 and counts.attrs["n_unassigned"] == 1


def test_within_network_consistency_known_answer(rng):
    t = rng.standard_normal(200)
    u = rng.standard_normal(200)
    # atoms 0,1 in A: identical up to scale (r = 1); atoms 2,3 in B: exact negatives (r = -1)
    atoms = _atoms(np.column_stack([t, 2 * t, u, -u, rng.standard_normal(200)]))
    maps = xr.DataArray(
        np.array([[1, 2, 3, 4], [2, 4, 6, 8], [1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0]], float),
        dims=("atom", "voxel"),
        coords={"atom": np.arange(5)},
    )
    res = metrics.within_network_consistency(atoms, maps, _assignment(["A", "A", "B", "B", "C"]))
    assert res["temporal"].sel(network="A") == pytest.approx(1.0)
    assert res["temporal"].sel(network="B") == pytest.approx(-1.0)
    assert np.isnan(res["temporal"].sel(network="C"))  # a single atom
    assert res["spatial"].sel(network="A") == pytest.approx(1.0)
    assert res["spatial"].sel(network="B") == pytest.approx(-1 / 3)
    assert list(res["n_atoms"].values) == [2, 2, 1]


def test_consistency_baseline_shuffles_labels(rng):
    """Observed = the summary's consistency; grouped copies of two courses beat the
    shuffle (small p), independent atoms do not (p not small, null centred near 0)."""
    t, u = rng.standard_normal(300), rng.standard_normal(300)
    x = np.column_stack(
        [t + 0.3 * rng.standard_normal(300) for _ in range(6)]
        + [u + 0.3 * rng.standard_normal(300) for _ in range(6)]
    )
    names = ["A"] * 6 + ["B"] * 6  # 924 labelings, 2 of them perfect: p about 1/462
    res = metrics.consistency_baseline(_atoms(x), _assignment(names), n_perm=500, seed=1)
    cons = metrics.within_network_consistency(
        _atoms(x),
        xr.DataArray(x.T, dims=("atom", "voxel"), coords={"atom": np.arange(12)}),
        _assignment(names),
    )
    assert float(res["observed"]) == pytest.approx(float(np.nanmean(cons["temporal"])))
    assert float(res["p"]) < 0.01 and float(res["null_mean"]) < float(res["observed"])
    assert float(res["null_low"]) <= float(res["null_mean"]) <= float(res["null_high"])
    noise = metrics.consistency_baseline(
        _atoms(rng.standard_normal((300, 12))), _assignment(names), n_perm=500, seed=1
    )
    assert float(noise["p"]) > 0.01 and abs(float(noise["null_mean"])) < 0.05
    none = metrics.consistency_baseline(_atoms(x), _assignment(["A", "B"] + ["none"] * 10))
    assert np.isnan(float(none["observed"])) and np.isnan(float(none["p"]))


def test_effective_number_known_answers(rng):
    k = 6
    # orthogonal (uncorrelated) columns: exactly K
    q, _ = np.linalg.qr(rng.standard_normal((100, k)))
    q -= q.mean(0)
    q, _ = np.linalg.qr(q)
    for method in ("entropy", "participation"):
        assert metrics.effective_number(q, method) == pytest.approx(k, rel=1e-6)
    # identical columns: 1
    same = np.repeat(rng.standard_normal((100, 1)), k, axis=1)
    assert metrics.effective_number(same, "participation") == pytest.approx(1.0)
    assert metrics.effective_number(same, "entropy") == pytest.approx(1.0, abs=1e-6)
    # two independent groups of identical atoms: 2
    a, b = rng.standard_normal((2, 5000))
    a -= a.mean()
    b -= b.mean()
    b -= a * (a @ b) / (a @ a)
    two = np.column_stack([a, a, a, b, b, b])
    assert metrics.effective_number(two, "entropy") == pytest.approx(2.0, rel=1e-6)
    with pytest.raises(ValueError, match="method"):
        metrics.effective_number(two, "nope")


def test_diversity_and_balance():
    x = np.eye(4)[np.arange(40) % 4]
    div = metrics.diversity(_atoms(x - x.mean(0)), _assignment(["A", "A", "B", "none"]))
    # four one-hot columns have correlation -1/3 off the diagonal: eigenvalues 4/3 (x3), 0
    assert float(div["effective_number"]) == pytest.approx(3.0)
    assert float(div["normalized"]) == pytest.approx(2 / 3)
    assert int(div["networks_covered"]) == 2
    assert metrics.balance_index(1.0, 1.0) == 1.0
    assert metrics.balance_index(0.0, 0.9) == 0.0
    assert metrics.balance_index(0.5, 1.0) == pytest.approx(2 / 3)
    assert metrics.balance_index(-0.3, 0.5) == 0.0  # negative consistency clipped


def _loadings():
    w = np.array(
        [
            [1.0, 2.0, 0.0, 0.0, 3.0, 0.0],  # layers 0,0,_,_,2 -> counts 2/3, 0, 1/3
            [0.0, 0.0, 1.0, 1.0, 0.0, 2.0],  # layers 1,1,2 -> 0, 2/3, 1/3
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # empty
        ]
    )
    return xr.DataArray(
        w,
        dims=("atom", "neuron"),
        coords={
            "atom": [0, 1, 2],
            "layer": ("neuron", [0, 0, 1, 1, 2, 2]),
            "branch": ("neuron", ["vision", "vision", "text", "text", "cross", "text"]),
        },
    )


def test_layer_distribution_known_answer():
    d = metrics.layer_distribution(_loadings())
    np.testing.assert_allclose(d.sel(atom=0).values, [2 / 3, 0, 1 / 3])
    np.testing.assert_allclose(d.sel(atom=1).values, [0, 2 / 3, 1 / 3])
    assert np.isnan(d.sel(atom=2).values).all()
    dw = metrics.layer_distribution(_loadings(), weighted=True)
    np.testing.assert_allclose(dw.sel(atom=0).values, [0.5, 0, 0.5])
    assert list(d["layer"].values) == [0, 1, 2]


def test_r2_distribution():
    r2 = xr.DataArray(
        np.array([0.1, 0.2, 0.3, 0.5, 0.7, 0.9]),
        dims="neuron",
        coords={"layer": ("neuron", [0, 0, 0, 1, 1, 1])},
    )
    res = metrics.r2_distribution(r2, quantiles=(0.5,))
    assert float(res["mean_all"]) == pytest.approx(0.45)
    np.testing.assert_allclose(res["quantile_layer"].sel(quantile=0.5).values, [0.2, 0.7])
    np.testing.assert_allclose(res["mean_layer"].values, [0.2, 0.7])


def test_study_a_summary_and_comparison(rng):
    t = rng.standard_normal((100, 4))
    atoms = _atoms(np.column_stack([t[:, 0], t[:, 0] + 0.1 * t[:, 1], t[:, 2], t[:, 3]]))
    maps = xr.DataArray(
        rng.standard_normal((4, 30)), dims=("atom", "voxel"), coords={"atom": range(4)}
    )
    corr = _assignment(["A", "A", "B", "none"])
    s1 = metrics.study_a_summary(atoms, maps, corr)
    assert float(s1["consistency"]) == pytest.approx(np.corrcoef(atoms.values[:, :2].T)[0, 1])
    assert float(s1["assigned_share"]) == 0.75 and int(s1["networks_covered"]) == 2
    s2 = metrics.study_a_summary(_atoms(t), maps, corr)
    table = metrics.comparison_table({"bert": s1, "llama": s2})
    assert list(table.index) == ["bert", "llama"]
    assert table.loc["bert", "consistency"] > table.loc["llama", "consistency"]
    stacked = metrics.compare_models(
        {"m1": metrics.atoms_per_network(corr), "m2": metrics.atoms_per_network(corr)}
    )
    assert stacked["atoms_per_network"].dims == ("model", "network")


# ------------------------------------------------------------------------------ Study B
def test_prediction_per_network_known_answer():
    atlas = _toy_atlas([1, 1, 1, 2, 2, 0])
    r = _vox(np.array([0.1, 0.3, -0.1, 0.5, np.nan, 0.9]), atlas, dims=("voxel",))
    res = metrics.prediction_per_network(r, atlas)
    assert float(res["mean_r"].sel(network="A")) == pytest.approx(0.1)
    assert float(res["median_r"].sel(network="A")) == pytest.approx(0.1)
    assert float(res["positive_share"].sel(network="A")) == pytest.approx(2 / 3)
    assert float(res["mean_r"].sel(network="B")) == pytest.approx(0.5)  # NaN ignored
    assert list(res["n_voxels"].values) == [3, 2]
    # per subject
    rs = xr.concat([r, r * 2], dim="subject").assign_coords(subject=["s1", "s2"])
    res = metrics.prediction_per_network(rs, atlas)
    np.testing.assert_allclose(res["mean_r"].sel(network="A").values, [0.1, 0.2])


def test_jaccard_and_multi_atom_share():
    atlas = _toy_atlas([1, 1, 1, 1, 2, 2])
    sig = _vox(np.array([[1, 1, 0, 0, 0, 0], [1, -1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]]), atlas)
    j = metrics.map_jaccard(sig)
    assert j.sel(atom=0, atom_other=1) == pytest.approx(2 / 3)
    assert j.sel(atom=0, atom_other=0) == 1.0 and np.isnan(j.sel(atom=2, atom_other=2))
    js = metrics.map_jaccard(sig, same_sign=True)
    assert js.sel(atom=0, atom_other=1) == pytest.approx(1 / 3)
    share = metrics.multi_atom_share(sig, atlas)
    assert float(share.sel(network="A")) == pytest.approx(0.5)  # voxels 0,1 of 4
    assert float(share.sel(network="B")) == 0.0
    sj = metrics.subgroup_jaccard(_loadings())
    assert sj.sel(atom=0, atom_other=1) == 0.0  # disjoint neurons
    assert sj.sel(atom=1, atom_other=1) == 1.0
    summary = metrics.redundancy_summary(sig, _loadings(), atlas)
    assert float(summary["multi_atom_share"]) == pytest.approx(0.25)


def test_polarity_and_layer_trends():
    atlas = _toy_atlas([1, 1, 1, 1, 2, 2])
    sig = _vox(np.array([[1, 1, 1, 0, 0, -1], [-1, -1, 0, 0, -1, 0], [0] * 6]), atlas)
    pol = metrics.polarity(sig, atlas)
    np.testing.assert_allclose(pol["index"].values[:2], [0.5, -1.0])
    assert np.isnan(pol["index"].values[2])
    assert int(pol["n_negative_network"].sel(atom=1, network="B")) == 1
    assert int(pol["n_positive_network"].sel(atom=0, network="A")) == 3

    w = np.zeros((3, 6))
    w[0, [0, 1]] = 1.0  # positive sub-group in layer 0
    w[1, [4, 5]] = 1.0  # negative sub-group in layer 2
    w[2, [2]] = 1.0
    load = xr.DataArray(
        w,
        dims=("atom", "neuron"),
        coords={"atom": [0, 1, 2], "layer": ("neuron", [0, 0, 1, 1, 2, 2])},
    )
    tr = metrics.layer_trend(load)
    np.testing.assert_allclose(tr["center"].values, [0, 2, 1])
    np.testing.assert_allclose(tr["slope"].values, [-0.5, 0.5, 0.0])
    opp = metrics.opposite_polarity_trends(sig, load, cut=0.5)
    assert list(opp["polarity_class"].values) == ["positive", "negative", "none"]
    assert float(opp["center_difference"]) == pytest.approx(-2.0)
    assert float(opp["slope_difference"]) == pytest.approx(-1.0)


def test_modality_selectivity_known_answer():
    sel = metrics.modality_selectivity(_loadings())
    # atom 0: vision x2, cross x1 -> shares 2/3, 0, 1/3; only vision among v/t -> +1
    np.testing.assert_allclose(sel["share"].sel(atom=0).values, [2 / 3, 0, 1 / 3])
    assert float(sel["index"].sel(atom=0)) == 1.0
    # atom 1: text x3 -> -1
    assert float(sel["index"].sel(atom=1)) == -1.0
    assert np.isnan(float(sel["index"].sel(atom=2)))
    # pool correction: one vision of 2 (rate 1/2) and one text of 3 (rate 1/3) -> 0.2
    w = _loadings().isel(atom=[0]).copy(data=[[1.0, 0.0, 1.0, 0.0, 0.0, 0.0]])
    assert float(metrics.modality_selectivity(w)["index"][0]) == pytest.approx(0.2)
    summary = metrics.modality_summary(sel)
    assert float(summary["vision_selective"]) == 0.5 and float(summary["text_selective"]) == 0.5
    assert float(summary["mean_abs_index"]) == 1.0
    # CLIP-like (no cross neurons) vs METER-like comparison table
    meter = summary.copy()
    table = metrics.comparison_table({"clip": summary, "meter": meter})
    assert set(table.columns) >= {"mean_abs_index", "cross_share"}
    bad = _loadings().assign_coords(branch=("neuron", ["audio"] * 6))
    with pytest.raises(ValueError, match="unknown branch"):
        metrics.modality_selectivity(bad)


# ------------------------------------------------------------------ chance baselines
def _random_sets(rng, n_atom, n, share):
    return (rng.random((n_atom, n)) < share).astype(float)


def test_redundancy_baseline_separates_planted_overlap_from_chance(rng):
    n_vox, n_neuron = 60, 40
    atlas = _toy_atlas([1] * 30 + [2] * 30)
    load_coords = {"atom": np.arange(6), "layer": ("neuron", np.arange(n_neuron) % 4)}
    # planted: six atoms reach the same 12 voxels, from six disjoint neuron groups
    planted = np.zeros((6, n_vox))
    planted[:, :12] = 1
    w = np.zeros((6, n_neuron))
    for k in range(6):
        w[k, 6 * k : 6 * k + 6] = 1.0
    load = xr.DataArray(w, dims=("atom", "neuron"), coords=load_coords)
    res = metrics.redundancy_baseline(_vox(planted, atlas), load, atlas, n_perm=200, seed=0)
    mj = res.sel(metric="map_jaccard")
    assert float(mj["observed"]) == 1.0 and float(mj["p"]) < 0.01
    assert float(mj["null_high"]) < 0.5  # sets of 12 in 60 placed anywhere overlap little
    sj = res.sel(metric="subgroup_jaccard")
    assert float(sj["observed"]) == 0.0 and float(sj["p"]) == 1.0  # disjoint: below chance
    # independent random sets: the observed value falls inside its null in most draws
    inside = []
    for i in range(20):
        r = np.random.default_rng(100 + i)
        sig = _vox(_random_sets(r, 6, n_vox, 0.3), atlas)
        ld = xr.DataArray(
            _random_sets(r, 6, n_neuron, 0.3), dims=("atom", "neuron"), coords=load_coords
        )
        b = metrics.redundancy_baseline(sig, ld, atlas, n_perm=100, seed=i)
        inside.append(
            ((b["observed"] >= b["null_low"]) & (b["observed"] <= b["null_high"])).values
        )
    assert np.mean(inside) >= 0.85
    with pytest.raises(ValueError, match="n_perm"):
        metrics.redundancy_baseline(_vox(planted, atlas), load, atlas, n_perm=0)


def test_polarity_baseline_detects_a_planted_layer_split():
    n_atom, n_vox = 12, 10
    atlas = _toy_atlas([1] * 5 + [2] * 5)
    layer = np.repeat([0, 1, 2, 3], 5)
    w = np.zeros((n_atom, layer.size))
    sig = np.zeros((n_atom, n_vox))
    for k in range(n_atom):
        positive = k < 6
        sig[k, :4] = 1 if positive else -1
        # positive sub-groups in the deep layers, negative ones in the first layers
        w[k, (layer == (3 if positive else 0)) | (layer == (2 if positive else 1))] = 1.0
    load = xr.DataArray(
        w, dims=("atom", "neuron"), coords={"atom": np.arange(n_atom), "layer": ("neuron", layer)}
    )
    res = metrics.polarity_baseline(_vox(sig, atlas), load, n_perm=500, seed=0)
    opp = metrics.opposite_polarity_trends(_vox(sig, atlas), load)
    c = res.sel(metric="center_difference")
    assert float(c["observed"]) == pytest.approx(float(opp["center_difference"])) == 2.0
    assert float(c["p"]) < 0.01 and float(c["null_high"]) < 2.0
    # polarity drawn at random, unrelated to the layers: inside the null in most draws
    inside = []
    for i in range(20):
        signs = np.random.default_rng(200 + i).choice([-1, 1], n_atom)
        if abs(signs.sum()) == n_atom:
            continue
        b = metrics.polarity_baseline(
            _vox(np.abs(sig) * signs[:, None], atlas), load, n_perm=200, seed=i
        )
        b = b.sel(metric="center_difference")
        inside.append(float(b["null_low"]) <= float(b["observed"]) <= float(b["null_high"]))
    assert len(inside) >= 15 and np.mean(inside) >= 0.85
    # one class empty: undefined, not zero
    none = metrics.polarity_baseline(_vox(np.abs(sig), atlas), load, n_perm=10)
    assert np.isnan(none["observed"]).all() and np.isnan(none["p"]).all()


def test_null_summary_two_sided_and_greater():
    from analysis_lib.metrics.chance import null_summary

    null = np.linspace(-1, 1, 201)[:, None]
    g = null_summary(np.array([0.9]), null, alternative="greater")
    assert g["p"][0] == pytest.approx((1 + 11) / 202)
    t = null_summary(np.array([0.9]), null, alternative="two-sided")
    assert t["p"][0] == pytest.approx((1 + 22) / 202)
    with pytest.raises(ValueError, match="alternative"):
        null_summary(np.array([0.0]), null, alternative="less")

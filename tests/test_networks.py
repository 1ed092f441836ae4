"""Network atlases, explicit resampling, Dice correspondence and spatial nulls."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import xarray as xr
from scipy.ndimage import gaussian_filter
from scipy.stats import false_discovery_control

from analysis_lib import networks
from analysis_lib.io import read_netcdf, write_netcdf
from analysis_lib.networks import atlases, correspondence, load_atlas, resample_atlas
from analysis_lib.networks.nulls import cortical_projection, sphere_coordinates

NEUROPARC = atlases.find_data(atlases.NEUROPARC)
needs_neuroparc = pytest.mark.skipif(NEUROPARC is None, reason="neuroparc atlases not found")


# ------------------------------------------------------------------------------ helpers
def _gray_maps(values: np.ndarray, g: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("atom", "voxel"),
        coords={"atom": np.arange(values.shape[0]), "grayordinate": ("voxel", g)},
        attrs={"space": "fsLR32k"},
    )


@pytest.fixture(scope="module")
def gray():
    """Yeo-7 on every 8th cortical grayordinate (a documented decimation for speed)."""
    g = np.arange(0, atlases.N_CORTEX, 8)
    like = _gray_maps(np.zeros((1, g.size)), g)
    return g, resample_atlas(load_atlas("yeo7"), like)


def _toy_volume(seed=1, shape=(24, 24, 24)):
    rng = np.random.default_rng(seed)
    ii = np.indices(shape) - (np.array(shape)[:, None, None, None] - 1) / 2
    mask = (ii**2).sum(0) < 11**2
    fields = np.stack([gaussian_filter(rng.standard_normal(shape), 3) for _ in range(4)])
    lab = (fields.argmax(0) + 1) * mask
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    atlas = atlases.volume_dataset(lab, affine, dict(enumerate("ABCD", 1)), {"atlas": "toy"})
    return atlas, mask, rng


def _vol_maps(values, atlas):
    return xr.DataArray(
        values,
        dims=("atom", "voxel"),
        coords={
            "atom": np.arange(values.shape[0]),
            **{c: ("voxel", atlas[c].values) for c in "ijk"},
        },
        attrs={k: atlas.attrs[k] for k in ("affine", "shape", "space")},
    )


# ------------------------------------------------------------------------------ atlases
def test_availability_lists_every_atlas():
    avail = networks.availability()
    assert set(avail) == set(networks.ATLAS_NAMES)
    assert avail["yeo7"] and avail["cole-anticevic"] and avail["dosenbach160"]


@pytest.mark.parametrize(("name", "n_net"), [("yeo7", 7), ("yeo17", 17), ("cole-anticevic", 12)])
def test_grayordinate_atlases(name, n_net):
    ds = load_atlas(name)
    assert ds.sizes["voxel"] == atlases.N_GRAYORDINATES and ds.sizes["network"] == n_net
    assert ds.attrs["space"] == "fsLR32k"
    assert set(np.unique(ds["label"].values)) <= {0, *ds["network_id"].values.tolist()}
    # one structure vocabulary across the package: the CIFTI names of the BOLD loaders
    assert ds["structure"].values[0] == "CIFTI_STRUCTURE_CORTEX_LEFT"
    assert ds["structure"].values[-1] == "CIFTI_STRUCTURE_THALAMUS_RIGHT"


def test_coordinate_atlas_spheres_on_data_grid():
    ds = load_atlas("dosenbach160", resolution=4)
    assert ds.sizes["network"] == 6 and ds.attrs["space"] == "MNI152-4mm"
    assert ds["roi"].max() == 160
    # every voxel lies within 5 mm (plus half a voxel diagonal) of its ROI centre
    xyz, nets, radius = atlases._coordinate_table("dosenbach160")
    d = np.linalg.norm(
        np.column_stack([ds[c].values for c in "xyz"]) - xyz[ds["roi"].values - 1], axis=1
    )
    assert d.max() <= radius + 1e-6 or d.max() <= np.sqrt(3) * 2
    names = list(ds["network"].values)
    expected = [names.index(nets[r - 1]) + 1 for r in ds["roi"].values]
    np.testing.assert_array_equal(ds["label"].values, expected)


def test_spheres_on_grid_known_answer():
    shape, affine = (9, 9, 9), np.diag([2.0, 2.0, 2.0, 1.0])
    label, roi = atlases.spheres_on_grid(
        np.array([[8.0, 8.0, 8.0]]), np.array([3]), 2.5, shape, affine
    )
    # centre voxel (4,4,4) and its 6 face neighbours (2 mm away); diagonals are 2.83 mm
    assert (label == 3).sum() == 7 and label[4, 4, 4] == 3 and label[5, 5, 4] == 0
    assert roi.max() == 1


@needs_neuroparc
def test_volume_atlases_and_schaefer_networks():
    yeo = load_atlas("yeo7-mni", resolution=4)
    assert yeo.attrs["space"] == "MNI152-4mm" and yeo.sizes["network"] == 7
    sch = load_atlas("schaefer400-7n")
    assert sch.attrs["space"] == "MNI152-2mm" and int(sch["parcel"].max()) == 400
    # Schaefer parcels are assigned contiguously (7 blocks per hemisphere, in order)
    lut = np.zeros(401, int)
    lut[sch["parcel"].values] = sch["label"].values
    for hemi in (lut[1:201], lut[201:]):
        assert np.all(np.diff(hemi) >= 0) and set(hemi) == set(range(1, 8))
    # and agree with Yeo-7 on most voxels that Yeo-7 labels (the masks differ)
    on = resample_atlas(load_atlas("yeo7-mni", resolution=2), sch)["label"].values
    both = on > 0
    assert (on[both] == sch["label"].values[both]).mean() > 0.8


def test_schaefer_order_fit_known_answer():
    rng = np.random.default_rng(0)
    true = np.sort(rng.integers(1, 8, 20))
    true[:7] = np.arange(1, 8)
    true = np.sort(true)
    parcels = np.repeat(np.arange(1, 41), 30)
    lut = np.r_[0, true, true]
    yeo = lut[parcels].copy()
    noisy = rng.random(yeo.size) < 0.2
    yeo[noisy] = rng.integers(1, 8, noisy.sum())
    got = atlases.schaefer_networks_from_order(parcels, yeo, n_per_hemisphere=20)
    np.testing.assert_array_equal(got, lut)


def test_resample_volume_nearest_known_answer():
    # 2 mm label blocks resampled to a 4 mm grid: every 4 mm voxel centre lies in one block
    data = np.zeros((20, 20, 20), np.int32)
    data[:10] = 1
    data[10:] = 2
    src = atlases.volume_dataset(data, np.diag([2.0, 2.0, 2.0, 1.0]), {1: "a", 2: "b"}, {})
    target = np.diag([4.0, 4.0, 4.0, 1.0])
    ijk = np.argwhere(np.ones((10, 10, 10), bool))
    like = xr.DataArray(
        np.zeros((1, len(ijk))),
        dims=("time", "voxel"),
        coords={c: ("voxel", ijk[:, n]) for n, c in enumerate("ijk")},
        attrs={"affine": list(target.ravel()), "shape": [10, 10, 10]},
    )
    out = resample_atlas(src, like)
    assert out.sizes["voxel"] == 1000 and out.attrs["space"] == "MNI152-4mm"
    expected = np.where(ijk[:, 0] * 4 < 20, 1, 2)
    np.testing.assert_array_equal(out["label"].values, expected)
    assert "resampled_from" in out.attrs


@needs_neuroparc
def test_resample_2mm_yeo_matches_published_4mm():
    yeo2 = load_atlas("yeo7-mni", resolution=2)
    yeo4 = load_atlas("yeo7-mni", resolution=4)
    on4 = resample_atlas(yeo2, yeo4)
    assert (on4["label"].values == yeo4["label"].values).mean() > 0.85


def test_user_nifti_atlas_and_errors(tmp_path):
    data = np.zeros((6, 6, 6), np.int16)
    data[:3] = 1
    data[3:, :2] = 2
    path = tmp_path / "lab.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([3.0, 3.0, 3.0, 1.0])), path)
    table = tmp_path / "lab.tsv"
    table.write_text("index\tname\n1\tleft\n2\tright\n")
    ds = load_atlas(path, labels=table)
    assert list(ds["network"].values) == ["left", "right"]
    assert (ds["label"] == 1).sum() == 108 and (ds["label"] == 2).sum() == 36
    assert ds.attrs["space"] == "MNI152-3mm"
    with pytest.raises(ValueError, match="label table"):
        load_atlas(path)
    with pytest.raises(ValueError, match=r"labels \[2\] have no name"):
        load_atlas(path, labels={1: "left"})
    with pytest.raises(ValueError, match="unknown atlas"):
        load_atlas("nope")
    with pytest.raises(FileNotFoundError, match=r"missing\.nii"):
        load_atlas(tmp_path / "missing.nii")


def test_user_cifti_dlabel(tmp_path):
    yeo = load_atlas("yeo7")
    hcp = atlases._hcp()
    axes = []
    for name, gray in (
        ("CortexLeft", hcp.vertex_info.grayl),
        ("CortexRight", hcp.vertex_info.grayr),
    ):
        mask = np.zeros(32492, bool)
        mask[gray] = True
        axes.append(nib.cifti2.BrainModelAxis.from_mask(mask, name=name))
    bm = axes[0] + axes[1]
    assert bm.size == atlases.N_CORTEX
    table = {0: ("???", (0, 0, 0, 0)), **{i: (f"net{i}", (1, 0, 0, 1)) for i in range(1, 8)}}
    lab = nib.cifti2.LabelAxis(["yeo"], [table])
    values = yeo["label"].values[None, : atlases.N_CORTEX].astype(np.float32)
    path = tmp_path / "yeo.dlabel.nii"
    nib.Cifti2Image(values, (lab, bm)).to_filename(path)
    ds = load_atlas(path)
    np.testing.assert_array_equal(
        ds["grayordinate"].values, np.arange(atlas_n := atlases.N_CORTEX)
    )
    np.testing.assert_array_equal(ds["label"].values, yeo["label"].values[:atlas_n])
    assert list(ds["network"].values) == [f"net{i}" for i in range(1, 8)]


def test_space_mismatch_errors(gray):
    _g, atlas = gray
    atlas_v, _, _ = _toy_volume()
    with pytest.raises(ValueError, match="grayordinate space"):
        resample_atlas(atlas, _vol_maps(np.zeros((1, atlas_v.sizes["voxel"])), atlas_v))
    maps = _vol_maps(np.zeros((1, atlas_v.sizes["voxel"])), atlas_v)
    maps.attrs["affine"] = list(np.diag([2.0, 2.0, 2.0, 1.0]).ravel())
    with pytest.raises(ValueError, match="resample explicitly"):
        correspondence(maps, atlas_v, n_perm=0, null="phase")


# ------------------------------------------------------------------------ correspondence
def test_dice_known_answer():
    a = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], bool)
    n = np.array([[1, 0], [0, 0], [1, 1], [0, 1]], bool)
    # |A∩N1| = 1, |A| = 2, |N1| = 2 -> 0.5 ; N2 disjoint -> 0 ; empty map -> 0
    np.testing.assert_allclose(networks.dice(a, n), [[0.5, 0.0], [0.0, 0.0]])


def test_threshold_maps_sign_aware():
    stat = xr.DataArray([[3.0, -3.0, 0.5, np.nan]], dims=("atom", "voxel"))
    p = xr.DataArray([[0.01, 0.02, 0.01, 0.01]], dims=("atom", "voxel"))
    np.testing.assert_array_equal(
        networks.threshold_maps(stat, p, threshold=0.05), [[1, -1, 1, 0]]
    )
    np.testing.assert_array_equal(networks.threshold_maps(stat, threshold=1.0), [[1, -1, 0, 0]])


def test_spin_map_identical_to_network(gray):
    g, atlas = gray
    lab = atlas["label"].values
    rng = np.random.default_rng(0)
    values = np.stack([5.0 * (lab == 7), -5.0 * (lab == 2), rng.standard_normal(g.size) * 3])
    res = correspondence(_gray_maps(values, g), atlas, threshold=2.0, n_perm=100, progress=False)
    names = list(res["network"].values)
    d, p = res["dice"].values, res["p"].values
    assert d[0, names.index("Default")] == pytest.approx(1.0)
    assert p[0, names.index("Default")] == pytest.approx(1 / 101)
    assert d[1, names.index("Somatomotor")] == pytest.approx(1.0)
    assert res["polarity"].values[1, names.index("Somatomotor")] == -1
    assert p[1, names.index("Somatomotor")] == pytest.approx(1 / 101)
    # a random (white-noise) map overlaps no network beyond chance
    assert d[2].max() < 0.35 and p[2].min() > 0.05
    assert res["assignment"].values[2] == "none"
    assert res["coverage"].sel(network="Default") == pytest.approx(1.0)
    # the same seed gives the same p values
    again = correspondence(_gray_maps(values, g), atlas, threshold=2.0, n_perm=100, progress=False)
    np.testing.assert_array_equal(again["p"].values, p)


def test_spin_rotations_are_cached_and_identical_to_brainspace(gray, monkeypatch):
    """The cached rotations are brainspace's, chunk for chunk; a second null reads them
    (no brainspace call); a file of the wrong shape is an error naming it."""
    from analysis_lib.networks.nulls import SpinNull

    g, _ = gray
    xyz, left = sphere_coordinates(g[:400])
    spin = SpinNull(xyz, left, n_perm=25, seed=3, chunk=10)
    fresh = list(spin._compute_chunks())
    assert not spin.cache_path().exists()
    first = list(spin.index_chunks())
    assert [c.shape for c in first] == [(10, 400), (10, 400), (5, 400)]
    for a, b in zip(first, fresh, strict=True):
        np.testing.assert_array_equal(a, b)
    assert spin.cache_path().is_file()

    def no_brainspace(self):
        raise AssertionError("recomputed the rotations")

    monkeypatch.setattr(SpinNull, "_compute_chunks", no_brainspace)
    again = list(SpinNull(xyz, left, n_perm=25, seed=3, chunk=10).index_chunks())
    np.testing.assert_array_equal(np.concatenate(again), np.concatenate(fresh))
    other = SpinNull(xyz, left, n_perm=25, seed=4, chunk=10)
    assert other.cache_path() != spin.cache_path()  # another seed, another file
    np.save(other.cache_path(), np.zeros((3, 400), np.int32))
    with pytest.raises(ValueError, match=other.cache_path().name):
        list(other.index_chunks())


def test_sphere_coordinates_on_unit_sphere():
    xyz, left = sphere_coordinates(np.array([0, 100, 29696, 59411]))
    np.testing.assert_allclose(np.linalg.norm(xyz, axis=1), 100, rtol=1e-3)
    np.testing.assert_array_equal(left, [True, True, False, False])
    with pytest.raises(ValueError, match="cortical"):
        sphere_coordinates(np.array([60000]))


def test_spin_null_calibration(gray):
    """Smooth random maps independent of the atlas: rejections near the nominal 5 %."""
    g, atlas = gray
    xyz, _ = sphere_coordinates(g)
    rng = np.random.default_rng(2)
    maps = []
    for _ in range(20):
        c = rng.standard_normal((200, 3))
        c = 100 * c / np.linalg.norm(c, axis=1, keepdims=True)
        f = np.exp(-((xyz[:, None] - c[None]) ** 2).sum(-1) / (2 * 15.0**2)) @ rng.standard_normal(
            200
        )
        maps.append((f - f.mean()) / f.std())
    res = correspondence(
        _gray_maps(np.stack(maps), g), atlas, threshold=1.5, n_perm=100, seed=1, progress=False
    )
    rate = float((res["p"].values < 0.05).mean())
    assert 0.01 <= rate <= 0.10, rate


def test_volume_null_identical_and_calibration():
    atlas, mask, rng = _toy_volume()
    lab = atlas["label"].values
    same = _vol_maps(np.stack([4.0 * (lab == 2)]), atlas)
    res = correspondence(same, atlas, threshold=1.5, n_perm=100, progress=False, null="phase")
    assert res["dice"].values[0, 1] == pytest.approx(1.0)
    assert res["p"].values[0, 1] == pytest.approx(1 / 101)
    assert res["assignment"].values[0] == "B"
    nulls = []
    for _ in range(40):
        f = gaussian_filter(rng.standard_normal(mask.shape), 2.0)[mask]
        nulls.append(f / f.std())
    res = correspondence(
        _vol_maps(np.stack(nulls), atlas),
        atlas,
        threshold=1.5,
        sign="positive",
        null="phase",
        n_perm=60,
        progress=False,
    )
    rate = float((res["p"].values < 0.05).mean())
    assert 0.01 <= rate <= 0.12, rate


def test_group_dataset_input_and_cli(tmp_path, gray):
    g, atlas = gray
    lab = atlas["label"].values
    t = np.stack([6.0 * (lab == 1), 6.0 * (lab == 3)])
    coords = {"atom": [0, 1], "grayordinate": ("voxel", g)}
    group = xr.Dataset(
        {
            "tstat": (("atom", "voxel"), t),
            "qvalue": (("atom", "voxel"), np.where(t != 0, 0.001, 0.9)),
            "pvalue_fwe": (("atom", "voxel"), np.where(t != 0, 0.01, 1.0)),
        },
        coords=coords,
        attrs={"space": "fsLR32k"},
    )
    res = correspondence(group, atlas, n_perm=200, progress=False, correction="fwe")
    assert list(res["assignment"].values) == ["Visual", "Dorsal Attention"]
    with pytest.raises(ValueError, match="correction"):
        correspondence(group, atlas, n_perm=0, correction="bonferroni")
    # parametric p values: uncorrected and BH-corrected here
    pparam = np.where(t != 0, 1e-4, 0.5)
    pparam[0, np.flatnonzero(t[0] != 0)[:5]] = 0.03  # survive 0.05 uncorrected, not BH
    group["pvalue_param"] = (("atom", "voxel"), pparam)
    unc = correspondence(group, atlas, n_perm=0, correction="uncorrected")
    bh = correspondence(group, atlas, n_perm=0, correction="fdr-param")
    assert unc["n_significant"].values[0] == (t[0] != 0).sum()
    assert bh["n_significant"].values[0] == (t[0] != 0).sum() - 5
    with pytest.raises(ValueError, match="lack 'qvalue'"):
        correspondence(group.drop_vars("qvalue"), atlas, n_perm=0, correction="fdr")
    with pytest.raises(ValueError, match="lack 'pvalue_param'"):
        correspondence(group.drop_vars("pvalue_param"), atlas, n_perm=0)

    from analysis_lib.cli import main

    path = write_netcdf(group, tmp_path / "group.nc")
    out = tmp_path / "corr.nc"
    rc = main(
        [
            "networks",
            "--group",
            str(path),
            "--atlas",
            "yeo7",
            "--n-perm",
            "20",
            "--correction",
            "fwe",
            "--threshold",
            "0.05",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    back = read_netcdf(out)
    assert {"dice", "p", "assignment", "coverage"} <= set(back.data_vars)
    assert back["dice"].dims == ("atom", "network")
    np.testing.assert_allclose(back["dice"].values, res["dice"].values)
    assert (
        main(
            [
                "networks",
                "--group",
                str(tmp_path / "nope.nc"),
                "--atlas",
                "yeo7",
                "--out",
                str(out),
            ]
        )
        == 2
    )


def test_cortical_projection_known_answer():
    import nibabel as nib

    folder = atlases._hcp().__file__.rsplit("/", 1)[0] + "/data/"
    gray = atlases._hcp().vertex_info.grayl
    mid = np.asarray(
        nib.load(folder + "S1200.L.midthickness_MSMAll.32k_fs_LR.surf.gii").darrays[0].data
    )
    sph = np.asarray(nib.load(folder + "S1200.L.sphere.32k_fs_LR.surf.gii").darrays[0].data)
    xyz = np.vstack([mid[gray[[0, 500]]], [[0.0, 0.0, 200.0]]])
    sphere, left, cortical = cortical_projection(xyz)
    np.testing.assert_allclose(sphere[:2], sph[gray[[0, 500]]], atol=1e-4)
    assert list(cortical) == [True, True, False] and left[:2].all()


@needs_neuroparc
def test_volume_spin_map_identical_to_network():
    atlas = load_atlas("yeo7-mni", resolution=4)
    lab = atlas["label"].values
    rng = np.random.default_rng(0)
    values = np.stack([5.0 * (lab == 7), rng.standard_normal(lab.size) * 3])
    maps = xr.DataArray(
        values,
        dims=("atom", "voxel"),
        coords={"atom": [0, 1], **{c: ("voxel", atlas[c].values) for c in "ijk"}},
        attrs={k: atlas.attrs[k] for k in ("affine", "shape", "space")},
    )
    res = correspondence(maps, atlas, threshold=2.0, n_perm=60, progress=False)
    assert "spin" in res["p"].attrs["long_name"]
    assert res["dice"].values[0, 6] == pytest.approx(1.0)
    assert res["p"].values[0, 6] == pytest.approx(1 / 61)
    assert res["p"].values[1].min() > 0.05
    # voxels off the cortical ribbon cannot be spun and are excluded (counted in network_size)
    assert res["network_size"].sum() < atlas.sizes["voxel"]


def _network_noise_group(lab, n_sub=8, n_atom=24, effect=0.0, seed=5):
    """Subject maps = network-wide offsets independent across subjects (+ voxel noise).

    ``effect`` adds a consistent offset to network 7 (Default) in atom 0. Returns the
    group Dataset (as ``group_encoding`` writes it) and the subject maps.
    """
    from scipy import stats

    rng = np.random.default_rng(seed)
    onehot = (lab[None, :] == np.arange(1, 8)[:, None]).astype(float)  # (network, voxel)
    offsets = rng.standard_normal((n_sub, n_atom, 7))
    offsets[:, 0, 6] += effect
    x = offsets @ onehot + 0.5 * rng.standard_normal((n_sub, n_atom, lab.size))
    t = x.mean(0) / (x.std(0, ddof=1) / np.sqrt(n_sub))
    p = 2 * stats.t.sf(np.abs(t), n_sub - 1)
    return t, p, x


def _toy_group(t, p, x, g):
    """Group Dataset and subject maps (as the group stage and subject_maps give them)."""
    coords = {"atom": np.arange(t.shape[0]), "grayordinate": ("voxel", g)}
    group = xr.Dataset(
        {"tstat": (("atom", "voxel"), t), "pvalue_param": (("atom", "voxel"), p)},
        coords=coords,
        attrs={"space": "fsLR32k"},
    )
    return group, xr.DataArray(x, dims=("subject", "atom", "voxel"), coords=coords)


def test_network_level_test_controls_network_shaped_noise(gray):
    """Intrinsic network-shaped noise: the spatial null alone over-rejects; the combined
    test (spatial and network-level group test, the larger p) holds the nominal rate."""
    from scipy import stats

    g, atlas = gray
    lab = atlas["label"].values
    t, p, x = _network_noise_group(lab)
    group, subj = _toy_group(t, p, x, g)
    kw = dict(correction="uncorrected", threshold=0.01, n_perm=100, seed=1, progress=False)
    spatial = correspondence(group, atlas, **kw)
    both = correspondence(group, atlas, subject_maps=subj, **kw)
    rate_spatial = float((spatial["p"].values < 0.05).mean())
    rate_both = float((both["p"].values < 0.05).mean())
    assert rate_spatial > 0.10, rate_spatial  # the failure the network test is for
    assert rate_both <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / both["p"].size), rate_both
    assert '"tests": "spatial+network"' in both.attrs["params"]
    assert '"tests": "spatial"' in spatial.attrs["params"]
    np.testing.assert_array_equal(both["p_spatial"].values, spatial["p"].values)
    np.testing.assert_array_equal(
        both["p"].values, np.fmax(both["p_spatial"].values, both["p_network"].values)
    )
    # known answer: the t test of the subject maps averaged over each network
    names = list(both["network"].values)
    ids = both["network_id"].values
    for a, n in [(0, "Default"), (3, "Visual")]:
        means = x[:, a, lab == ids[names.index(n)]].mean(1)
        ref = stats.ttest_1samp(means, 0.0)
        assert both["network_t"].sel(atom=a, network=n) == pytest.approx(ref.statistic)
        assert both["p_network"].sel(atom=a, network=n) == pytest.approx(ref.pvalue)
    # a consistent network response is found by both tests
    t1, p1, x1 = _network_noise_group(lab, effect=3.0)
    group1 = group.copy(data={"tstat": t1, "pvalue_param": p1})
    subj1 = subj.copy(data=x1)
    res = correspondence(group1, atlas, subject_maps=subj1, **kw)
    assert res["p_network"].sel(atom=0, network="Default") < 1e-3
    assert res["p"].sel(atom=0, network="Default") <= 0.02
    with pytest.raises(ValueError, match="coordinate 'grayordinate'"):
        correspondence(
            group, atlas, subject_maps=subj.assign_coords(grayordinate=("voxel", g + 1)), **kw
        )


def test_networks_cli_subjects_option(tmp_path, gray):
    from analysis_lib.cli import main

    g, atlas = gray
    lab = atlas["label"].values
    t, p, x = _network_noise_group(lab, n_sub=4, n_atom=3, effect=4.0)
    coords = {"atom": np.arange(3), "grayordinate": ("voxel", g)}
    group = xr.Dataset(
        {"tstat": (("atom", "voxel"), t), "pvalue_param": (("atom", "voxel"), p)},
        coords=coords,
        attrs={"space": "fsLR32k"},
    )
    files = [
        write_netcdf(
            xr.Dataset(
                {"beta": (("atom", "voxel"), x[s])}, coords=coords, attrs={"space": "fsLR32k"}
            ),
            tmp_path / f"encoding_sub-{s}.nc",
        )
        for s in range(4)
    ]
    out = tmp_path / "corr.nc"
    args = ["networks", "--group", str(write_netcdf(group, tmp_path / "group.nc"))]
    args += ["--atlas", "yeo7", "--n-perm", "20", "--correction", "uncorrected", "--alpha", "0.01"]
    assert main([*args, "--subjects", *map(str, files), "--out", str(out)]) == 0
    back = read_netcdf(out)
    direct = correspondence(
        group,
        atlas,
        correction="uncorrected",
        threshold=0.01,
        n_perm=20,
        subject_maps=xr.DataArray(x, dims=("subject", "atom", "voxel"), coords=coords),
        progress=False,
    )
    np.testing.assert_allclose(back["p_network"].values, direct["p_network"].values)
    np.testing.assert_allclose(back["p"].values, direct["p"].values)


def test_partial_r_matches_residualised_correlation():
    """t / sqrt(t^2 + dof) is the partial correlation (reference: the correlation of the
    residuals of both variables on the other regressors)."""
    from analysis_lib.networks.correspondence import partial_r

    rng = np.random.default_rng(3)
    n = 200
    z = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    x = rng.standard_normal(n) + z[:, 1]
    y = 0.4 * x + z @ np.array([1.0, 0.5, -0.3]) + rng.standard_normal(n)
    design = np.column_stack([x, z])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    dof = n - design.shape[1]
    cov = np.linalg.inv(design.T @ design) * (resid @ resid / dof)
    t = beta[0] / np.sqrt(cov[0, 0])

    def res(v):
        return v - z @ np.linalg.lstsq(z, v, rcond=None)[0]

    ref = np.corrcoef(res(x), res(y))[0, 1]
    assert partial_r(t, dof) == pytest.approx(ref, rel=1e-10)
    with pytest.raises(ValueError, match="dof must be positive"):
        partial_r(t, 0)


def test_network_rule_effect_bound(gray):
    """rule='network': the significant set is BH(p_network) < alpha and |network_r| >=
    min_r; a planted network effect is found, an impossible bound removes every pair, and
    the rule refuses to run without the inputs it needs."""
    g, atlas = gray
    lab = atlas["label"].values
    t, p, x = _network_noise_group(lab, effect=8.0)
    group, subj = _toy_group(t, p, x, g)
    r = subj.copy(data=np.tanh(x / 10))
    kw = dict(correction="uncorrected", threshold=0.01, n_perm=0, seed=1, progress=False)
    res = correspondence(group, atlas, subject_maps=subj, subject_r=r, rule="network", **kw)
    np.testing.assert_array_equal(res["p"].values, res["p_network"].values)
    q = false_discovery_control(res["p_network"].values.ravel(), method="bh")
    np.testing.assert_array_equal(res["significant"].values.ravel(), q < 0.05)
    assert bool(res["significant"].sel(atom=0, network="Default"))
    assert res["assignment"].values[0] == "Default"
    # known answer of the effect: subject mean of the network mean
    ids = list(res["network"].values).index("Default")
    member = lab == res["network_id"].values[ids]
    assert res["network_r"].sel(atom=0, network="Default") == pytest.approx(
        np.tanh(x[:, 0] / 10)[:, member].mean()
    )
    strict = correspondence(
        group, atlas, subject_maps=subj, subject_r=r, rule="network", min_r=0.99, **kw
    )
    assert not strict["significant"].values.any()
    assert set(strict["assignment"].values) == {"none"}
    with pytest.raises(ValueError, match="needs subject_maps"):
        correspondence(group, atlas, rule="network", **kw)
    with pytest.raises(ValueError, match="needs subject_r"):
        correspondence(group, atlas, subject_maps=subj, rule="network", min_r=0.1, **kw)
    with pytest.raises(ValueError, match="rule must be one of"):
        correspondence(group, atlas, subject_maps=subj, rule="dice", **kw)


def test_decide_significant_set_and_assignment_known_answer():
    """networks.rules.decide, the one decision step of every correspondence: BH over all
    pairs, the effect bound, the largest Dice among significant pairs, ties by |effect|
    then by the first network; 'none' without a significant pair."""
    from analysis_lib.networks.rules import NONE, decide

    names = ["A", "B", "C"]
    p = np.array([[1e-4, 1e-4, 0.9], [1e-4, 1e-4, 1e-4], [0.9, 0.8, 0.7], [1e-4, 1e-4, 1e-4]])
    dice = np.array([[0.1, 0.3, 0.9], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.2, 0.2, 0.2]])
    effect = np.array([[0.5, 0.5, 0.5], [0.2, -0.4, 0.4], [0.9, 0.9, 0.9], [np.nan, 0.0, 0.0]])
    p_fdr, sig, assign = decide(p, dice, effect, names, alpha=0.05, min_r=0.0)
    np.testing.assert_allclose(p_fdr.ravel(), false_discovery_control(p.ravel(), method="bh"))
    np.testing.assert_array_equal(sig, p_fdr < 0.05)
    # atom 0: C has the largest Dice but is not significant; atom 1: Dice ties, |effect|
    # ties between B and C, the first (B) wins; atom 2: nothing significant; atom 3: all
    # ties (NaN effect counts as 0), the first network
    assert assign == ["B", "B", NONE, "A"]
    _, sig_r, assign_r = decide(p, dice, effect, names, alpha=0.05, min_r=0.3)
    np.testing.assert_array_equal(sig_r, sig & (np.abs(np.nan_to_num(effect)) >= 0.3))
    assert assign_r == ["B", "B", NONE, NONE]
    p_na, sig_na, assign_na = decide(p, dice, None, names, alpha=0.05, tested=False)
    assert np.isnan(p_na).all() and not sig_na.any() and set(assign_na) == {NONE}
    with pytest.raises(ValueError, match="one shape"):
        decide(p, dice[:, :2], None, names, alpha=0.05)

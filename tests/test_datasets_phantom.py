"""Phantom datasets: contract, determinism, cache, and recovery of the planted truth."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from _phantom_stimuli import fake_movie, fake_story

from analysis_lib import datasets
from analysis_lib.datasets import phantom

STORY = fake_story()
MOVIE = fake_movie()
FAST = {"stride": 40}  # 1,486 cortical grayordinates


def _ols_beta(bold, feats):
    y = bold.values.astype(float)
    y = (y - y.mean(0)) / y.std(0)
    x = np.column_stack([np.ones(len(feats)), feats.values])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return beta[1:]  # (feature, voxel)


def test_contract_and_coords():
    bold = phantom.load("sub-01", "story", stimulus_object=STORY, **FAST)
    assert bold.name == "bold" and bold.dims == ("time", "voxel")
    assert bold.shape == (STORY.n_volumes, len(range(0, 59412, 40)))
    np.testing.assert_allclose(bold["time"].values, STORY.volume_times)
    np.testing.assert_array_equal(bold["grayordinate"].values, np.arange(0, 59412, 40))
    assert set(np.unique(bold["structure"].values)) == {
        "CIFTI_STRUCTURE_CORTEX_LEFT",
        "CIFTI_STRUCTURE_CORTEX_RIGHT",
    }
    assert bold.attrs["space"] == "fsLR32k" and bold.attrs["tr"] == 1.5
    assert bold.attrs["dataset"] == "phantom-story" and bold.attrs["simulated"] == 1
    assert np.all(np.isfinite(bold.values)) and bold.values.min() > 0
    assert datasets.subjects("phantom-story") == [f"sub-{i:02d}" for i in range(1, 9)]


def test_deterministic_cached_and_seed_dependent(tmp_path, monkeypatch):
    a = phantom.load("sub-02", "story", stimulus_object=STORY, cache=False, **FAST)
    b = phantom.load("sub-02", "story", stimulus_object=STORY, **FAST)  # writes the cache
    c = phantom.load("sub-02", "story", stimulus_object=STORY, **FAST)  # reads it
    np.testing.assert_array_equal(a.values, b.values)
    xr.testing.assert_identical(b, c)  # the cached copy: same coords and attrs
    assert c.attrs == a.attrs and isinstance(c.attrs["tr"], float)
    assert (
        phantom._cache_dir(
            phantom._params("story", **FAST), phantom.features(phantom._params("story"), STORY)
        )
        / "sub-02.nc"
    ).exists()
    d = phantom.load("sub-02", "story", stimulus_object=STORY, cache=False, seed=1, **FAST)
    assert not np.allclose(a.values, d.values)
    e = phantom.load("sub-03", "story", stimulus_object=STORY, cache=False, **FAST)
    assert not np.allclose(a.values, e.values)


def test_story_minus_null_is_the_planted_signal():
    story = phantom.load("sub-01", "story", stimulus_object=STORY, cache=False, **FAST)
    null = phantom.load("sub-01", "null", stimulus_object=STORY, cache=False, **FAST)
    params = phantom._params("story", **FAST)
    feats = phantom.features(params, STORY)
    _, truth = phantom.simulate_subject(params, 0, feats)
    diff = story.values.astype(float) - null.values.astype(float)
    in_net = truth["labels"] > 0
    driven = phantom.weight_matrix(params, phantom.STORY_FEATURES).values.any(axis=1)
    driven_vox = in_net & driven[np.clip(truth["labels"] - 1, 0, None)]
    assert np.abs(diff[:, ~driven_vox]).max() == 0  # no signal outside driven networks
    # signal scales with the baseline: diff / (0.01 * baseline) == planted signal
    corr = [
        np.corrcoef(diff[:, v], truth["signal"][:, v])[0, 1] for v in np.where(driven_vox)[0][:50]
    ]
    assert min(corr) > 0.999


def test_ground_truth_and_recovery_of_signs():
    gt = datasets.ground_truth("phantom-story", stimulus_object=STORY, **FAST)
    assert gt["weights"].dims == ("network", "feature")
    assert gt.attrs["simulated"] == 1
    assert gt["network_map"].shape[1] == len(range(0, 59412, 40))
    w = gt["weights"]
    assert w.sel(network="Auditory", feature="word_rate") == 1.0
    assert w.sel(network="Dorsal-attention", feature="sentence_end") < 0
    # OLS on the features recovers every planted weight's sign in the group maps
    feats = gt["features"]
    betas = []
    for s in ("sub-01", "sub-02", "sub-03"):
        bold = phantom.load(s, "story", stimulus_object=STORY, **FAST)
        betas.append(_ols_beta(bold, feats))
    beta = np.mean(betas, axis=0)
    labels = gt["network_label"].values
    for net in gt["network"].values:
        vox = labels == list(gt["network"].values).index(net) + 1
        for feat in gt["feature"].values:
            planted = float(w.sel(network=net, feature=feat))
            est = beta[list(gt["feature"].values).index(feat), vox].mean()
            if planted != 0:
                assert np.sign(est) == np.sign(planted), (net, feat, est)
                assert abs(est) > 0.1, (net, feat, est)
            else:
                assert abs(est) < 0.12, (net, feat, est)


def test_null_has_no_stimulus_signal():
    gt = datasets.ground_truth("phantom-null", stimulus_object=STORY, **FAST)
    assert float(np.abs(gt["weights"]).sum()) == 0 and int(gt["driven"].sum()) == 0
    story_w = phantom.ground_truth("story", stimulus_object=STORY, **FAST)["weights"]
    labels = gt["network_label"].values
    nets, feats = list(gt["network"].values), list(gt["feature"].values)
    est = {"null": [], "story": []}
    for kind in est:
        beta = np.mean(
            [
                _ols_beta(phantom.load(s, kind, stimulus_object=STORY, **FAST), gt["features"])
                for s in ("sub-01", "sub-02", "sub-03")
            ],
            axis=0,
        )
        for net, feat in zip(*np.nonzero(story_w.values), strict=True):
            est[kind].append(beta[feat, labels == net + 1].mean())
    null, story = np.abs(est["null"]), np.abs(est["story"])
    # the same noise without the signal: planted effects vanish
    assert null.max() < 0.12, null
    assert np.all(null < 0.5 * story), (null, story)
    assert nets and feats


def test_subject_maps_jitter_and_amplitudes():
    gt = phantom.ground_truth("story", stimulus_object=STORY, **FAST)
    maps = gt["subject_map"].values
    group = gt["network_map"].values.astype(bool)
    binary = maps > 0
    overlap = [(binary[s] & group).sum() / group.sum() for s in range(maps.shape[0])]
    assert 0.5 < min(overlap) and max(overlap) < 1.0  # jittered, but close to the group map
    amps = gt["subject_amplitude"].values
    assert amps.std(axis=0).min() > 0


def test_movie_phantom_recovers_luminance():
    bold = phantom.load("sub-01", "movie", stimulus_object=MOVIE, **FAST)
    assert bold.attrs["tr"] == 1.0 and bold.shape[0] == MOVIE.n_volumes
    gt = phantom.ground_truth("movie", stimulus_object=MOVIE, **FAST)
    assert list(gt["feature"].values) == list(phantom.MOVIE_FEATURES)
    beta = _ols_beta(bold, gt["features"])
    vis1 = gt["network_label"].values == 1
    assert beta[0, vis1].mean() > 0.2 and abs(beta[0, ~vis1].mean()) < 0.1


def test_mni_space_and_yeo_atlas():
    phantom.load("sub-01", "story", stimulus_object=STORY, space="MNI152-4mm")
    bold = phantom.load("sub-01", "story", stimulus_object=STORY, space="MNI152-4mm")  # cached
    assert bold.attrs["space"] == "MNI152-4mm"
    from nilearn.datasets import load_mni152_brain_mask

    grid = load_mni152_brain_mask(resolution=4)
    assert bold.attrs["shape"] == list(grid.shape)
    np.testing.assert_allclose(bold.attrs["affine"], grid.affine.ravel())
    ijk = np.column_stack([bold[c].values for c in "ijk"])
    xyz = (
        ijk @ np.array(bold.attrs["affine"]).reshape(4, 4)[:3, :3].T
        + np.array(bold.attrs["affine"]).reshape(4, 4)[:3, 3]
    )
    np.testing.assert_allclose(xyz, np.column_stack([bold[c].values for c in "xyz"]))
    gt = phantom.ground_truth("story", stimulus_object=STORY, atlas="yeo7", **FAST)
    assert "Default" in gt["network"].values and gt["network"].size == 7


def test_bad_options():
    with pytest.raises(ValueError, match="space"):
        phantom.load("sub-01", "story", stimulus_object=STORY, space="MNI152-3mm")
    with pytest.raises(ValueError, match="unknown subject"):
        phantom.load("sub-09", "story", stimulus_object=STORY)
    with pytest.raises(TypeError, match="unknown phantom options"):
        phantom.load("sub-01", "story", stimulus_object=STORY, colour="red")
    with pytest.raises(ValueError, match="drift and intrinsic"):
        phantom.load("sub-01", "story", stimulus_object=STORY, drift=0.6, intrinsic=0.5)
    unpunctuated = fake_story()
    unpunctuated.words["word"] = unpunctuated.words["word"].str.strip(".,;:!?")
    with pytest.raises(ValueError, match="punctuated"):
        phantom.load("sub-01", "story", stimulus_object=unpunctuated, cache=False)


@pytest.mark.parametrize(
    ("name", "stim"), [("phantom-story", "default-story"), ("phantom-movie", "default-movie")]
)
def test_default_stimuli_drive_the_phantoms(name, stim):
    from analysis_lib.datasets._bold import check_against_stimulus
    from analysis_lib.stimuli import load_stimulus

    stimulus = load_stimulus(stim)
    bold = datasets.load(name, "sub-04", **FAST)
    check_against_stimulus(bold, stimulus)  # same TR, length and times
    gt = datasets.ground_truth(name, **FAST)
    assert gt.attrs["stimulus"] == stim
    beta = _ols_beta(bold, gt["features"])
    w = gt["weights"].values
    labels = gt["network_label"].values
    for n, f in zip(*np.nonzero(w), strict=True):
        est = beta[f, labels == n + 1].mean()
        assert np.sign(est) == np.sign(w[n, f]), (gt["network"].values[n], f, est)


def test_snr_is_controlled():
    kw = {"stimulus_object": STORY, "cache": False, "snr": 2.0, **FAST}
    story = phantom.load("sub-05", "story", **kw).values.astype(float)
    null = phantom.load("sub-05", "null", **kw).values.astype(float)
    gt = phantom.ground_truth("story", **kw)
    baseline = null.mean(axis=0)
    noise = 100 * (null / baseline - 1)
    signal = 100 * (story - null) / baseline
    # unit-variance noise in percent signal change
    assert 0.85 < np.median(noise.var(axis=0)) < 1.15
    # signal variance = snr * (voxel weight x subject amplitude)^2 in driven voxels
    loading = gt["subject_map"].sel(subject="sub-05").values.sum(axis=0)
    labels = np.argmax(gt["subject_map"].sel(subject="sub-05").values, axis=0) + 1
    sub_driven = (loading > 0) & (gt["driven"].values[labels - 1] > 0)
    ratio = signal[:, sub_driven].var(axis=0) / (2.0 * loading[sub_driven] ** 2)
    np.testing.assert_allclose(ratio, 1.0, rtol=0.02)
    quiet = (loading > 0) & (gt["driven"].values[labels - 1] == 0)
    assert sub_driven.sum() > 100 and quiet.sum() > 100
    assert np.abs(signal[:, quiet]).max() < 1e-6

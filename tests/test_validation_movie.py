"""phantom-movie-content and the Study B validation path (issue 14 items 1, 4, 5)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from analysis_lib import datasets, validation
from analysis_lib.datasets import phantom_content as pc

SMALL = {"stride": 96, "n_subjects": 4}
FAST = {"n_perm_group": 255, "n_perm_networks": 0, "n_shift": 200}


@pytest.fixture(scope="module")
def truth():
    return datasets.ground_truth("phantom-movie-content", cache=False, **SMALL)


def test_movie_content_features_are_not_timing(truth):
    """Visual and caption features, each measured on the timing-only regressors (scene and
    caption blocks and onsets) before (at most 0.3) and after residualising (0)."""
    assert list(truth["feature"].values) == list(pc.MOVIE_CONTENT_FEATURES)
    assert list(truth["timing"].values) == list(pc.MOVIE_TIMING)
    assert np.all(truth["timing_r2_raw"].values <= 0.3)
    assert np.all(np.abs(truth["timing_r2"].values) < 1e-6)
    assert truth.attrs["planted_atlas"] != truth.attrs["atlas"]
    assert truth.attrs["stimulus"] == "default-movie"
    fn = truth["feature_network"].values
    assert fn.any(axis=0).sum() >= 3 and (fn.sum(axis=0) >= 2).any()
    # every feature is carried by some matched network, visual ones by the visual networks
    assert fn.any(axis=1).all()
    net = list(truth["network"].values)
    assert truth["feature_network"].sel(feature="redness").values[net.index("Visual1")]


def test_frame_and_caption_values_known_answer():
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    frames[0, ..., 0] = 255  # pure red, flat
    frames[1, :, 4:] = 255  # a white half: a vertical edge
    v = pc.frame_values(frames)
    assert v[0, 0] == pytest.approx(1.0) and v[0, 1] == 0
    assert v[1, 0] == pytest.approx(0.0) and v[1, 1] > 0
    caps = pd.DataFrame({"text": ["A red red ball.", "The sea"]})
    c = pc.caption_values(caps)
    from wordfreq import zipf_frequency

    words = ["a", "red", "red", "ball"]
    assert c[0, 0] == pytest.approx(np.mean([zipf_frequency(w, "en") for w in words]))
    np.testing.assert_array_equal(c[:, 1], [2, 0])
    with pytest.raises(ValueError, match="no words"):
        pc.caption_values(pd.DataFrame({"text": ["..."]}))


def test_movie_null_is_the_same_noise_and_stimulus_kind_is_checked():
    p = pc.ContentParams(kind="movie-content", **SMALL)
    assert p.stimulus == "default-movie"
    assert pc.ContentParams(**SMALL).stimulus == "default-story"  # story cache key unchanged
    a, sig = pc.simulate_subject(p, 0)
    b, _ = pc.simulate_subject(pc.ContentParams(kind="movie-content-null", **SMALL), 0)
    driven = np.abs(sig).max(axis=0) > 0
    assert driven.any() and not driven.all()
    np.testing.assert_array_equal(a[:, ~driven], b[:, ~driven])
    assert np.abs(a[:, driven] - b[:, driven]).max() > 0
    assert a.shape[0] == datasets.ground_truth("phantom-movie-content", **SMALL).sizes["time"]
    bad = pc.ContentParams(kind="movie-content", stimulus="default-story", **SMALL)
    with pytest.raises(ValueError, match="is a story"):
        pc.simulate_subject(bad, 0)
    bold = datasets.load("phantom-movie-content", "sub-01", cache=False, **SMALL)
    assert bold.attrs["dataset"] == "phantom-movie-content" and bold.attrs["simulated"] == 1


def test_study_b_settings_are_the_grids():
    cfg = yaml.safe_load(Path("configs/default.yaml").read_text())
    grids = {g["name"]: g for g in cfg["grids"]}
    atoms, group = grids["study-b-atoms"]["fixed"], grids["study-b-group"]["fixed"]
    s = validation.STUDY_B
    for k in ("stimulus", "site", "n_atoms", "alpha"):
        assert s[k] == atoms[k], k
    assert (s["correction"], s["threshold"]) == (group["correction"], group["threshold"])
    assert group["atlas"] == pc.MATCHED_ATLAS  # the atlas the phantom's truth is matched in
    assert (s["n_perm_group"], s["n_perm_networks"]) == (group["n_perm"], group["n_perm_networks"])
    assert (s["rule"], s["min_r"]) == (group["rule"], group["min_r"])


def _feature_atoms(t):
    f = t["features"]
    return xr.DataArray(
        f.values, dims=("time", "atom"), coords={"time": f["time"].values, "atom": range(4)}
    )


def test_movie_feature_atoms_score_and_timing_atoms_fail():
    """On the movie phantom, with the calibrated rule: the planted features as atoms find
    planted pairs; the timing-only atoms carry no planted feature and find (almost) none."""
    opts = {"stride": 24}
    t = datasets.ground_truth("phantom-movie-content", **opts)
    good = validation.content_seed(_feature_atoms(t), 0, settings=FAST, study="b", **opts)
    timing = validation.timing_atoms(t)
    assert timing.attrs["feature_names"] == list(pc.MOVIE_TIMING)
    bad = validation.content_seed(timing, 0, settings=FAST, study="b", **opts)
    assert good["n_truth"] > 0 and good["tp"] >= 2 and good["f1"] > bad["f1"]
    assert bad["n_truth"] == 0 and bad["fp"] <= 1


def test_validate_content_study_b_runs_the_model_path():
    """validate_content(study="b") extracts the Study B site of a vision-language model
    on the movie and scores it on the movie phantom (one seed, few maps: the path, not
    the numbers)."""
    out = validation.validate_content(
        model="tiny-clip", atoms="shifted", seeds=(0,), settings=FAST, study="b", **SMALL
    )
    cfg = out["summary"]["config"]
    assert (cfg["dataset"], cfg["study"], cfg["site"]) == (
        "phantom-movie-content",
        "b",
        "attn_out",
    )
    assert cfg["n_atoms_used"] <= validation.STUDY_B["n_atoms"]
    assert len(out["per_seed"]) == 1 and 0 <= out["per_seed"][0]["null_fpr"] <= 1
    with pytest.raises(ValueError, match="study must be one of"):
        validation.validate_content(model="tiny-clip", study="c", seeds=(0,))


def test_driven_isc_is_above_its_null():
    """The SNR check's ISC: planted grayordinates share the stimulus across subjects, the
    same grayordinates of the null do not."""
    isc = pc.driven_isc(pc.ContentParams(kind="movie-content", **SMALL))
    null = pc.driven_isc(pc.ContentParams(kind="movie-content-null", **SMALL))
    assert isc.shape == null.shape and isc.shape[0] == SMALL["n_subjects"]
    assert np.median(isc) > np.median(null) + 0.1
    assert abs(np.median(null)) < 0.1

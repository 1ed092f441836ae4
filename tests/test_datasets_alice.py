"""Alice loader: real data from the extra roots, and bad input on synthetic copies."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from analysis_lib import datasets
from analysis_lib.datasets import alice
from analysis_lib.io import sha256_file
from analysis_lib.paths import find_data

REAL = find_data(alice.DATA_DIR)
needs_real = pytest.mark.skipif(REAL is None, reason="Alice data not in the data roots")


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    """A small Alice-shaped root: s01 good, s02 constant, with motion and predictors."""
    rng = np.random.default_rng(1)
    base = tmp_path / "alice" / "alice_data_shared"
    for radius in alice.RADII:
        (base / radius).mkdir(parents=True)
        np.savetxt(base / radius / "s01-timecourses.txt", rng.normal(100, 1, (362, 6)))
        np.savetxt(base / radius / "s02-timecourses.txt", np.full((362, 6), 5.0))
    for sid, motion in (("s01", "rp_run05.e02"), ("s02", "rp_epi-s02-obl")):
        np.savetxt(base / f"{sid}-{motion}.txt", rng.normal(0, 1, (372, 6)))
        np.savetxt(base / f"{sid}-rate.txt", rng.normal(0, 1, 362))
        np.savetxt(base / f"{sid}-sndpwr.txt", rng.normal(0, 1, 362))
    np.savetxt(base / alice.PREDICTOR_FILE, rng.normal(0, 1, (372, 12)), delimiter="\t")
    monkeypatch.setenv("ANALYSIS_LIB_EXTRA_DATA", str(tmp_path))
    alice._scan.cache_clear()
    yield base
    alice._scan.cache_clear()


@needs_real
def test_real_subjects_leave_out_the_constant_one():
    with pytest.warns(UserWarning, match=r"s33"):
        usable = datasets.subjects("alice")
    present = alice.all_subjects()
    assert len(present) == 19
    assert "s33" in present and "s33" not in usable
    assert len(usable) == 18
    with pytest.raises(ValueError, match="defective"):
        alice.load("s33")


@needs_real
@pytest.mark.parametrize("radius", ["6mm", 10])
def test_real_load_contract(radius):
    bold = datasets.load("alice", "s18", radius=radius)
    assert bold.name == "bold" and bold.dims == ("time", "voxel")
    assert bold.shape == (362, 6)
    assert list(bold["roi"].values) == list(alice.ROIS)
    np.testing.assert_allclose(bold["time"].values[[0, 1, -1]], [20.0, 22.0, 742.0])
    assert bold.attrs["tr"] == 2.0 and bold.attrs["space"] == "roi"
    assert bold.attrs["subject"] == "s18" and bold.attrs["dataset"] == "alice"
    path = alice.timecourse_file("s18", radius)
    assert sha256_file(path) in bold.attrs["source_sha256"]
    np.testing.assert_array_equal(bold.values, np.loadtxt(path))


@needs_real
def test_real_radii_differ_and_confounds_align():
    six, ten = alice.load("s18", "6mm"), alice.load("s18", "10mm")
    assert not np.allclose(six.values, ten.values)
    motion = alice.load_confounds("s18")
    raw = np.loadtxt(alice.motion_file("s18"))
    assert raw.shape == (372, 6) and motion.shape == (362, 6)
    np.testing.assert_array_equal(motion.values, raw[10:])
    np.testing.assert_array_equal(motion["time"].values, six["time"].values)
    pred = alice.predictors()
    assert pred.shape == (362, 12) and pred["predictor"].values[0] == "rate_conv"
    assert alice.predictors(include_discarded=True).shape == (372, 12)
    base = alice.load_baselines("s18")
    assert list(base["predictor"].values) == ["rate", "sndpwr"]
    # different motion file names are all found
    for sid in ("s30", "s38", "s50"):
        assert alice.load_confounds(sid).shape == (362, 6)


def test_fake_root_defective_excluded_and_scaling(fake_root):
    with pytest.warns(UserWarning, match="s02"):
        assert alice.subjects() == ["s01"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert alice.subjects(warn=False) == ["s01"]
    scaled = alice.load_confounds("s01", scale=True)
    np.testing.assert_allclose(scaled.values.std(axis=0), 1.0)


def test_bad_input_messages(fake_root, monkeypatch):
    # wrong number of rows: file and both shapes named
    np.savetxt(fake_root / "6mm" / "s01-timecourses.txt", np.ones((300, 6)))
    with pytest.raises(ValueError, match=r"s01-timecourses.txt: expected 362 x 6, found 300 x 6"):
        alice.load("s01")
    (fake_root / "6mm" / "s01-timecourses.txt").write_text("a b c\n")
    with pytest.raises(ValueError, match="not a numeric table"):
        alice.load("s01")
    with pytest.raises(FileNotFoundError, match=r"s07-timecourses.txt"):
        alice.load("s07")
    with pytest.raises(ValueError, match="radius"):
        alice.load("s01", radius="8mm")
    np.savetxt(fake_root / "s01-rp_run05.e02.txt", np.ones((362, 6)))
    with pytest.raises(ValueError, match=r"expected 372 x 6"):
        alice.load_confounds("s01")
    shutil.copy(fake_root / "s01-rp_run05.e02.txt", fake_root / "s01-rp_other.txt")
    with pytest.raises(FileNotFoundError, match="expected one motion file"):
        alice.load_confounds("s01")


def test_missing_data_says_where_it_comes_from(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_LIB_EXTRA_DATA", str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match=r"Brennan.*2016.*CC-BY") as info:
        datasets.load("alice", "s18")
    assert "alice/alice_data_shared" in str(info.value)
    assert alice.available() is False


@needs_real
def test_real_alice_matches_the_alice_stimulus():
    from analysis_lib.stimuli import load_stimulus

    stim = load_stimulus("alice")
    bold = alice.load("s18", stimulus=stim)  # TR 2 s, 362 volumes from t = 20 s
    assert bold.sizes["time"] == stim.n_volumes
    with pytest.warns(UserWarning, match="outside the scan window"):
        wrong = load_stimulus("alice", n_volumes=300)
    with pytest.raises(ValueError, match=r"362 volumes but stimulus 'alice' has 300 volumes"):
        alice.load("s18", stimulus=wrong)

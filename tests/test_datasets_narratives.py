"""Narratives loader on the real BIDS metadata with synthetic images in a temporary copy."""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pytest

from analysis_lib import datasets
from analysis_lib.datasets import narratives
from analysis_lib.paths import find_data

SKELETON = find_data("narratives-skeleton")
pytestmark = pytest.mark.skipif(SKELETON is None, reason="narratives-skeleton not in data roots")
N_VOL = 300  # pieman scans: 300 volumes of 1.5 s
STEM = "sub-001_task-pieman_run-1"


def _nifti(path, data, affine):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)


def _gifti(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = [nib.gifti.GiftiDataArray(row.astype(np.float32)) for row in data]
    nib.save(nib.gifti.GiftiImage(darrays=arrays), path)


@pytest.fixture
def root(tmp_path):
    """Skeleton copy + synthetic afni-smooth volume, fMRIPrep mask, surfaces, Gentle words."""
    base = tmp_path / "ds002345"
    shutil.copytree(SKELETON, base)
    rng = np.random.default_rng(0)
    affine = np.diag([3.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-12.0, -15.0, -10.0]
    vol = rng.normal(100, 1, (6, 7, 5, N_VOL)).astype(np.float32)
    vol[..., :] += (np.arange(N_VOL) * 0.01)[None, None, None, :]  # a ramp to check order
    mask = np.zeros((6, 7, 5), np.uint8)
    mask[1:5, 2:6, 1:4] = 1
    deriv = base / "derivatives"
    for d in ("afni-smooth", "afni-nosmooth"):
        _nifti(
            deriv / d / "sub-001" / "func" / narratives.derivative_path(base, d, STEM).name,
            vol * (1 if d == "afni-smooth" else 2),
            affine,
        )
    _nifti(
        deriv
        / "fmriprep"
        / "sub-001"
        / "func"
        / f"{STEM}_space-MNI152NLin2009cAsym_res-native_desc-brain_mask.nii.gz",
        mask,
        affine,
    )
    for h, n in (("L", 40), ("R", 30)):
        _gifti(
            narratives.derivative_path(base, "afni-nosmooth", STEM, "fsaverage6", h),
            rng.normal(0, 1, (N_VOL, n)) + np.arange(N_VOL)[:, None],
        )
        cortex = np.ones((1, n))
        cortex[0, :5] = 0
        _gifti(
            deriv
            / "afni-nosmooth"
            / "tpl-fsaverage6"
            / f"tpl-fsaverage6_hemi-{h}_desc-cortex_mask.gii",
            cortex,
        )
    gentle = base / "stimuli" / "gentle" / "pieman" / "align.csv"
    gentle.parent.mkdir(parents=True)
    gentle.write_text("I,i,15.2,15.4\nbegan,began,15.45,15.9\nthe,the,16.0,16.1\n")
    return base


def test_volume_load_crops_the_story_segment(root):
    bold = datasets.load(
        "narratives:pieman", "sub-001", root=root, derivative="afni-smooth", run=1
    )
    assert bold.name == "bold" and bold.dims == ("time", "voxel")
    # story 15 .. 437 s on the audio clock (audio starts at scan 0): volumes 10 .. 291
    assert bold.sizes["time"] == 282
    np.testing.assert_allclose(bold["time"].values[[0, -1]], [15.0, 436.5])
    assert bold.attrs["tr"] == 1.5 and bold.attrs["space"] == "MNI152NLin2009cAsym"
    assert bold.sizes["voxel"] == 4 * 4 * 3
    img = nib.load(narratives.derivative_path(root, "afni-smooth", STEM))
    data = img.get_fdata()
    i, j, k = (bold[c].values for c in "ijk")
    np.testing.assert_allclose(bold.values, data[i, j, k, 10:292].T, rtol=1e-6)
    np.testing.assert_allclose(bold.attrs["affine"], img.affine.ravel())
    assert bold.attrs["shape"] == [6, 7, 5]
    np.testing.assert_allclose(bold["x"].values, img.affine[0, 0] * i + img.affine[0, 3])
    assert "sub-001_task-pieman_run-1_events.tsv" in bold.attrs["source_files"]
    nosmooth = narratives.load("sub-001", "pieman", root=root, derivative="afni-nosmooth", run=1)
    np.testing.assert_allclose(nosmooth.values, 2 * bold.values, rtol=1e-6)
    full = narratives.load("sub-001", "pieman", root=root, run=1, crop=False)
    assert full.sizes["time"] == N_VOL and full["time"].values[0] == 0.0


def test_surface_load_and_cortex_mask(root):
    bold = narratives.load(
        "sub-001", "pieman", root=root, derivative="afni-nosmooth", run=1, space="fsaverage6"
    )
    assert bold.attrs["space"] == "fsaverage6"
    assert bold.sizes["voxel"] == 35 + 25
    assert set(bold["hemi"].values) == {"L", "R"} and bold["vertex"].values.min() == 5
    # the ramp planted in the synthetic data is preserved: time order and cropping correct
    np.testing.assert_allclose(bold.values.mean(axis=1), np.arange(10, 292), atol=0.5)


def test_subjects_runs_words_and_exclusions(root):
    assert datasets.subjects("narratives:pieman", root=root) == ["sub-001", "sub-002", "sub-003"]
    assert narratives.runs(root, "sub-001", "pieman") == [1, 2]
    words = narratives.words("pieman", root=root)
    assert list(words["word"]) == ["I", "began", "the"] and words["onset"].iloc[0] == 15.2
    bold = narratives.load("sub-001", "pieman", root=root, run=1)
    story = narratives.story_stimulus(bold, root=root)
    assert story.tr == 1.5 and story.n_volumes == 282 and story.t0 == 15.0
    narratives.load("sub-001", "pieman", root=root, run=1, stimulus=story)  # agrees
    (root / "code").mkdir(exist_ok=True)
    (root / "code" / "scan_exclude.json").write_text(
        json.dumps(
            {"pieman": {"sub-002": ["sub-002_task-pieman_run-1", "sub-002_task-pieman_run-2"]}}
        )
    )
    with pytest.warns(UserWarning, match="sub-002"):
        assert narratives.subjects("pieman", root=root) == ["sub-001", "sub-003"]


def test_stimulus_check_names_both_values(root):
    class Stim:
        name, tr, n_volumes = "pieman", 2.0, 282
        volume_times = 15 + 2.0 * np.arange(282)

    with pytest.raises(ValueError, match=r"TR is 1.5 s but stimulus 'pieman' has TR 2 s"):
        narratives.load("sub-001", "pieman", root=root, run=1, stimulus=Stim())
    Stim.tr, Stim.n_volumes = 1.5, 290
    with pytest.raises(ValueError, match=r"282 volumes but stimulus 'pieman' has 290"):
        narratives.load("sub-001", "pieman", root=root, run=1, stimulus=Stim())


def test_bad_input(root, tmp_path):
    with pytest.raises(ValueError, match="pass run="):
        narratives.load("sub-001", "pieman", root=root)
    with pytest.raises(
        FileNotFoundError,
        match=r"sub-002_task-pieman_run-1_space-MNI152NLin2009cAsym_res-native_desc-clean_bold.nii.gz.*ds002345",
    ):
        narratives.load("sub-002", "pieman", root=root, run=1)
    with pytest.raises(FileNotFoundError, match="run-3"):
        narratives.load("sub-001", "pieman", root=root, run=3)
    sidecar = root / "sub-001" / "func" / f"{STEM}_bold.json"
    sidecar.write_text('{"RepetitionTime": ')
    with pytest.raises(ValueError, match=r"_bold.json: malformed JSON"):
        narratives.load("sub-001", "pieman", root=root, run=1)
    sidecar.write_text('{"TaskName": "pieman"}')
    with pytest.raises(ValueError, match="RepetitionTime missing"):
        narratives.load("sub-001", "pieman", root=root, run=1)
    sidecar.write_text('{"RepetitionTime": 1.5}')
    events = root / "sub-001" / "func" / f"{STEM}_events.tsv"
    events.write_text("onset\tduration\ttrial_type\n0\t13\tmusic\n15\t900\tstory\n")
    with pytest.raises(ValueError, match=r"story segment ends at 915 s .* scan ends at 450 s"):
        narratives.load("sub-001", "pieman", root=root, run=1)
    events.write_text("onset\tduration\ttrial_type\nabc\t13\tstory\n")
    with pytest.raises(ValueError, match=r"_events.tsv:2: onset is not a number"):
        narratives.load("sub-001", "pieman", root=root, run=1)
    events.write_text("onset\ttrial_type\n0\tstory\n")
    with pytest.raises(ValueError, match=r"missing BIDS column"):
        narratives.load("sub-001", "pieman", root=root, run=1)
    bad = narratives.derivative_path(root, "afni-smooth", "sub-003_task-pieman_run-1")
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a nifti")
    with pytest.raises(ValueError, match="not a readable NIfTI"):
        narratives.load("sub-003", "pieman", root=root, run=1)
    with pytest.raises(ValueError, match="not a BIDS dataset root"):
        narratives.load("sub-001", "pieman", root=tmp_path / "ds002345" / "sub-001")
    with pytest.raises(FileNotFoundError, match="ds002345"):
        narratives.find_root(tmp_path / "nowhere")

"""HCP 7T movie loader on small synthetic CIFTI files written here."""

from __future__ import annotations

import h5py
import nibabel as nib
import numpy as np
import pytest

from analysis_lib import datasets
from analysis_lib.datasets import hcp_movie
from analysis_lib.datasets._bold import GRAYORDINATE_STRUCTURES, N_GRAYORDINATES

N_TR = 40
TIMING = (
    "7T_MOVIE1_CC1_v2\r"
    "movie.block,start,end,duration\r"
    "0,0,5,5\r1.1,5,12.5,7.5\r0,12.5,15,2.5\r1.2,15,22,7\r0,22,24,2\r"
    "1.3,24,30,6\r0,30,32,2\r1.4,32,35,3\r0,35,36,1\r1.5,36,38.5,2.5\r0,38.5,40,1.5\r"
)


def brain_models() -> nib.cifti2.BrainModelAxis:
    """A BrainModelAxis with the standard HCP structure counts (synthetic positions)."""
    names, vert, vox, flat = [], [], [], 0
    for name, start, stop in GRAYORDINATE_STRUCTURES:
        n = stop - start
        names += [name] * n
        if "CORTEX" in name:
            vert.append(np.arange(n))
            vox.append(np.full((n, 3), -1))
        else:
            idx = np.arange(flat, flat + n)
            flat += n
            vert.append(np.full(n, -1))
            vox.append(np.column_stack(np.unravel_index(idx, (40, 40, 40))))
    return nib.cifti2.BrainModelAxis(
        name=np.array(names),
        vertex=np.concatenate(vert),
        voxel=np.concatenate(vox),
        affine=np.eye(4),
        volume_shape=(40, 40, 40),
        nvertices={"CIFTI_STRUCTURE_CORTEX_LEFT": 32492, "CIFTI_STRUCTURE_CORTEX_RIGHT": 32492},
    )


def write_dtseries(path, data, step=1.0, models=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    models = models if models is not None else brain_models()
    series = nib.cifti2.SeriesAxis(0, step, data.shape[0], unit="SECOND")
    img = nib.cifti2.Cifti2Image(data.astype(np.float32), header=(series, models))
    img.nifti_header.set_intent("ConnDenseSeries")
    nib.save(img, path)
    return path


@pytest.fixture(scope="module")
def hcp_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("hcp")
    rng = np.random.default_rng(0)
    data = rng.normal(0, 1, (N_TR, N_GRAYORDINATES)).astype(np.float32)
    data[:, 0] = np.arange(N_TR)
    path = hcp_movie.cifti_path(root, "100610", "MOVIE1")
    write_dtseries(path, data)
    (root / "timing.csv").write_text(TIMING)
    return root


def test_load_standard_layout_with_official_timing(hcp_root):
    bold = datasets.load(
        "hcp-movie:MOVIE1", "100610", root=hcp_root, timing=hcp_root / "timing.csv"
    )
    assert bold.name == "bold" and bold.dims == ("time", "voxel")
    assert bold.shape == (N_TR, N_GRAYORDINATES)
    np.testing.assert_array_equal(bold["grayordinate"].values, np.arange(N_GRAYORDINATES))
    assert bold["structure"].values[0] == "CIFTI_STRUCTURE_CORTEX_LEFT"
    assert bold["structure"].values[-1] == "CIFTI_STRUCTURE_THALAMUS_RIGHT"
    assert bold.attrs["tr"] == 1.0 and bold.attrs["space"] == "fsLR32k"
    np.testing.assert_array_equal(bold.values[:, 0], np.arange(N_TR))
    clips = bold["clip"].values
    assert clips[4] == "rest" and clips[5] == "two_men" and clips[12] == "two_men"
    assert clips[13] == "rest" and clips[36] == "testretest" and clips[39] == "rest"
    assert datasets.subjects("hcp-movie:MOVIE1", root=hcp_root) == ["100610"]
    only = hcp_movie.load(
        "100610", 1, root=hcp_root, timing=hcp_root / "timing.csv", clips_only=True
    )
    assert set(only["clip"].values) == {
        "two_men",
        "bridgeville",
        "pockets",
        "overcome",
        "testretest",
    }
    assert only.sizes["time"] == 8 + 7 + 6 + 3 + 3


def test_shipped_timing_covers_each_run():
    for run, (_, _, n) in hcp_movie.RUNS.items():
        table = hcp_movie.clip_table(run)
        assert table["start"].iloc[0] == 0 and table["end"].iloc[-1] == n
        assert np.all(table["start"].values[1:] == table["end"].values[:-1])
        rest = table[table["block"] == "rest"]
        np.testing.assert_allclose(rest["end"] - rest["start"], 20)  # 20 s rest blocks
        assert table["block"].iloc[-2] == "testretest"
        test = table[table["block"] == "testretest"]
        assert 82 <= float(test["end"].iloc[0] - test["start"].iloc[0]) <= 85


def test_length_and_tr_mismatch_name_both_values(hcp_root, tmp_path):
    # shipped timing expects 921 volumes
    with pytest.raises(ValueError, match=r"40 volumes but the HCP MOVIE1 movie run has 921"):
        hcp_movie.load("100610", "MOVIE1", root=hcp_root)
    path = hcp_movie.cifti_path(tmp_path, "200", "MOVIE2")
    write_dtseries(path, np.zeros((5, N_GRAYORDINATES)), step=0.72)
    with pytest.raises(ValueError, match=r"TR is 0.72 s but the HCP MOVIE2 movie run has TR 1 s"):
        hcp_movie.load("200", "MOVIE2", root=tmp_path)


def test_malformed_cifti_and_missing_files(tmp_path):
    bad = hcp_movie.cifti_path(tmp_path, "300", "MOVIE3")
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"dtseries.nii: not a readable CIFTI-2 file"):
        hcp_movie.load("300", "MOVIE3", root=tmp_path)
    short = nib.cifti2.BrainModelAxis.from_surface(
        np.arange(100), 32492, name="CIFTI_STRUCTURE_CORTEX_LEFT"
    )
    write_dtseries(
        hcp_movie.cifti_path(tmp_path, "400", "MOVIE3"), np.zeros((3, len(short))), models=short
    )
    with pytest.raises(ValueError, match=r"100 grayordinates; expected the 91,282"):
        hcp_movie.load("400", "MOVIE3", root=tmp_path)
    with pytest.raises(
        FileNotFoundError, match=r"tfMRI_MOVIE4_7T_AP_Atlas_MSMAll.*humanconnectome"
    ):
        hcp_movie.load("500", "MOVIE4", root=tmp_path)
    with pytest.raises(ValueError, match="run must be one of"):
        hcp_movie.load("500", "MOVIE9", root=tmp_path)
    (tmp_path / "t.csv").write_text("7T_MOVIE1\n1.1,20,abc,4\n")
    with pytest.raises(ValueError, match=r"t.csv:2: start/end are not numbers"):
        hcp_movie.read_clip_timing(tmp_path / "t.csv")


def test_texts_from_captions_and_wordnet(tmp_path):
    tsv = tmp_path / "captions.tsv"
    tsv.write_text("onset\tduration\ttext\n1.5\t2\ta man walks\n6\t1\tdog\n")
    text = hcp_movie.texts("MOVIE1", tsv, n_volumes=8)
    assert text == ["", "a man walks", "a man walks", "a man walks", "", "", "dog", ""]
    h5 = tmp_path / "WordNetFeatures.hdf5"
    with h5py.File(h5, "w") as fh:
        fh["MOVIE1_CC1"] = np.array([[0, 1, 0], [1, 1, 0], [0, 0, 0]], float)
        fh["wordnet_labels"] = np.array([b"person.n.01", b"dog.n.01", b"car.n.01"])
    assert hcp_movie.texts("MOVIE1", h5, n_volumes=3) == ["dog.n.01", "person.n.01, dog.n.01", ""]
    with pytest.raises(ValueError, match="expected one 2-D dataset for MOVIE2"):
        hcp_movie.texts("MOVIE2", h5, n_volumes=3)


def test_movie_frames_and_captions_from_the_run_file(tmp_path):
    import av

    folder = tmp_path / "Post_20140821_version"
    folder.mkdir()
    path = folder / "7T_MOVIE2_HO1_v2.mp4"
    levels = np.repeat([30, 200, 90, 160, 60, 220], 2)  # brightness per second, 12 s
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=2)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for level in np.repeat(levels, 2):
            frame = np.full((32, 32, 3), level, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, "rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    captions = tmp_path / "captions.tsv"
    captions.write_text("onset\tduration\ttext\n2\t1.5\tthe dream\n")
    movie = hcp_movie.stimulus("MOVIE2", root=tmp_path, captions=captions, size=None, n_volumes=12)
    assert movie.tr == 1.0 and movie.n_volumes == 12
    np.testing.assert_allclose(movie.frames.mean(axis=(1, 2, 3)), levels, atol=6)
    assert movie.texts[2] == "the dream" and movie.texts[3] == "the dream"
    assert movie.texts[0] == ""
    with pytest.raises(ValueError, match="fit"):
        hcp_movie.stimulus("MOVIE2", root=tmp_path, captions=captions)  # 918 s expected
    with pytest.raises(FileNotFoundError, match=r"7T_MOVIE3_CC2_v2\.mp4"):
        hcp_movie.stimulus("MOVIE3", root=tmp_path)

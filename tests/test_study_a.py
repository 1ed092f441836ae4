"""Tests of the Study A results reader used by the book's chapters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from analysis_lib import study_a
from analysis_lib.io import write_netcdf

CONFIG = Path(__file__).parents[1] / "configs" / "default.yaml"


def test_grid_models_follow_the_configuration(tmp_path):
    models = study_a.grid_models(CONFIG, "study-a-atoms")
    assert models[:2] == ["minilm", "smollm2"] and "tiny-bert" in models
    cfg = tmp_path / "c.yaml"
    cfg.write_text("grids:\n  - name: g\n    notebook: n.py\n    parameters:\n      x: [1]\n")
    with pytest.raises(ValueError, match="no 'model'"):
        study_a.grid_models(cfg, "g")
    with pytest.raises(ValueError, match="no grid named"):
        study_a.grid_models(cfg, "other")


def test_read_result_reads_and_explains_missing_runs(tmp_path):
    ds = xr.Dataset({"x": ("atom", np.arange(3.0))})
    write_netcdf(ds, tmp_path / "study-a-atoms" / "model=m" / "atoms.nc")
    back = study_a.read_result(tmp_path, "study-a-atoms", "m", "atoms.nc")
    np.testing.assert_array_equal(back["x"].values, [0, 1, 2])
    with pytest.raises(FileNotFoundError, match="python -m analysis_lib run"):
        study_a.read_result(tmp_path, "study-a-atoms", "other", "atoms.nc")
    with pytest.raises(FileNotFoundError, match="did not finish"):
        study_a.read_result(tmp_path, "study-a-atoms", "m", "group.nc")


def test_model_info_labels_random_baselines():
    assert study_a.model_info("tiny-bert")["weights"] == "random"
    assert study_a.model_info("minilm")["weights"] == "pretrained"
    assert study_a.model_info("no-such-model")["weights"] == "unknown"


def test_results_root_environment_override(tmp_path, monkeypatch):
    monkeypatch.delenv(study_a.RESULTS_ENV, raising=False)
    assert study_a.results_root("results") == Path("results")
    monkeypatch.setenv(study_a.RESULTS_ENV, str(tmp_path))
    assert study_a.results_root("results") == tmp_path

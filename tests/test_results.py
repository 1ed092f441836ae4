"""The results layer the book's chapters and the notebooks read the grid's results with."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from analysis_lib import grid, models, results
from analysis_lib.io import write_netcdf

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "default.yaml"


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A results folder with complete runs of two models and half a run of a third."""
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))
    rng = np.random.default_rng(0)
    for model in ("tiny-clip", "tiny-clip-trained", "tiny-vit"):
        folder = tmp_path / "study-b-atoms" / f"model={model}"
        atoms = xr.Dataset(
            {
                "atoms": (("time", "atom"), rng.normal(size=(5, 3))),
                "loadings": (("atom", "neuron"), rng.normal(size=(3, 4))),
            }
        )
        write_netcdf(atoms, folder / "atoms.nc")
        if model == "tiny-vit":  # atoms only: the run did not reach encoding
            continue
        for subject in ("sub-02", "sub-01"):
            r = xr.Dataset({"r_cv": ("voxel", rng.normal(size=6))})
            other = tmp_path / "study-b-encode" / f"model={model}" / f"enc{subject}.nc"
            write_netcdf(r, other)  # not an encoding_*.nc file: never read
            write_netcdf(
                r, tmp_path / "study-b-encode" / f"model={model}" / f"encoding_{subject}.nc"
            )
        group = tmp_path / "study-b-group" / f"model={model}"
        write_netcdf(
            xr.Dataset({"tstat": (("atom", "voxel"), np.ones((3, 6)))}), group / "group.nc"
        )
        write_netcdf(
            xr.Dataset({"dice": (("atom", "network"), np.ones((3, 2)))}), group / "networks.nc"
        )
    return tmp_path


def test_results_root_order(tmp_path, monkeypatch):
    monkeypatch.delenv(results.RESULTS_ENV, raising=False)
    assert results.results_root() == ROOT / "results"  # the default configuration's
    assert results.results_root("elsewhere") == Path("elsewhere")
    cfg = tmp_path / "configs" / "c.yaml"
    cfg.parent.mkdir()
    cfg.write_text("results_dir: out\ngrids:\n  - name: g\n    notebook: n.py\n")
    assert results.results_root(config=cfg) == tmp_path / "out"
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path / "env"))
    assert results.results_root("elsewhere", config=cfg) == tmp_path / "env"


def test_run_folders_are_named_as_the_grid_names_runs(tmp_path):
    folder = results.run_folder("study-a-atoms", "minilm", results=tmp_path)
    cfg = grid.load_config(CONFIG)
    runs = [r for r in grid.expand(cfg, results_dir=tmp_path) if r.grid == "study-a-atoms"]
    assert folder in {r.results for r in runs}
    assert folder == tmp_path / "study-a-atoms" / "model=minilm"


def test_grid_models_follow_the_configuration(tmp_path):
    names = results.grid_models("study-a-atoms")
    assert names[:2] == ["minilm", "smollm2"] and "tiny-bert" in names
    study_b = results.grid_models("study-b-atoms", config=CONFIG)
    assert set(study_b) == {n for row in models.TWINS for n in (row.untrained, row.trained)}
    cfg = tmp_path / "c.yaml"
    cfg.write_text("grids:\n  - name: g\n    notebook: n.py\n    parameters:\n      x: [1]\n")
    with pytest.raises(ValueError, match="no 'model'"):
        results.grid_models("g", config=cfg)
    with pytest.raises(ValueError, match="no grid named"):
        results.grid_models("other", config=cfg)


def test_read_result_and_missing_files_name_the_file_and_the_command(store):
    back = results.read_result("study-b-atoms", "tiny-clip", "atoms.nc")
    assert back["atoms"].dims == ("time", "atom") and back["atoms"].shape == (5, 3)
    loadings = results.read_result("study-b-atoms", "tiny-clip", "atoms.nc", variable="loadings")
    assert isinstance(loadings, xr.DataArray) and loadings.dims == ("atom", "neuron")
    missing_run = store / "study-b-atoms" / "model=tiny-bert"
    with pytest.raises(FileNotFoundError) as err:
        results.read_result("study-b-atoms", "tiny-bert", "atoms.nc")
    message = str(err.value)
    assert str(missing_run) in message
    assert (
        f"python -m analysis_lib run --config configs/default.yaml --results-dir {store}"
        in message
    )
    with pytest.raises(FileNotFoundError, match=r"model=tiny-vit/metrics\.nc: missing.*--config"):
        results.read_result("study-b-atoms", "tiny-vit", "metrics.nc", results=store)
    with pytest.raises(ValueError, match="has no variable 'nope'"):
        results.read_result("study-b-atoms", "tiny-clip", "atoms.nc", variable="nope")


def test_default_results_name_make_book(tmp_path, monkeypatch):
    monkeypatch.delenv(results.RESULTS_ENV, raising=False)
    command = results.how_to_produce()
    assert command == "python -m analysis_lib run --config configs/default.yaml (or: make book)"
    other = results.how_to_produce(results=tmp_path)
    assert other.endswith(f"--results-dir {tmp_path}")


def test_encodings_and_r_cv_per_subject(store):
    files = results.encoding_files("tiny-clip")
    assert [f.name for f in files] == ["encoding_sub-01.nc", "encoding_sub-02.nc"]
    r = results.read_r_cv("tiny-clip")
    assert r.dims == ("subject", "voxel") and r.shape == (2, 6)
    assert list(r["subject"].values) == ["sub-01", "sub-02"]
    expected = xr.open_dataset(files[1])["r_cv"].values
    np.testing.assert_array_equal(r.sel(subject="sub-02").values, expected)
    assert results.encoding_files("tiny-vit") == []
    with pytest.raises(FileNotFoundError, match=r"model=tiny-vit/encoding_\*\.nc"):
        results.read_r_cv("tiny-vit")


def test_available_models_and_twins(store):
    have, missing = results.available_models()
    assert have == ["tiny-clip", "tiny-clip-trained"]  # the configuration's order
    assert "tiny-vit" in missing and "tiny-bridgetower" in missing
    assert set(have) | set(missing) == set(results.grid_models("study-b-atoms"))
    assert results.has_run("tiny-clip") and not results.has_run("tiny-vit")
    assert results.available_twins([*have, "tiny-vit"]) == [("tiny-clip", "tiny-clip-trained")]
    with pytest.raises(FileNotFoundError, match="run the grid first"):
        results.available_models("study-b-cross")
    group = results.read_group("tiny-clip-trained")
    assert set(group) == {"atoms", "group", "networks"}
    assert group["networks"]["dice"].dims == ("atom", "network")


def test_labels_come_from_the_twins_table():
    for row in models.TWINS:
        assert results.MODEL_LABELS[row.trained] == f"{row.label}, trained"
        assert results.MODEL_LABELS[row.untrained] == f"{row.label}, untrained"
        assert results.PAIR_LABELS[row.trained] == results.PAIR_LABELS[row.untrained]


def test_model_info_labels_random_baselines():
    assert results.model_info("tiny-bert")["weights"] == "random"
    assert results.model_info("tiny-clip-trained")["weights"] == "toy-trained"
    assert results.model_info("minilm")["weights"] == "pretrained"
    assert results.model_info("no-such-model")["weights"] == "unknown"


def test_the_book_reads_results_only_through_this_module():
    """No chapter or notebook builds result paths itself or reads ANALYSIS_LIB_RESULTS."""
    pages = sorted((ROOT / "book").rglob("*.py")) + sorted((ROOT / "notebooks").glob("*.py"))
    pages = [p for p in pages if "_build" not in p.parts and "_ext" not in p.parts]
    assert pages
    offenders = []
    for page in pages:
        text = page.read_text()
        if results.RESULTS_ENV in text or '"model=' in text or "_study_b" in text:
            offenders.append(page.name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "analysis_lib.study_a":
                offenders.append(page.name)
    assert not offenders, offenders

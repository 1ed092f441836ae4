"""The notebook grid runner: expansion, hashing, resume, failures, dask scheduling."""

from __future__ import annotations

import json
import textwrap

import pytest

from analysis_lib import grid

NOTEBOOK = textwrap.dedent(
    """\
    # %% tags=["parameters"]
    x = 1
    fail = False
    source = ""
    results_dir = "."
    run_id = "default"

    # %%
    import json, pathlib
    if fail:
        raise RuntimeError("asked to fail")
    out = pathlib.Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "value.json").write_text(json.dumps({"x2": x * 2, "run_id": run_id}))
    print(x * 2)
    """
)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "configs").mkdir()
    (tmp_path / "notebooks" / "double.py").write_text(NOTEBOOK)
    (tmp_path / "inputs.txt").write_text("input v1")
    cfg = {
        "grids": [
            {
                "name": "demo",
                "notebook": "notebooks/double.py",
                "inputs": ["inputs.txt"],
                "parameters": {"x": [1, 2], "fail": [False]},
            }
        ]
    }
    path = tmp_path / "configs" / "grid.yaml"
    path.write_text(json.dumps(cfg))  # JSON is valid YAML
    return tmp_path, path


def test_expand_names_and_paths(project):
    root, path = project
    runs = grid.expand(grid.load_config(path))
    assert [r.run_id for r in runs] == ["x=1_fail=False", "x=2_fail=False"]
    assert runs[0].output == root / "book" / "runs" / "demo" / "x=1_fail=False.ipynb"
    assert runs[0].parameters["results_dir"] == str(root / "results" / "demo" / "x=1_fail=False")


def test_bad_config_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grids: [ {name: a} ]")
    with pytest.raises(ValueError, match=r"bad\.yaml.*notebook"):
        grid.load_config(bad)
    bad.write_text("grids:\n  - {name: a, notebook: n.py, parameters: {x: 3}}")
    with pytest.raises(ValueError, match="non-empty list"):
        grid.load_config(bad)
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        grid.load_config(tmp_path / "nope.yaml")


def test_grid_runs_on_a_scheduler_then_skips_then_reruns_changed(project):
    from distributed import LocalCluster

    root, path = project
    runs = grid.expand(grid.load_config(path))
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    ) as cluster:
        first = grid.run_grid(runs, scheduler=cluster.scheduler_address, progress=False)
        assert [r.status for r in first] == ["done", "done"], grid.summarize(first)
        value = json.loads((runs[1].results / "value.json").read_text())
        assert value == {"x2": 4, "run_id": "x=2_fail=False"}
        second = grid.run_grid(runs, scheduler=cluster.scheduler_address, progress=False)
        assert [r.status for r in second] == ["skipped", "skipped"]
        # Changing an input invalidates every run that declares it.
        (root / "inputs.txt").write_text("input v2")
        runs = grid.expand(grid.load_config(path))
        third = grid.run_grid(runs, scheduler=cluster.scheduler_address, progress=False)
        assert [r.status for r in third] == ["done", "done"]


def test_failed_run_is_reported_and_others_go_on(project):
    _root, path = project
    cfg = grid.load_config(path)
    cfg["grids"][0]["parameters"]["fail"] = [False, True]
    runs = grid.expand(cfg)
    results = grid.run_grid(runs, workers=1, progress=False)
    status = {r.run_id: r.status for r in results}
    assert status == {
        "x=1_fail=False": "done",
        "x=1_fail=True": "failed",
        "x=2_fail=False": "done",
        "x=2_fail=True": "failed",
    }
    failed = [r for r in results if r.status == "failed"]
    assert "asked to fail" in failed[0].error
    assert not failed[0].error.startswith("Traceback")
    assert not runs[1].output.exists() and not runs[1].record.exists()
    assert "2 done, 0 skipped, 2 failed" in grid.summarize(results)


def test_depends_on_propagates_changes(project):
    root, path = project
    cfg = grid.load_config(path)
    cfg["grids"].append(
        {"name": "summary", "notebook": "notebooks/double.py", "depends_on": ["demo"]}
    )
    before = grid.expand(cfg)[-1].digest()
    assert before == grid.expand(cfg)[-1].digest()
    (root / "inputs.txt").write_text("input v2")
    assert grid.expand(cfg)[-1].digest() != before
    cfg["grids"].append(
        {"name": "bad", "notebook": "notebooks/double.py", "depends_on": ["later"]}
    )
    with pytest.raises(ValueError, match="not listed before it"):
        grid.expand(cfg)


def test_templates_fill_results_and_parameters(project):
    root, path = project
    cfg = grid.load_config(path)
    cfg["grids"][0]["fixed"] = {"source": "{results}/up/x={x}.nc"}
    runs = grid.expand(cfg)
    assert runs[1].parameters["source"] == f"{root / 'results'}/up/x=2.nc"
    cfg["grids"][0]["fixed"] = {"source": "{nope}"}
    with pytest.raises(ValueError, match="unknown placeholder"):
        grid.expand(cfg)


def test_unknown_top_level_key_and_undeclared_parameter_are_errors(project):
    root, path = project
    cfg = json.loads(path.read_text())
    bad = root / "configs" / "bad_key.yaml"
    bad.write_text(json.dumps({**cfg, "grid": []}))
    with pytest.raises(ValueError, match=r"bad_key.yaml: unknown top-level key\(s\) \['grid'\]"):
        grid.load_config(bad)
    cfg["grids"][0]["fixed"] = {"y": 3}
    typo = root / "configs" / "typo.yaml"
    typo.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"typo.yaml: grid 'demo' sets \['y'\].*double.py"):
        grid.expand(grid.load_config(typo))


@pytest.mark.parametrize("name", ["default.yaml", "full.yaml"])
def test_shipped_configurations_expand(name, tmp_path):
    from pathlib import Path

    path = Path(__file__).parents[1] / "configs" / name
    runs = grid.expand(
        grid.load_config(path), runs_dir=tmp_path / "runs", results_dir=tmp_path / "results"
    )
    stages = {r.grid.rsplit("-", 1)[-1] for r in runs}
    assert stages == {"atoms", "encode", "group"}
    # every encode and group run depends on the atoms of its own model
    for r in runs:
        if not r.grid.endswith("atoms"):
            model = r.parameters["model"]
            assert f"model={model}" in r.parameters["atoms_path"]
            assert r.upstream


def test_notebook_edited_during_a_run_is_not_recorded_as_current(project, monkeypatch):
    from analysis_lib import runner

    _root, path = project
    run = grid.expand(grid.load_config(path))[0]

    def fake_execute(nb_path, output, parameters, **kwargs):
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("{}")
        nb_path.write_text(nb_path.read_text() + "\n# edited while running\n")

    monkeypatch.setattr(runner, "execute_notebook", fake_execute)
    assert grid.execute_run(run).status == "done"
    assert run.output.exists() and run.record.exists()
    assert not run.is_current()  # the edit is seen: the next grid run executes it again


def test_executed_runs_get_distinct_titles():
    import nbformat

    from analysis_lib.runner import _suffix_title

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("# not a heading"),
        nbformat.v4.new_markdown_cell("Intro\n# Encoding\ntext\n# Second"),
    ]
    _suffix_title(nb, "study-a-encode, model=minilm")
    assert nb.cells[0].source == "# not a heading"
    assert nb.cells[1].source == "Intro\n# Encoding: study-a-encode, model=minilm\ntext\n# Second"

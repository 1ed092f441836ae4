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


TIMED_NOTEBOOK = textwrap.dedent(
    """\
    # %% tags=["parameters"]
    x = 1
    wait = 0.0
    results_dir = "."
    run_id = "default"

    # %%
    import json, pathlib, time
    time.sleep(wait * (x - 1))
    out = pathlib.Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "end.json").write_text(json.dumps({"end": time.time()}))
    """
)


def test_a_run_starts_when_its_own_upstream_is_done_not_its_whole_grid(tmp_path):
    """Two workers: after/x=1 needs only demo/x=1, so it runs while demo/x=2 still sleeps
    (a barrier between grids would start it after demo/x=2)."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "timed.py").write_text(TIMED_NOTEBOOK)
    cfg = {
        "grids": [
            {
                "name": "demo",
                "notebook": "notebooks/timed.py",
                "parameters": {"x": [1, 2]},
                "fixed": {"wait": 20.0},  # x=2 sleeps 20 s, x=1 not at all
            },
            {
                "name": "after",
                "notebook": "notebooks/timed.py",
                "depends_on": ["demo"],
                "parameters": {"x": [1, 2]},
            },
        ]
    }
    (tmp_path / "configs").mkdir()
    runs = grid.expand(grid.load_config(_write_config(tmp_path, cfg)))
    results = grid.run_grid(runs, workers=2, progress=False)
    assert all(r.status == "done" for r in results), grid.summarize(results)

    def end(grid_name, rid):
        return json.loads((tmp_path / "results" / grid_name / rid / "end.json").read_text())["end"]

    assert end("after", "x=1") < end("demo", "x=2")


def test_priority_is_the_longest_chain_of_dependents(project):
    _root, path = project
    cfg = grid.load_config(path)
    cfg["grids"][0]["parameters"] = {"x": [1, 2]}
    cfg["grids"].append(
        {
            "name": "middle",
            "notebook": "notebooks/double.py",
            "depends_on": ["demo"],
            "parameters": {"x": [1]},
        }
    )
    cfg["grids"].append(
        {"name": "last", "notebook": "notebooks/double.py", "depends_on": ["middle"]}
    )
    runs = grid.expand(cfg)
    dependents = {grid._key(r): [] for r in runs}
    for r in runs:
        for u in r.upstream:
            dependents[grid._key(u)].append(r)
    length = grid._chain_lengths(runs, dependents)
    assert length == {
        ("demo", "x=1"): 3,
        ("demo", "x=2"): 1,
        ("middle", "x=1"): 2,
        ("last", "default"): 1,
    }


def test_kernel_threads_divide_the_cores_and_keep_a_user_setting(monkeypatch):
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert grid.kernel_thread_env(2, cores=2)["OMP_NUM_THREADS"] == "1"
    assert grid.kernel_thread_env(1, cores=2)["OMP_NUM_THREADS"] == "2"
    assert grid.kernel_thread_env(3, cores=8)["OPENBLAS_NUM_THREADS"] == "2"
    assert grid.kernel_thread_env(4, cores=2)["MKL_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert grid.kernel_thread_env(2, cores=2)["OMP_NUM_THREADS"] == "3"


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


# --------------------------------------------------------------------------- strict schema


def _write_config(root, cfg, name="grid.yaml"):
    path = root / "configs" / name
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.parametrize(
    ("typo", "closest"),
    [("paramters", "parameters"), ("fixd", "fixed"), ("depend_on", "depends_on")],
)
def test_unknown_grid_keys_are_errors_naming_the_closest(project, typo, closest):
    root, path = project
    cfg = json.loads(path.read_text())
    cfg["grids"][0][typo] = cfg["grids"][0].pop("parameters") if typo == "paramters" else {}
    bad = _write_config(root, cfg, "typo.yaml")
    with pytest.raises(ValueError, match=rf"typo\.yaml: grid 'demo' has unknown key '{typo}'"):
        grid.load_config(bad)
    with pytest.raises(ValueError, match=rf"did you mean '{closest}'"):
        grid.load_config(bad)


def test_unknown_top_level_key_names_the_closest(project):
    root, path = project
    cfg = json.loads(path.read_text())
    cfg["result_dir"] = "elsewhere"
    with pytest.raises(ValueError, match="did you mean 'results_dir'"):
        grid.load_config(_write_config(root, cfg, "top.yaml"))


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", ""])
def test_grid_names_cannot_leave_their_folders(project, name):
    root, path = project
    cfg = json.loads(path.read_text())
    cfg["grids"][0]["name"] = name
    with pytest.raises(ValueError, match="plain name"):
        grid.load_config(_write_config(root, cfg, "name.yaml"))
    assert not (root / "x").exists()


def test_run_ids_stay_inside_their_folders(project):
    root, path = project
    cfg = grid.load_config(path)
    cfg["grids"][0]["parameters"]["source"] = ["../../../escape", "/abs", ".."]
    for run in grid.expand(cfg):
        assert "/" not in run.run_id and run.run_id not in (".", "..")
        assert run.results.parent == root / "results" / "demo"
        assert run.output.parent == root / "book" / "runs" / "demo"


# --------------------------------------------------------------------------- typed parameters

TYPED = textwrap.dedent(
    """\
    # %% tags=["parameters"]
    model = "tiny-bert"
    subjects = ["sub-01"]
    n_atoms = 4
    alpha = 0.1
    label = "a"
    results_dir = "."
    run_id = "default"

    # %%
    import pathlib
    import numpy as np
    import xarray as xr
    from analysis_lib.io import write_netcdf
    out = pathlib.Path(results_dir)
    write_netcdf(xr.Dataset({"v": ("i", np.arange(n_atoms) * alpha)}), out / "value.nc")
    print(len(subjects), label)
    """
)


@pytest.fixture
def typed_project(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "configs").mkdir()
    (tmp_path / "notebooks" / "typed.py").write_text(TYPED)
    cfg = {"grids": [{"name": "typed", "notebook": "notebooks/typed.py", "fixed": {}}]}
    return tmp_path, cfg


@pytest.mark.parametrize(
    ("fixed", "message"),
    [
        ({"subjects": []}, r"'subjects'.*must not be an empty list"),
        ({"subjects": "sub-01"}, r"'subjects'.*must be a list.*e\.g\. \[sub-01\]"),
        ({"subjects": ["sub-01", 2]}, r"'subjects'.*every item must be a string"),
        ({"n_atoms": "abc"}, r"'n_atoms'.*must be an integer, got str 'abc'"),
        ({"n_atoms": 2.5}, r"'n_atoms'.*must be an integer"),
        ({"alpha": "x"}, r"'alpha'.*must be a number"),
        ({"model": "no-such-model"}, r"unknown model 'no-such-model'"),
    ],
)
def test_parameters_are_checked_against_the_declared_types(typed_project, fixed, message):
    root, cfg = typed_project
    cfg["grids"][0]["fixed"] = fixed
    path = _write_config(root, cfg)
    with pytest.raises(ValueError, match=message):
        grid.expand(grid.load_config(path))
    # the same through the CLI's --dry-run: one line, exit 2, nothing run
    out = _cli("run", "--config", str(path), "--dry-run", cwd=root)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.startswith("error:") and "Traceback" not in out.stderr
    assert not (root / "book").exists() and not (root / "results").exists()


def test_well_typed_parameters_pass(typed_project):
    root, cfg = typed_project
    cfg["grids"][0]["fixed"] = {"subjects": ["sub-01", "sub-02"], "alpha": 1, "model": "minilm"}
    runs = grid.expand(grid.load_config(_write_config(root, cfg)))
    assert runs[0].parameters["alpha"] == 1


def test_annotations_declare_types(tmp_path):
    from analysis_lib.runner import check_parameters, parameter_specs

    nb = tmp_path / "annotated.py"
    # papermill reads plain-name annotations only (``x: int = 1``)
    nb.write_text(
        '# %% tags=["parameters"]\nitems: list = []\nlimit: float = None\n'
        "free = None\ncount: int = 0\n\n# %%\nprint(items)\n"
    )
    specs = parameter_specs(nb)
    assert (specs["items"].kind, specs["items"].nonempty) == ("list", False)
    assert (specs["limit"].kind, specs["limit"].optional) == ("float", True)
    check_parameters(nb, {"items": [], "limit": None, "free": "anything"})
    check_parameters(nb, {"items": [1, "a"], "limit": 3, "count": 2})
    with pytest.raises(ValueError, match=r"'items'.*must be a list"):
        check_parameters(nb, {"items": "a"})
    with pytest.raises(ValueError, match=r"'count'.*must be an integer, got bool"):
        check_parameters(nb, {"count": True})
    with pytest.raises(ValueError, match=r"'limit'.*must be a number"):
        check_parameters(nb, {"limit": "high"})
    with pytest.raises(ValueError, match="unknown parameter 'itmes'; did you mean 'items'"):
        check_parameters(nb, {"itmes": [1]})


def _cli(*args, cwd=None, env=None):
    import os
    import subprocess
    import sys
    from pathlib import Path

    base = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "analysis_lib", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**base, **(env or {})},
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("subjects", "[]", "must not be an empty list"),
        ("subjects", "sub-01", "must be a list"),
        ("n_atoms", "abc", "must be an integer"),
    ],
)
def test_notebook_command_checks_values_before_running(typed_project, name, value, message):
    root, _cfg = typed_project
    out = _cli("notebook", "notebooks/typed.py", "-p", name, value, "--out", "o.ipynb", cwd=root)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.startswith("error:") and message in out.stderr
    assert f"'{name}'" in out.stderr and "typed.py" in out.stderr
    assert not (root / "o.ipynb").exists()


def test_notebook_help_keeps_its_line_continuation():
    out = _cli("notebook", "--help")
    assert out.returncode == 0
    assert "notebooks/00_environment.py \\\n        -p show_packages False" in out.stdout


# --------------------------------------------------------------------------- failures


def test_failed_run_is_kept_and_its_dependents_are_not_run(project):
    root, path = project
    cfg = json.loads(path.read_text())
    cfg["grids"][0]["parameters"] = {"x": [1], "fail": [True]}
    cfg["grids"].append(
        {"name": "after", "notebook": "notebooks/double.py", "depends_on": ["demo"]}
    )
    path = _write_config(root, cfg, "fails.yaml")
    out = _cli("run", "--config", str(path), "--workers", "1", cwd=root)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "0 done, 0 skipped, 1 failed, 1 blocked" in out.stdout
    assert "FAILED demo/x=1_fail=True" in out.stdout
    assert "NOT RUN after/default: upstream demo/x=1_fail=True failed" in out.stdout
    kept = root / "book" / "runs" / "demo" / "failed" / "x=1_fail=True.ipynb"
    assert str(kept) in out.stdout
    import nbformat

    nb = nbformat.read(kept, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors and errors[0]["evalue"] == "asked to fail"
    assert not (root / "book" / "runs" / "demo" / "x=1_fail=True.ipynb").exists()
    assert not (root / "book" / "runs" / "after").exists()  # the dependent never ran
    assert not (root / "results" / "after").exists()


# --------------------------------------------------------------------------- resume and paths


def _typed_run(typed_project, **dirs):
    root, cfg = typed_project
    cfg["grids"][0]["parameters"] = {"n_atoms": [3]}
    runs = grid.expand(grid.load_config(_write_config(root, cfg)), **dirs)
    assert grid.execute_run(runs[0]).status == "done"
    assert runs[0].is_current()
    return runs


def test_paths_resolve_against_one_base(typed_project, monkeypatch):
    root, _cfg = typed_project
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # a relative --results-dir is the current directory's, for the runner and the kernel
    (run,) = _typed_run(typed_project, results_dir="relres", runs_dir="relruns")
    assert run.parameters["results_dir"] == str(elsewhere / "relres" / "typed" / "n_atoms=3")
    assert (elsewhere / "relres" / "typed" / "n_atoms=3" / "value.nc").is_file()
    assert (elsewhere / "relruns" / "typed" / "n_atoms=3.ipynb").is_file()
    assert not (root / "notebooks" / "relres").exists()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["relres", "relruns"]
    # and the kernels run in the project root, where the configuration's paths point
    assert run.workdir == root


def test_temporary_files_of_interrupted_writes_are_removed(typed_project):
    runs = _typed_run(typed_project)
    run = runs[0]
    leftovers = [
        run.results / ".value.k2j4x_9a.tmp.nc",
        run.output.parent / ".n_atoms=3.abcd1234.tmp.ipynb",
        run.output.parent / ".n_atoms=3.done.zzzz0000.tmp.json",
    ]
    for p in leftovers:
        p.write_bytes(b"")
    keep = [run.results / ".keep", run.output.parent / "notes.tmp.txt"]
    for p in keep:
        p.write_text("mine")
    assert [r.status for r in grid.run_grid(runs, progress=False)] == ["skipped"]
    assert not any(p.exists() for p in leftovers)
    assert all(p.exists() for p in keep)


def test_resume_checks_that_recorded_outputs_exist_and_open(typed_project):
    import shutil

    (run,) = _typed_run(typed_project)
    value = run.results / "value.nc"
    good = value.read_bytes()
    value.write_bytes(good[: len(good) // 2])  # truncated
    assert not run.is_current()
    assert "value.nc" in run.stale_reason()
    value.write_bytes(b"\0" * len(good))  # same size, but not netCDF
    assert not run.is_current() and "does not open" in run.stale_reason()
    value.write_bytes(good)
    assert run.is_current()
    shutil.rmtree(run.results.parents[1])  # results/ deleted
    assert not run.is_current() and "missing" in run.stale_reason()
    run.results.mkdir(parents=True)
    value.write_bytes(good)
    assert run.is_current()
    executed = run.output.read_text()
    run.output.write_text(executed[: len(executed) // 2])  # a truncated executed notebook
    assert not run.is_current() and "does not open" in run.stale_reason()
    run.output.write_text(executed)
    assert run.is_current()
    assert [r.status for r in grid.run_grid([run], progress=False)] == ["skipped"]


# --------------------------------------------------------------------------- code digests


def _mini_package(tmp_path):
    """A package with every kind of import edge, named like the real one."""
    pkg = tmp_path / "mini" / "analysis_lib"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "data").mkdir()
    files = {
        "__init__.py": '__version__ = "0"\n',
        "a.py": "from . import b\n",  # module-level relative import of a module
        "b.py": "def f():\n    from .c import g  # function-level\n    return g()\n",
        "c.py": "def g():\n    return 1\n",
        "d.py": "import analysis_lib.sub.e\n",  # absolute, dotted
        "reg.py": 'MODULES = {"x": "analysis_lib.c:g"}\n',  # a registry string
        "uses_data.py": 'PATH = "data/table.txt"\n',
        "alone.py": "import json\n",
        "sub/__init__.py": "",
        "sub/e.py": "from ..c import g\n",  # relative, two levels
        "data/table.txt": "1 2 3\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    return pkg


def test_import_graph_has_every_kind_of_edge(tmp_path):
    from analysis_lib import codehash

    pkg = _mini_package(tmp_path)
    g = codehash.import_graph(pkg)
    assert g["analysis_lib.a"] == {"analysis_lib", "analysis_lib.b"}
    assert g["analysis_lib.b"] == {"analysis_lib", "analysis_lib.c"}
    assert g["analysis_lib.d"] == {"analysis_lib", "analysis_lib.sub.e"}
    # importing analysis_lib.sub.e runs analysis_lib/sub/__init__.py: a parent edge of e
    assert "analysis_lib.sub" in codehash.dependencies(["analysis_lib.d"], pkg)
    assert g["analysis_lib.sub.e"] == {"analysis_lib", "analysis_lib.sub", "analysis_lib.c"}
    assert "analysis_lib.c" in g["analysis_lib.reg"]
    assert g["analysis_lib.alone"] == {"analysis_lib"}
    assert codehash.dependencies(["analysis_lib.a"], pkg) == {
        "analysis_lib",
        "analysis_lib.a",
        "analysis_lib.b",
        "analysis_lib.c",
    }


def test_code_digest_changes_exactly_for_the_dependents(tmp_path):
    from analysis_lib import codehash

    pkg = _mini_package(tmp_path)
    names = sorted(codehash.import_graph(pkg))
    before = {n: codehash.code_digest([n], pkg) for n in names}
    assert before == {n: codehash.code_digest([n], pkg) for n in names}  # deterministic
    (pkg / "c.py").write_text("def g():\n    return 2\n")
    after = {n: codehash.code_digest([n], pkg) for n in names}
    changed = {n for n in names if before[n] != after[n]}
    assert changed == {
        "analysis_lib.a",
        "analysis_lib.b",
        "analysis_lib.c",
        "analysis_lib.d",
        "analysis_lib.reg",
        "analysis_lib.sub.e",
    }
    (pkg / "data" / "table.txt").write_text("4 5 6\n")
    data_changed = {n for n in names if after[n] != codehash.code_digest([n], pkg)}
    assert data_changed == {"analysis_lib.uses_data"}


def test_notebook_modules_read_every_cell_and_helpers(tmp_path):
    from analysis_lib import codehash

    pkg = _mini_package(tmp_path)
    nb = tmp_path / "nb.py"
    (tmp_path / "_helper.py").write_text("X = 1\n")
    nb.write_text(
        '# %% tags=["parameters"]\nx = 1\n\n# %%\n%matplotlib inline\nimport _helper\n'
        "from analysis_lib.a import f\n\n# %%\ndef later():\n    import analysis_lib.d\n"
    )
    modules, local = codehash.notebook_modules(nb, pkg)
    assert modules == {"analysis_lib.a", "analysis_lib.d"}
    assert local == [(tmp_path / "_helper.py").resolve()]
    before = codehash.notebook_code_digest(nb, pkg)
    (tmp_path / "_helper.py").write_text("X = 2\n")
    assert codehash.notebook_code_digest(nb, pkg) != before


def test_real_package_graph():
    from analysis_lib import codehash

    io_closure = codehash.dependencies(["analysis_lib.io"])
    assert "analysis_lib.encoding.core" not in io_closure
    encoding = codehash.dependencies(["analysis_lib.encoding"])
    assert {"analysis_lib.encoding.core", "analysis_lib.io"} <= encoding
    # function-level imports count: cached_extract's key covers what extraction imports
    assert "analysis_lib.paths" in codehash.dependencies(["analysis_lib.extraction"])


USES = textwrap.dedent(
    """\
    # %% tags=["parameters"]
    results_dir = "."
    run_id = "default"

    # %%
    import json, pathlib
    import analysis_lib
    from analysis_lib.{module} import {name}
    out = pathlib.Path(results_dir)
    (out / "where.json").write_text(json.dumps({{"package": analysis_lib.__file__}}))
    """
)


def test_editing_a_library_function_reruns_exactly_the_dependent_runs(tmp_path):
    """A copy of the package; hrf.py edited: the runs importing it re-run, not the others."""
    import ast
    import shutil
    from pathlib import Path

    import analysis_lib

    pkg = tmp_path / "pkg" / "analysis_lib"
    shutil.copytree(
        Path(analysis_lib.__file__).parent, pkg, ignore=shutil.ignore_patterns("__pycache__")
    )
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "configs").mkdir()
    (project / "notebooks" / "uses_hrf.py").write_text(USES.format(module="hrf", name="*"))
    (project / "notebooks" / "uses_io.py").write_text(USES.format(module="io", name="sha256_file"))
    cfg = {
        "grids": [
            {"name": "hrf", "notebook": "notebooks/uses_hrf.py"},
            {"name": "io", "notebook": "notebooks/uses_io.py"},
            {"name": "after-hrf", "notebook": "notebooks/uses_io.py", "depends_on": ["hrf"]},
        ]
    }
    config = project / "configs" / "grid.yaml"
    config.write_text(json.dumps(cfg))
    env = {"PYTHONPATH": str(pkg.parent)}  # the runner, its workers and kernels: the copy

    def run(*extra):
        out = _cli("run", "--config", str(config), "--workers", "1", *extra, cwd=project, env=env)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    assert "3 done, 0 skipped, 0 failed" in run()
    where = json.loads((project / "results" / "hrf" / "default" / "where.json").read_text())
    assert Path(where["package"]).parent == pkg  # the kernels imported the copy
    assert "0 done, 3 skipped, 0 failed" in run()

    # edit one library function of the copy
    source = (pkg / "hrf.py").read_text()
    func = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef))
    lines = source.splitlines(keepends=True)
    first = func.body[0]
    lines.insert(first.lineno - 1, " " * first.col_offset + "_edited = True\n")
    (pkg / "hrf.py").write_text("".join(lines))

    listing = run("--dry-run")
    current = {line.split()[0]: "[current]" in line for line in listing.splitlines()}
    assert current == {"hrf/default": False, "io/default": True, "after-hrf/default": False}
    assert "2 done, 1 skipped, 0 failed" in run()
    assert "0 done, 3 skipped, 0 failed" in run()


def test_make_book_drops_the_page_cache_when_library_code_changes(tmp_path):
    """The book recipe with a fake jupyter-book: a library edit re-executes the chapters."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import analysis_lib

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    repo = Path(__file__).parents[1]
    pkg = tmp_path / "pkg" / "analysis_lib"
    shutil.copytree(
        Path(analysis_lib.__file__).parent, pkg, ignore=shutil.ignore_patterns("__pycache__")
    )
    project = tmp_path / "project"
    (project / "configs").mkdir(parents=True)
    (project / "results").mkdir()
    shutil.copy(repo / "Makefile", project)
    shutil.copy(repo / "pyproject.toml", project)
    (project / "configs" / "empty.yaml").write_text("grids: []\n")
    venv = project / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    # the book build (book/_build.py, run by the venv's python): records whether the
    # execution cache survived, then fills it
    (project / "book").mkdir()
    (project / "book" / "_build.py").write_text(
        "import pathlib, sys\n"
        "assert sys.argv[1:3] == ['build', '.'], sys.argv\n"
        "cache = pathlib.Path('_build/.jupyter_cache')\n"
        "with open('build.log', 'a') as log:\n"
        "    log.write('cached\\n' if cache.is_dir() else 'fresh\\n')\n"
        "cache.mkdir(parents=True, exist_ok=True)\n"
    )
    for script in (venv / "bin").iterdir():
        script.chmod(0o755)
    (venv / ".installed").touch()
    later = (project / "pyproject.toml").stat().st_mtime + 60
    os.utime(venv / ".installed", (later, later))
    env = {**os.environ, "PYTHONPATH": str(pkg.parent)}
    env.pop("ANALYSIS_LIB_RESULTS", None)

    def build() -> str:
        out = subprocess.run(
            ["make", "book", "VENV=venv", "GRID=configs/empty.yaml"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return (project / "build.log").read_text().split()[-1]

    assert build() == "fresh"
    assert build() == "cached"  # nothing changed: the pages are not executed again
    core = pkg / "encoding" / "core.py"
    core.write_text(core.read_text().replace("def ", "def _edited():\n    pass\n\n\ndef ", 1))
    assert build() == "fresh"  # library code changed: every page re-executes
    assert build() == "cached"
    stamp = project / "_build" / ".results_stamp"
    result = project / "results" / "g" / "r" / "new.nc"
    result.parent.mkdir(parents=True)
    result.write_bytes(b"")
    os.utime(result, (stamp.stat().st_mtime + 10,) * 2)
    assert build() == "fresh"  # a newer result


def test_extraction_cache_key_follows_the_code_extraction_imports(tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    import numpy as np
    import xarray as xr

    import analysis_lib
    from analysis_lib import codehash, extraction

    copy = tmp_path / "pkg" / "analysis_lib"
    shutil.copytree(
        Path(analysis_lib.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(codehash, "package_dir", lambda: copy)
    monkeypatch.setenv("ANALYSIS_LIB_DATA", str(tmp_path / "data"))
    calls = []

    def fake_extract(model, stim, **kwargs):
        calls.append(model)
        return xr.DataArray(np.zeros((2, 3)), dims=("time", "neuron"), name="responses")

    monkeypatch.setattr(extraction, "extract", fake_extract)

    def extract():
        extraction.cached_extract("tiny-bert", "default-story", stimulus_kwargs={"n_volumes": 8})
        return len(calls)

    assert extract() == 1
    assert extract() == 1  # a cache hit
    core = copy / "encoding" / "core.py"  # not imported by extraction
    core.write_text(core.read_text() + "\n\ndef _edited():\n    pass\n")
    assert extract() == 1
    hrf = copy / "hrf.py"  # imported by extraction
    hrf.write_text(hrf.read_text() + "\n\ndef _edited():\n    pass\n")
    assert extract() == 2
    assert extract() == 2

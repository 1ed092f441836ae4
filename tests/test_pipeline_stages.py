"""The stage functions: one set of defaults (dataclass = CLI = notebooks = configs),
results equal to the library functions they wrap, one provenance schema, and the checks of
what a stage combines (issue 17: items 1, 2, 4, 5 and the parameter items of 10-12)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from analysis_lib import pipeline
from analysis_lib.cli import main
from analysis_lib.io import read_netcdf, write_netcdf
from analysis_lib.pipeline import (
    DecomposeParams,
    EncodeParams,
    ExtractParams,
    GroupParams,
    MetricsParams,
    NetworksParams,
)
from analysis_lib.runner import notebook_parameters

ROOT = Path(__file__).parents[1]
TR = 2.0

# notebook parameter -> (stage parameters class, field); every other parameter of the
# notebook must be listed in NOTEBOOK_ONLY, so that a new parameter cannot go unchecked
NOTEBOOKS = {
    "10_atoms.py": {
        "model": (ExtractParams, "model"),
        "stimulus": (ExtractParams, "stimulus"),
        "site": (ExtractParams, "site"),
        "device": (ExtractParams, "device"),
        "n_atoms": (DecomposeParams, "n_atoms"),
        "alpha": (DecomposeParams, "alpha"),
        "normalize": (DecomposeParams, "normalize"),
        "seed": (DecomposeParams, "seed"),
    },
    "11_encode.py": {
        "n_perm": (EncodeParams, "n_perm"),
        "null": (EncodeParams, "null"),
        "noise_model": (EncodeParams, "noise_model"),
        "confounds_drop_first": (EncodeParams, "confounds_drop_first"),
        "cv": (EncodeParams, "cv"),
        "seed": (EncodeParams, "seed"),
        "device": (EncodeParams, "device"),
    },
    "12_group.py": {
        "n_perm": (GroupParams, "n_perm"),
        "seed": (GroupParams, "seed"),
        "atlas": (NetworksParams, "atlas"),
        "correction": (NetworksParams, "correction"),
        "threshold": (NetworksParams, "threshold"),
        "n_perm_networks": (NetworksParams, "n_perm"),
        "rule": (NetworksParams, "rule"),
        "min_r": (NetworksParams, "min_r"),
        "n_shift": (NetworksParams, "n_shift"),
        "shift_fit": (NetworksParams, "shift_fit"),
    },
}
NOTEBOOK_ONLY = {
    "10_atoms.py": {"stimulus_options", "results_dir", "run_id"},
    "11_encode.py": {
        "model",
        "atoms_path",
        "dataset",
        "subjects",
        "confounds",
        "results_dir",
        "run_id",
    },
    "12_group.py": {
        "model",
        "atoms_path",
        "encodings",
        "subjects",
        "dataset",
        "results_dir",
        "run_id",
    },
}
# command -> (parameters class, the command's required non-parameter arguments)
COMMANDS = {
    "extract": (ExtractParams, ["--model", "m", "--stimulus", "s", "--out", "o.nc"]),
    "decompose": (DecomposeParams, ["--responses", "r.nc", "--out", "o.nc"]),
    "encode": (EncodeParams, ["--atoms", "a.nc", "--bold", "b.nc", "--out", "o.nc"]),
    "group": (GroupParams, ["--inputs", "a.nc", "b.nc", "--out", "o.nc"]),
    "networks": (NetworksParams, ["--group", "g.nc", "--out", "o.nc"]),
    "metrics": (MetricsParams, ["--atoms", "a", "--group", "g", "--networks", "n", "--out", "o"]),
}


def notebook_disagreements(path: Path, mapping: dict, only: set) -> list[str]:
    """Parameters of a notebook whose default differs from the dataclass default."""
    found = notebook_parameters(path)
    problems = []
    for name, text in found.items():
        if name in mapping:
            cls, field = mapping[name]
            default = cls.defaults()[field]
            value = eval(text)  # papermill gives the default's source text
            value = tuple(value) if isinstance(value, list) else value
            if value != default:
                problems.append(
                    f"{path.name}: {name} = {value!r}, {cls.__name__}.{field} = {default!r}"
                )
        elif name not in only:
            problems.append(f"{path.name}: parameter {name!r} is not checked against a stage")
    return problems


def cli_disagreements(command: str, cls, argv: list[str]) -> list[str]:
    module = importlib.import_module(f"analysis_lib.cli.{command}")
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    args = parser.parse_args(argv)
    problems = []
    for name, default in cls.defaults().items():
        if f"--{name.replace('_', '-')}" in argv:
            continue  # required on the command line
        if not hasattr(args, name):
            problems.append(f"{command}: no option for {name}")
            continue
        value = getattr(args, name)
        value = tuple(value) if isinstance(value, list) else value
        if value != default:
            problems.append(f"{command} --{name}: {value!r}, {cls.__name__}: {default!r}")
    return problems


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS))
def test_notebook_defaults_are_the_dataclass_defaults(notebook):
    path = ROOT / "notebooks" / notebook
    assert notebook_disagreements(path, NOTEBOOKS[notebook], NOTEBOOK_ONLY[notebook]) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_defaults_are_the_dataclass_defaults(command):
    cls, argv = COMMANDS[command]
    assert cli_disagreements(command, cls, argv) == []


def test_the_defaults_checks_fail_on_a_disagreement(tmp_path, monkeypatch):
    text = (ROOT / "notebooks" / "12_group.py").read_text()
    assert 'correction = "uncorrected"' in text
    bad = tmp_path / "12_group.py"
    bad.write_text(text.replace('correction = "uncorrected"', 'correction = "fdr-param"'))
    problems = notebook_disagreements(bad, NOTEBOOKS["12_group.py"], NOTEBOOK_ONLY["12_group.py"])
    assert problems == [
        "12_group.py: correction = 'fdr-param', NetworksParams.correction = 'uncorrected'"
    ]
    bad.write_text(text.replace("seed = 0\n", "seed = 0\nnew_option = 1\n"))
    problems = notebook_disagreements(bad, NOTEBOOKS["12_group.py"], NOTEBOOK_ONLY["12_group.py"])
    assert problems == ["12_group.py: parameter 'new_option' is not checked against a stage"]
    # a CLI option whose default is not the dataclass's
    from analysis_lib.cli import networks as cli_networks

    original = cli_networks.add_arguments

    def patched(parser):
        original(parser)
        parser.set_defaults(threshold=0.05)

    monkeypatch.setattr(cli_networks, "add_arguments", patched)
    assert cli_disagreements("networks", *COMMANDS["networks"]) == [
        "networks --threshold: 0.05, NetworksParams: 0.01"
    ]


def test_validated_defaults_and_validate_agree():
    """The validated voxel threshold is the default everywhere (c392f1a)."""
    import inspect

    from analysis_lib import validation

    assert (NetworksParams().correction, NetworksParams().threshold) == ("uncorrected", 0.01)
    sig = inspect.signature(validation.run_validation).parameters
    assert sig["correction"].default == NetworksParams().correction
    assert sig["threshold"].default == NetworksParams().threshold
    assert sig["n_perm"].default == NetworksParams().n_perm
    assert sig["n_perm_group"].default == GroupParams().n_perm
    assert sig["alpha"].default == DecomposeParams().alpha
    # validate runs the book's Study A settings (validation.STUDY_A), not options
    assert validation.STUDY_A["correction"] == NetworksParams().correction
    assert validation.STUDY_A["threshold"] == NetworksParams().threshold
    # its --rule default is the book's calibrated rule, not the stage's default (which needs
    # no BOLD)
    assert validation.STUDY_A["rule"] == "network-shift" != NetworksParams().rule
    assert cli_disagreements("validate", NetworksParams, []) == [
        "validate: no option for atlas",
        "validate: no option for correction",
        "validate: no option for threshold",
        "validate: no option for sign",
        "validate: no option for n_perm",
        "validate: no option for null",
        "validate: no option for subcortex",
        "validate: no option for alpha_assign",
        "validate --rule: 'network-shift', NetworksParams: 'spatial+network'",
        "validate: no option for min_r",
        "validate: no option for n_shift",
        "validate: no option for shift_fit",
    ]


def test_choices_match_the_library():
    from analysis_lib import decomposition, extraction, hrf, models
    from analysis_lib.encoding import core, nulls
    from analysis_lib.pipeline import _decompose as decompose
    from analysis_lib.pipeline import _encode as encode
    from analysis_lib.pipeline import _extract as extract
    from analysis_lib.pipeline import _networks as stage_networks

    assert set(extract.SITES) == set(models.SITES)
    assert set(extract.HRF_MODELS) == set(hrf.HRF_MODELS)
    assert set(extract.WORD_POOLING) == set(extraction.WORD_POOLING)
    solvers = getattr(decomposition, "SOLVERS", None) or decomposition.BACKENDS
    assert set(decompose.SOLVERS) == set(solvers)
    assert set(decompose.NORMALIZATIONS) == set(decomposition.NORMALIZATIONS)
    assert set(decompose.REFINEMENTS) == set(decomposition.REFINEMENTS)
    assert set(encode.NULLS) == set(nulls.NULLS)
    assert set(encode.NOISE_MODELS) == set(core.NOISE_MODELS)
    corr = importlib.import_module("analysis_lib.networks.correspondence")
    assert set(stage_networks.CORRECTIONS) == set(corr.CORRECTIONS)
    assert set(stage_networks.SIGNS) == set(corr.SIGNS)


def test_configs_use_the_stage_parameter_names():
    import yaml

    for name in ("default.yaml", "full.yaml"):
        config = yaml.safe_load((ROOT / "configs" / name).read_text())
        for grid in config["grids"]:
            notebook = Path(grid["notebook"]).name
            declared = notebook_parameters(ROOT / grid["notebook"])
            for key in {**(grid.get("fixed") or {}), **(grid.get("parameters") or {})}:
                assert key in declared, (name, grid["name"], key)
            if notebook == "12_group.py":
                # issue 17 item 1: the subjects are named, no glob decides them
                fixed = grid["fixed"]
                assert "*" not in fixed["encodings"] and fixed["subjects"], grid["name"]
                encode = next(
                    g
                    for g in config["grids"]
                    if g["name"] in grid["depends_on"]
                    and Path(g["notebook"]).name == "11_encode.py"
                )
                assert fixed["subjects"] == encode["fixed"]["subjects"], grid["name"]


# ------------------------------------------------------------------ synthetic data


def _atoms(rng, n_time=80, n_atoms=3):
    time = TR * np.arange(n_time)
    return xr.Dataset(
        {"atoms": (("time", "atom"), rng.standard_normal((n_time, n_atoms)))},
        coords={"time": time, "atom": np.arange(n_atoms)},
    )


def _bold(rng, atoms, subject, n_vox=30, dataset="toy", space="roi"):
    a = atoms["atoms"].values
    values = a @ rng.standard_normal((a.shape[1], n_vox)) + rng.standard_normal(
        (a.shape[0], n_vox)
    )
    return xr.DataArray(
        values,
        dims=("time", "voxel"),
        coords={"time": atoms["time"].values, "roi": ("voxel", [f"r{v}" for v in range(n_vox)])},
        attrs={"space": space, "tr": TR, "subject": subject, "dataset": dataset},
        name="bold",
    )


@pytest.fixture
def encodings(rng, tmp_path):
    atoms = _atoms(rng)
    files = []
    for s in range(3):
        enc = pipeline.encode(EncodeParams(n_perm=0, cv=0), atoms, _bold(rng, atoms, f"s{s}"))
        files.append(write_netcdf(enc, tmp_path / f"encoding_s{s}.nc"))
    return atoms, files


def test_stages_equal_the_library_functions(rng, encodings):
    from analysis_lib.decomposition import SparseDictionary
    from analysis_lib.encoding import fit_encoding, group_encoding

    atoms, files = encodings
    bold = _bold(rng, atoms, "s9")
    enc = pipeline.encode(EncodeParams(n_perm=20, cv=0, seed=3), atoms, bold)
    ref = fit_encoding(atoms, bold, n_perm=20, cv=None, seed=3, progress=False)
    for var in ("beta", "tstat", "pvalue_perm", "pvalue_fwe"):
        np.testing.assert_array_equal(enc[var].values, ref[var].values)
    assert enc.attrs["fit_params"] == ref.attrs["params"]
    g = pipeline.group(GroupParams(n_perm=50), files)
    ref = group_encoding([read_netcdf(f) for f in files], n_perm=50, progress=False)
    for var in ("tstat", "pvalue_perm", "reliability"):
        np.testing.assert_array_equal(g[var].values, ref[var].values)
    assert g.attrs["subjects"] == ["s0", "s1", "s2"]
    responses = xr.DataArray(
        rng.standard_normal((40, 60)).astype(np.float32),
        dims=("time", "neuron"),
        coords={"time": np.arange(40.0), "layer": ("neuron", np.repeat([0, 1], 30))},
    )
    ds = pipeline.decompose(DecomposeParams(n_atoms=3, max_iter=20), responses)
    sd = SparseDictionary(n_atoms=3, max_iter=20, verbose=False).fit(responses)
    np.testing.assert_array_equal(ds["atoms"].values, sd.atoms_)
    np.testing.assert_array_equal(ds["loadings"].values, sd.loadings_)


def test_one_provenance_schema(rng, encodings):
    from analysis_lib.pipeline._metrics import atoms_digest

    atoms, files = encodings
    enc = read_netcdf(files[0])
    g = pipeline.group(GroupParams(n_perm=20), files)
    for ds, stage, inputs in [
        (enc, "encode", {"input_atoms_sha256", "input_bold_sha256"}),
        (g, "group", {"input_atoms_sha256", "input_maps_sha256"}),
    ]:
        assert ds.attrs["stage"] == stage
        assert {"analysis_lib_version", "params"} <= set(ds.attrs)
        assert inputs <= set(ds.attrs)
        assert "atoms_path" not in ds.attrs and "atoms_file" not in ds.attrs
    # the group records the subjects' atoms digest, which the metrics stage recomputes
    assert g.attrs["input_atoms_sha256"] == enc.attrs["input_atoms_sha256"]
    assert atoms_digest(atoms) == enc.attrs["input_atoms_sha256"]


# ------------------------------------------------------------------ issue 17


def test_group_takes_exactly_the_named_subjects(encodings, tmp_path):
    """Item 1: a subject list that shrank does not pick up the old files."""
    _, files = encodings
    g = pipeline.group(GroupParams(subjects=["s2", "s0"], n_perm=20), files[::2])
    assert g.attrs["subjects"] == ["s2", "s0"] and g.attrs["n_subjects"] == 2
    with pytest.raises(ValueError, match=r"inputs of subjects not named: s1 \(.*encoding_s1"):
        pipeline.group(GroupParams(subjects=["s0", "s2"], n_perm=20), files)
    with pytest.raises(ValueError, match=r"no input for \['s3'\]"):
        pipeline.group(GroupParams(subjects=["s0", "s3"], n_perm=20), files)
    assert pipeline.encoding_files(tmp_path, ["s0", "s1"]) == files[:2]
    with pytest.raises(FileNotFoundError, match=r"encoding_s7.nc"):
        pipeline.encoding_files(tmp_path, ["s0", "s7"])
    # the notebook reads exactly the files of its subjects
    source = (ROOT / "notebooks" / "12_group.py").read_text()
    assert "glob" not in source and "encoding_files(encodings, group_params.subjects)" in source
    assert "subjects" in notebook_parameters(ROOT / "notebooks" / "12_group.py")


def test_group_refuses_what_should_not_be_combined(rng, encodings, tmp_path):
    """Item 2: the same file three times, other atoms, other datasets, a group file."""
    atoms, files = encodings
    rc = main(
        [
            "group",
            "--inputs",
            *map(str, [files[0]] * 3),
            "--quiet",
            "--out",
            str(tmp_path / "g.nc"),
        ]
    )
    assert rc == 2 and not (tmp_path / "g.nc").exists()
    with pytest.raises(ValueError, match=r"subject 's0' is given twice.*encoding_s0.nc"):
        pipeline.group(GroupParams(n_perm=20), [files[0]] * 3)
    other = pipeline.encode(EncodeParams(n_perm=0, cv=0), _atoms(rng), _bold(rng, atoms, "s5"))
    path = write_netcdf(other, tmp_path / "other_atoms.nc")
    with pytest.raises(ValueError, match=r"atoms that differ: .*encoding_s0.nc.*other_atoms.nc"):
        pipeline.group(GroupParams(n_perm=20), [*files, path])
    story = pipeline.encode(
        EncodeParams(n_perm=0, cv=0), atoms, _bold(rng, atoms, "s6", dataset="phantom-null")
    )
    path = write_netcdf(story, tmp_path / "null.nc")
    with pytest.raises(ValueError, match=r"datasets of group inputs differ: .*s0.nc has toy but"):
        pipeline.group(GroupParams(n_perm=20), [*files, path])
    renamed = read_netcdf(files[1]).assign_attrs(subject="s8")  # same BOLD, another name
    path = write_netcdf(renamed, tmp_path / "copy.nc")
    with pytest.raises(ValueError, match="same BOLD data"):
        pipeline.group(GroupParams(n_perm=20), [*files, path])
    g = write_netcdf(pipeline.group(GroupParams(n_perm=20), files), tmp_path / "group.nc")
    with pytest.raises(ValueError, match=r"group.nc: is a group result"):
        pipeline.group(GroupParams(n_perm=20), [*files, g])


def _gray_inputs(rng, *, n_sub=3, atoms_seed=0):
    """Atoms and subject BOLD on the grayordinates of :func:`_gray_group` (new draws)."""
    g = np.arange(0, 59412, 97)
    atoms = _atoms(np.random.default_rng(atoms_seed), n_atoms=2)
    bolds = [
        xr.DataArray(
            rng.standard_normal((80, g.size)),
            dims=("time", "voxel"),
            coords={"time": atoms["time"].values, "grayordinate": ("voxel", g)},
            attrs={"space": "fsLR32k", "tr": TR, "subject": f"sub-{s}", "dataset": "toy"},
        )
        for s in range(n_sub)
    ]
    return atoms, bolds


def _gray_group(tmp_path, rng, *, n_sub=3, atoms_seed=0, with_inputs=False):
    """Subject encodings and their group on a few grayordinates of the yeo7 atlas (and,
    with ``with_inputs``, the atoms and BOLD they were fitted on)."""
    g = np.arange(0, 59412, 97)
    r = np.random.default_rng(atoms_seed)
    atoms = _atoms(r, n_atoms=2)
    files, bolds = [], []
    for s in range(n_sub):
        bold = xr.DataArray(
            rng.standard_normal((80, g.size)),
            dims=("time", "voxel"),
            coords={"time": atoms["time"].values, "grayordinate": ("voxel", g)},
            attrs={"space": "fsLR32k", "tr": TR, "subject": f"sub-{s}", "dataset": "toy"},
        )
        enc = pipeline.encode(EncodeParams(n_perm=0, cv=0), atoms, bold)
        files.append(write_netcdf(enc, tmp_path / f"seed{atoms_seed}_sub-{s}.nc"))
        bolds.append(bold)
    group = pipeline.group(GroupParams(n_perm=20), files)
    group = write_netcdf(group, tmp_path / f"group{atoms_seed}.nc")
    return (files, group, atoms, bolds) if with_inputs else (files, group)


def test_networks_checks_group_and_subjects(rng, tmp_path):
    """Items 2 and 5: subjects of other atoms, a subject file as --group, alpha outside (0, 1)."""
    files, group, atoms0, bolds0 = _gray_group(tmp_path, rng, with_inputs=True)
    other, _ = _gray_group(tmp_path, rng, atoms_seed=1)
    params = NetworksParams(atlas="yeo7", n_perm=10)
    res = pipeline.networks(params, group, files)
    assert res.attrs["stage"] == "networks" and res.attrs["tests"] == "spatial+network"
    assert res.attrs["input_atoms_sha256"] == read_netcdf(files[0]).attrs["input_atoms_sha256"]
    with pytest.raises(ValueError, match=r"seed1_sub-0.nc was fitted on other atoms.*group0.nc"):
        pipeline.networks(params, group, other)
    with pytest.raises(ValueError, match="--subjects were fitted on atoms that differ"):
        pipeline.networks(params, group, [*other[:1], *files[1:]])
    with pytest.raises(ValueError, match=r"holds subjects \['sub-0', 'sub-1'\] but the group"):
        pipeline.networks(params, group, files[:2])
    out = tmp_path / "corr.nc"
    base = ["networks", "--atlas", "yeo7", "--n-perm", "10", "--quiet", "--out", str(out)]
    assert main([*base, "--group", str(files[0])]) == 2
    assert main([*base, "--group", str(group), "--alpha", "2"]) == 2
    assert main([*base, "--group", str(group), "--alpha", "-0.1"]) == 2
    assert main([*base, "--group", str(group), "--threshold", "1"]) == 2
    assert main([*base, "--group", str(group), "--alpha-assign", "0"]) == 2
    assert not out.exists()
    with pytest.raises(ValueError, match="single-subject encoding"):
        pipeline.networks(params, files[0])
    # the calibrated rule: network-level test and effect bound, from the subject encodings
    net = NetworksParams(atlas="yeo7", n_perm=0, rule="network", min_r=0.03)
    res = pipeline.networks(net, group, files)
    r = res["network_r"].values
    assert np.isfinite(r).any() and np.nanmax(np.abs(r)) <= 1
    np.testing.assert_array_equal(
        res["significant"].values, (res["p_fdr"].values < 0.05) & (np.abs(r) >= 0.03)
    )
    with pytest.raises(ValueError, match="needs the subject encodings"):
        pipeline.networks(net, group)
    with pytest.raises(ValueError, match="no 'dof' attr"):
        no_dof = []
        for f in files:
            ds = read_netcdf(f)
            del ds.attrs["dof"]
            no_dof.append(ds)
        pipeline.networks(net, group, no_dof)
    # the temporal rule needs the atoms and BOLD, on the maps' voxels
    shift = NetworksParams(atlas="yeo7", n_perm=0, rule="network-shift", n_shift=20)
    with pytest.raises(ValueError, match="needs the atoms and the subjects' BOLD"):
        pipeline.networks(shift, group, files)
    atoms, bolds = atoms0, bolds0
    with pytest.raises(ValueError, match="bold holds 2 subjects"):
        pipeline.networks(shift, group, files, atoms=atoms, bold=bolds[:2])
    # other BOLD than the encodings were fitted on (fresh draws), or in another order
    with pytest.raises(ValueError, match=r"sub-0.nc: the BOLD given .* is not the BOLD"):
        pipeline.networks(shift, group, files, atoms=atoms, bold=_gray_inputs(rng)[1])
    with pytest.raises(ValueError, match="not the BOLD this encoding was fitted on"):
        pipeline.networks(shift, group, files, atoms=atoms, bold=bolds[::-1])
    res = pipeline.networks(shift, group, files, atoms=atoms, bold=bolds)
    assert {"network_b", "p_temporal"} <= set(res.data_vars)
    np.testing.assert_array_equal(res["p"].values, res["p_temporal"].values)
    assert res.attrs["stage"] == "networks"
    moved = [b.assign_coords(grayordinate=("voxel", b["grayordinate"].values + 1)) for b in bolds]
    with pytest.raises(ValueError, match="not on the maps' voxels"):
        pipeline.networks(shift, group, files, atoms=atoms, bold=moved)
    for bad in (2.0, -0.1, 0.0, 1.0):
        with pytest.raises(ValueError, match="threshold must be"):
            NetworksParams(threshold=bad)
        with pytest.raises(ValueError, match="alpha_assign must be"):
            NetworksParams(alpha_assign=bad)


@pytest.mark.parametrize("defect", ["inf volume", "all NaN"])
def test_encode_refuses_a_subject_with_no_fitted_voxel(rng, tmp_path, defect):
    """Item 4: one inf volume (or all NaN) is an error naming the subject, not 0 voxels."""
    atoms = _atoms(rng)
    bold = _bold(rng, atoms, "sub-07")
    if defect == "inf volume":
        bold[5, :] = np.inf
    else:
        bold[:] = np.nan
    with pytest.raises(ValueError, match="toy sub-07: no voxel could be fitted"):
        pipeline.encode(EncodeParams(n_perm=10, cv=0), atoms, bold)
    write_netcdf(atoms, tmp_path / "atoms.nc")
    write_netcdf(bold, tmp_path / "bold.nc")
    out = tmp_path / "enc.nc"
    rc = main(
        [
            "encode",
            "--atoms",
            str(tmp_path / "atoms.nc"),
            "--bold",
            str(tmp_path / "bold.nc"),
            "--n-perm",
            "0",
            "--cv",
            "0",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert rc == 2 and not out.exists()


def test_bad_options_are_one_line_errors(tmp_path, capsys, monkeypatch):
    """Items 10-11: --tr 0, --n-perm -5, --confounds-drop-first -5, --device cuda, --out dir."""
    cases = [
        (
            ["extract", "--model", "tiny-bert", "--stimulus", "default-story", "--tr", "0"],
            "extract: tr must be > 0, got 0.0",
        ),
        (
            ["encode", "--atoms", "a.nc", "--bold", "b.nc", "--n-perm", "-5"],
            "encode: n_perm must be >= 0, got -5",
        ),
        (
            ["encode", "--atoms", "a.nc", "--bold", "b.nc", "--confounds-drop-first", "-5"],
            "encode: confounds_drop_first must be >= 0, got -5",
        ),
        (
            ["group", "--inputs", "a.nc", "b.nc", "--n-perm", "-5"],
            "group: n_perm must be >= 1, got -5",
        ),
    ]
    for argv, message in cases:
        assert main([*argv, "--out", str(tmp_path / "x.nc")]) == 2
        err = capsys.readouterr().err
        assert err.strip() == f"error: {message}", err
    # decompose --out <existing folder>: refused before anything is read or fitted
    calls = []
    monkeypatch.setattr(pipeline, "decompose", lambda *a, **k: calls.append(a))
    monkeypatch.setattr("analysis_lib.io.read_netcdf", lambda *a, **k: calls.append(a))
    assert main(["decompose", "--responses", "r.nc", "--out", str(tmp_path)]) == 2
    assert "is an existing folder" in capsys.readouterr().err and calls == []


def test_cuda_on_cpu_only_torch_is_one_line(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    for argv in (
        ["extract", "--model", "tiny-bert", "--stimulus", "default-story"],
        ["decompose", "--responses", "r.nc"],
        ["encode", "--atoms", "a.nc", "--bold", "b.nc"],
        ["group", "--inputs", "a.nc", "b.nc"],
    ):
        assert main([*argv, "--device", "cuda", "--out", str(tmp_path / "x.nc")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "device 'cuda' is not available" in err[0], err


def test_notebook_parameters_are_checked_before_work():
    """Item 12: subjects '[]', subjects sub-01 (a string), n_atoms abc."""
    from analysis_lib.pipeline.params import subject_list

    with pytest.raises(ValueError, match="decompose: n_atoms must be an integer, got 'abc'"):
        DecomposeParams(n_atoms="abc")
    with pytest.raises(ValueError, match="subjects must be a list of subject ids, got 'sub-01'"):
        subject_list("sub-01")
    with pytest.raises(ValueError, match=r"at least 1 subject\(s\), got \[\]"):
        subject_list([])
    with pytest.raises(
        ValueError, match="group: subjects must be a list of str or None, got 'sub-01'"
    ):
        GroupParams(subjects="sub-01")
    with pytest.raises(ValueError, match="at least 2 subject"):
        GroupParams(subjects=[])
    with pytest.raises(ValueError, match=r"lists \['s1'\] more than once"):
        GroupParams(subjects=["s1", "s1"])
    # the notebooks build their parameters (and check subjects) in their first code cell,
    # before reading, extracting or fitting anything
    for name, checks in [
        ("10_atoms.py", ("ExtractParams.from_mapping(", "DecomposeParams(")),
        ("11_encode.py", ("EncodeParams(", "subject_list(subjects)")),
        ("12_group.py", ("GroupParams(", "NetworksParams(")),
    ]:
        text = (ROOT / "notebooks" / name).read_text()
        start = text.index("# %%", text.index('tags=["parameters"]'))
        works = ("extract(", "read_netcdf(", "datasets.load(", "encoding_files(")
        first_work = min(text.index(w, start) for w in works if w in text[start:])
        for check in checks:
            assert text.index(check) < first_work, (name, check)


def test_notebook_refuses_a_string_subject_list(tmp_path):
    """Item 12, end to end: refused before work starts (the runner checks the declared
    types first; the notebook's own check is the second line of defence)."""
    import papermill

    from analysis_lib.runner import execute_notebook

    out = tmp_path / "enc.ipynb"
    with pytest.raises((papermill.PapermillExecutionError, ValueError), match="must be a list"):
        execute_notebook(
            ROOT / "notebooks" / "11_encode.py",
            out,
            {
                "subjects": "sub-01",
                "atoms_path": str(tmp_path / "none.nc"),
                "results_dir": str(tmp_path / "res"),
            },
            progress_bar=False,
        )
    assert not (tmp_path / "res").exists()


def test_params_are_frozen_dataclasses():
    for cls in pipeline.STAGES.values():
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
        cls()  # the defaults pass the checks


def test_metrics_stage_and_cli(rng, tmp_path):
    files, group = _gray_group(tmp_path, rng)
    atoms = _atoms(np.random.default_rng(0), n_atoms=2)  # the atoms of _gray_group
    loadings = np.where(rng.random((2, 40)) < 0.3, rng.standard_normal((2, 40)), 0.0)
    decomposition = atoms.assign(
        loadings=(("atom", "neuron"), loadings),
        r2=(("neuron",), rng.random(40)),
    ).assign_coords(layer=("neuron", np.repeat([0, 1], 20)))
    decomposition_path = write_netcdf(decomposition, tmp_path / "atoms.nc")
    params = NetworksParams(atlas="yeo7", n_perm=10)
    corr = pipeline.networks(params, group, files)
    corr_path = write_netcdf(corr, tmp_path / "networks.nc")
    out = tmp_path / "metrics.nc"
    argv = ["metrics", "--atoms", str(decomposition_path), "--group", str(group)]
    assert main([*argv, "--networks", str(corr_path), "--out", str(out)]) == 0
    result = read_netcdf(out)
    assert result.attrs["stage"] == "metrics"
    assert {"balance", "map_jaccard", "atoms_per_network"} <= set(result.data_vars)
    assert int(result["atoms_per_network"].sum()) + result.attrs["n_unassigned"] == 2
    # another threshold than the correspondence's, or other atoms: refused
    with pytest.raises(ValueError, match=r"threshold 0\.05 differs"):
        pipeline.metrics(
            MetricsParams(threshold=0.05), decomposition, read_netcdf(group), corr, None
        )
    other = decomposition.assign(atoms=decomposition["atoms"] + 1.0)
    with pytest.raises(ValueError, match="fitted on other atoms"):
        pipeline.metrics(MetricsParams(), other, read_netcdf(group), corr, None)


def test_networks_cli_runs_the_calibrated_rule(rng, tmp_path):
    """`networks --rule network-shift`: the atoms from --atoms, each subject's BOLD loaded
    from the dataset its encoding records (pipeline.subject_bold) and checked against the
    encoding's digest; clear errors without the inputs."""
    import json

    from analysis_lib import datasets
    from analysis_lib.pipeline import subject_bold

    subs = ["sub-01", "sub-02", "sub-03"]
    bolds = [datasets.load("phantom-null", s) for s in subs]
    time = bolds[0]["time"].values
    atoms = xr.Dataset(
        {"atoms": (("time", "atom"), rng.standard_normal((time.size, 2)))},
        coords={"time": time, "atom": [0, 1]},
    )
    files = [
        write_netcdf(
            pipeline.encode(EncodeParams(n_perm=0, cv=0), atoms, b, subject=s),
            tmp_path / f"enc_{s}.nc",
        )
        for s, b in zip(subs, bolds, strict=True)
    ]
    group = write_netcdf(pipeline.group(GroupParams(n_perm=20), files), tmp_path / "group.nc")
    atoms_nc = write_netcdf(atoms, tmp_path / "atoms.nc")
    loaded = subject_bold(files)
    assert [b.attrs["subject"] for b in loaded] == subs
    out = tmp_path / "net.nc"
    base = ["networks", "--group", str(group), "--subjects", *map(str, files), "--quiet"]
    base += ["--rule", "network-shift", "--min-r", "0.16", "--n-shift", "50", "--n-perm", "0"]
    assert main([*base, "--out", str(out)]) == 2  # no --atoms
    assert not out.exists()
    assert main([*base, "--atoms", str(atoms_nc), "--out", str(out)]) == 0
    res = read_netcdf(out)
    assert {"network_b", "p_temporal", "significant"} <= set(res.data_vars)
    assert json.loads(res.attrs["params"])["rule"] == "network-shift"
    # BOLD of another dataset than the one fitted: refused by its digest
    with pytest.raises(ValueError, match="not the BOLD this encoding was fitted on"):
        pipeline.networks(
            NetworksParams(rule="network-shift", n_perm=0, n_shift=50, atlas="cole-anticevic"),
            group,
            files,
            atoms=atoms,
            bold=subject_bold(files, "phantom-story"),
        )
    no_attrs = read_netcdf(files[0])
    del no_attrs.attrs["dataset"]
    with pytest.raises(ValueError, match="records no dataset or subject"):
        subject_bold([no_attrs])

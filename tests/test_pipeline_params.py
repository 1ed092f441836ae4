"""The shared stage-parameter core: defaults, checks, and the CLI built from the fields."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from analysis_lib.cli._params import add_params_arguments, params_from_args
from analysis_lib.pipeline import StageParams, param, stage_provenance


@dataclass(frozen=True)
class ToyParams(StageParams):
    stage = "toy"
    n_perm: int = param(1000, "null surrogates", minimum=0)
    alpha: float = param(0.01, "threshold", minimum=0, maximum=1, exclusive_minimum=True)
    null: str = param("shift", "surrogate", choices=("shift", "phase"))
    subjects: tuple[str, ...] | None = param(None, "subjects")
    chunk: int | None = param(None, "voxels per chunk", minimum=1)
    quiet: bool = param(False, "no progress bars")


def test_checks_name_the_parameter():
    with pytest.raises(ValueError, match="toy: n_perm must be >= 0, got -5"):
        ToyParams(n_perm=-5)
    with pytest.raises(ValueError, match="alpha must be <= 1"):
        ToyParams(alpha=2)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        ToyParams(alpha=0)
    with pytest.raises(ValueError, match="null must be one of"):
        ToyParams(null="spin")
    with pytest.raises(ValueError, match=r"n_perm must be an integer, got .abc."):
        ToyParams(n_perm="abc")


def test_unknown_key_names_the_closest():
    with pytest.raises(ValueError, match="did you mean 'n_perm'"):
        ToyParams.from_mapping({"n_prem": 3})


def test_lists_become_tuples_and_params_are_frozen():
    p = ToyParams(subjects=["s01", "s02"])
    assert p.subjects == ("s01", "s02")
    with pytest.raises(AttributeError):
        p.n_perm = 3  # type: ignore[misc]


def test_cli_options_match_the_dataclass_defaults():
    parser = argparse.ArgumentParser()
    add_params_arguments(parser, ToyParams)
    args = parser.parse_args([])
    assert params_from_args(ToyParams, args) == ToyParams()
    args = parser.parse_args(
        ["--n-perm", "5", "--null", "phase", "--subjects", "a", "b", "--chunk", "3", "--quiet"]
    )
    p = params_from_args(ToyParams, args)
    assert (p.n_perm, p.null, p.subjects, p.chunk, p.quiet) == (5, "phase", ("a", "b"), 3, True)
    with pytest.raises(SystemExit):
        parser.parse_args(["--null", "spin"])


def test_provenance_schema():
    attrs = stage_provenance(ToyParams(), atoms="ab" * 32)
    assert attrs["stage"] == "toy"
    assert set(attrs) == {"stage", "analysis_lib_version", "params", "input_atoms_sha256"}
    assert '"n_perm": 1000' in attrs["params"]

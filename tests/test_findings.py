"""The findings box (book/_findings.py) and the summaries it shares with the chapters."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from analysis_lib.isc.twins import twin_summary

ROOT = Path(__file__).resolve().parent.parent


def _twin_result(p_twin, p_mz, diff):
    nets = [f"net{i}" for i in range(len(p_twin))]
    return xr.Dataset(
        {
            "twins_p_twin": ("network", np.asarray(p_twin, float)),
            "twins_p_mz": ("network", np.asarray(p_mz, float)),
            "twins_difference": ("network", np.asarray(diff, float)),
            "twins_n_pairs": ("network", np.full(len(p_twin), 7)),
        },
        coords={"network": nets},
    )


def test_twin_summary_claims_only_what_survives_holm():
    # uncorrected, all three pass 0.05; Holm (0.06, 0.06, 0.04 -> 0.06 monotone) leaves none
    r = twin_summary(_twin_result([0.02, 0.03, 0.04], [0.5, np.nan, 0.01], [0.1, 0.2, -0.1]))
    assert r["significant_uncorrected"] == ["net0", "net1", "net2"]
    assert r["significant"] == [] and r["holds"] is False
    assert r["n_positive"] == 2 and r["n_pairs"] == 7 and r["n_networks"] == 3
    assert r["mz_significant"] == ["net2"]  # NaN left out of the family: 2 tests, 0.02
    r = twin_summary(_twin_result([0.001, 0.3, 0.04], [1, 1, 1], [0.1, 0.2, 0.3]))
    assert r["significant"] == ["net0"] and r["holds"] is True
    with pytest.raises(ValueError, match="pairs='twins'"):
        twin_summary(xr.Dataset())


def test_findings_box_says_not_yet_run_when_inputs_are_missing(monkeypatch, tmp_path):
    sys.path.insert(0, str(ROOT / "book"))
    try:
        import _findings
    finally:
        sys.path.remove(str(ROOT / "book"))

    def missing(root):
        raise _findings.Missing("the thing")

    def present(root):
        return f"computed from {root.name}"

    monkeypatch.setattr(
        _findings,
        "FINDINGS",
        (
            _findings.Finding("A", "real", "q1", missing),
            _findings.Finding("B", "real", "q2", present),
        ),
    )
    table = _findings.findings_table(tmp_path)
    assert table.finding.tolist() == [
        "**not yet run** (missing: the thing)",
        f"computed from {tmp_path.name}",
    ]
    assert _findings.findings_table(tmp_path, study="B").question.tolist() == ["q2"]
    # the validation record it quotes is in the repository and parses
    assert "F1" in _findings.validation_record(ROOT)

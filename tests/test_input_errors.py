"""Bad data and files give one clear line naming the file (issue 17, items 10, 11, 13).

Each test reproduces one failure seen on a fresh machine: a traceback or a message
without what or where, a silent wrong read, outputs with mode 0600, progress bars in
logs, and nibabel's pixdim message printed by ``info``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import xarray as xr
from _phantom_stimuli import fake_story
from test_datasets_hcp import write_dtseries

from analysis_lib.datasets import hcp_movie, phantom
from analysis_lib.datasets._bold import N_GRAYORDINATES, make_bold
from analysis_lib.encoding import spaces
from analysis_lib.encoding.inputs import as_bold, read_confounds
from analysis_lib.io import atomic_write_text, write_netcdf
from analysis_lib.paths import data_home
from analysis_lib.stimuli import make_story
from analysis_lib.stimuli.story import read_textgrid

ROOT = Path(__file__).resolve().parents[1]


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


def _truncate(path: Path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


# ----------------------------------------------------------------- item 10: tracebacks
def test_truncated_cifti_names_the_file(tmp_path):
    path = hcp_movie.cifti_path(tmp_path, "100610", "MOVIE1")
    write_dtseries(path, np.ones((4, N_GRAYORDINATES), np.float32))
    _truncate(path)
    with pytest.raises(ValueError) as exc:  # was OSError from deep inside nibabel
        hcp_movie.read_dtseries(path)
    assert str(path) in _one_line(exc) and "truncated" in str(exc.value)
    with pytest.raises(ValueError) as exc:
        spaces.bold_from_cifti(path)
    assert str(path) in _one_line(exc)


def _nifti(path: Path, data: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(data.astype(np.float32), np.eye(4)), path)
    return path


def test_epi_mask_that_is_empty_names_the_file(tmp_path):
    from analysis_lib.datasets.narratives import _read_volume

    noise = np.random.default_rng(0).normal(size=(6, 6, 6, 5))  # no bright brain in it
    path = _nifti(tmp_path / "bold.nii.gz", noise)
    with pytest.raises(ValueError) as exc:
        _read_volume(path, "epi", tmp_path / "no_mask.nii.gz")
    text = _one_line(exc)
    assert str(path) in text and "mask='epi'" in text and "mask=<path" in text


def test_truncated_nifti_names_the_file(tmp_path):
    from analysis_lib.datasets.narratives import _read_volume

    rng = np.random.default_rng(0)
    path = _nifti(tmp_path / "bold.nii", rng.normal(size=(8, 8, 8, 20)))
    mask = _nifti(tmp_path / "mask.nii", np.ones((8, 8, 8)))
    _truncate(path)
    with pytest.raises(ValueError) as exc:
        _read_volume(path, mask, mask)
    assert str(path) in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        spaces.bold_from_nifti(path, mask)
    assert str(path) in _one_line(exc) and "truncated" in str(exc.value)


# ------------------------------------------------------- item 11: messages with where
def _story_textgrid(tmp_path: Path) -> tuple[Path, int]:
    story = fake_story(n_words=40)
    words = story.words[["word", "onset", "offset"]]
    path = make_story(words, tr=1.5).to_textgrid(tmp_path / "story.TextGrid")
    return path, len(read_textgrid(path))


@pytest.mark.parametrize("keep", [0.5, 0.3, 0.9])
def test_truncated_textgrid_gives_its_line(tmp_path, keep):
    path, _ = _story_textgrid(tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    n = int(len(lines) * keep)
    for cut in (n, n + 1, n + 2, n + 3):  # every position within an interval block
        path.write_text("".join(lines[:cut]))
        with pytest.raises(ValueError, match="truncated") as exc:  # some cuts read silently
            read_textgrid(path)
        assert _one_line(exc).startswith(f"{path}:{cut}: ")


def test_complete_textgrid_still_reads(tmp_path):
    _, n_words = _story_textgrid(tmp_path)
    assert n_words == 40


def test_confounds_with_text_name_the_file_and_column(tmp_path):
    tsv = tmp_path / "conf.tsv"
    tsv.write_text("trans_x\ttrans_y\n0.1\t0.2\n0.3\tn/a?\n")
    with pytest.raises(ValueError) as exc:
        read_confounds(tsv)
    text = _one_line(exc)
    assert str(tsv) in text and "'trans_y'" in text and "row 2" in text
    txt = tmp_path / "rp.txt"
    txt.write_text("0.1 0.2\n0.3 abc\n")
    with pytest.raises(ValueError, match=str(txt)):
        read_confounds(txt)


def test_bold_with_no_voxel_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="0 voxels: nothing to fit"):
        as_bold(np.zeros((10, 0)), tr=2.0)
    with pytest.raises(ValueError, match=r"bold.nc: BOLD has 10 volumes x 0 voxels"):
        make_bold(
            np.zeros((10, 0)),
            np.arange(10.0),
            {},
            space="roi",
            tr=1.0,
            subject="s",
            dataset="d",
            sources=[tmp_path / "bold.nc"],
        )


def test_corrupt_cache_is_regenerated_with_a_warning(tmp_path, monkeypatch):
    # A data home of its own: the session's is shared with other tests that cache phantoms.
    monkeypatch.setenv("ANALYSIS_LIB_DATA", str(tmp_path / "home"))
    story = fake_story()
    first = phantom.load("sub-02", "story", stimulus_object=story, stride=40)
    cached = [p for p in data_home().rglob("sub-02.nc")]
    assert len(cached) == 1
    _truncate(cached[0], 0.3)
    with pytest.warns(UserWarning, match=rf"{cached[0]}: unreadable cache file.*recomputing"):
        again = phantom.load("sub-02", "story", stimulus_object=story, stride=40)
    xr.testing.assert_identical(first, again)
    from analysis_lib.io import read_cache

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the regenerated file reads cleanly
        assert read_cache(cached[0], variable="bold") is not None


# ------------------------------------------------------------------ item 13: cosmetic
@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_outputs_honour_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        nc = write_netcdf(xr.DataArray(np.arange(3.0), dims="x", name="a"), tmp_path / "a.nc")
        txt = atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    for path in (nc, txt):
        assert stat.S_IMODE(path.stat().st_mode) == mode  # was 0600 whatever the umask


def test_no_progress_bars_when_not_a_terminal(capsys):
    from analysis_lib.encoding import fit_encoding

    rng = np.random.default_rng(0)
    atoms = rng.normal(size=(60, 2))
    bold = atoms @ rng.normal(size=(2, 5)) + rng.normal(size=(60, 5))
    fit_encoding(atoms, bold, tr=2.0, n_perm=20, cv=2, progress=True)
    err = capsys.readouterr().err
    assert "it/s" not in err and "GLM" not in err and "%|" not in err


def test_progress_bars_in_a_terminal(monkeypatch):
    import io

    from analysis_lib.encoding import fit_encoding

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    rng = np.random.default_rng(0)
    atoms = rng.normal(size=(60, 2))
    bold = atoms @ rng.normal(size=(2, 5)) + rng.normal(size=(60, 5))
    fit_encoding(atoms, bold, tr=2.0, n_perm=20, cv=2, progress=True)
    assert "GLM" in term.getvalue()


def test_no_progress_bar_sources_left():
    """Every tqdm call in the package shows only in a terminal (``disable=None``)."""
    import ast

    offenders, calls = [], 0
    for path in (ROOT / "analysis_lib").rglob("*.py"):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name != "tqdm":
                continue
            calls += 1
            disable = [k.value for k in node.keywords if k.arg == "disable"]
            if not disable or "None" not in ast.get_source_segment(text, disable[0]):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls >= 10 and offenders == []


def test_info_prints_no_pixdim_message():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "analysis_lib", "info"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    assert "pixdim" not in out.stderr + out.stdout
    # the import itself is what printed it; other nibabel messages stay enabled
    probe = (
        "import logging; from analysis_lib.networks.atlases import _hcp; _hcp(); "
        "print(logging.getLogger('nibabel.global').level)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert "pixdim" not in out.stderr and out.stdout.strip() == "0"

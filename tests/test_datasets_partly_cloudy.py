"""Partly Cloudy loader: the real files (when present) and small synthetic copies."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_lib import datasets
from analysis_lib.datasets import partly_cloudy as pc


def _real_root() -> Path:
    try:
        return pc.find_root()
    except FileNotFoundError:
        pytest.skip("Partly Cloudy data not under the data roots")


def _copy(tmp_path: Path, n_subjects: int = 4, regions_tsv: bool = True) -> Path:
    """A synthetic copy: the real small tables, random time series for a few subjects."""
    src = _real_root()
    root = tmp_path / "data"
    (root / "00_dataset_info").mkdir(parents=True)
    (root / "02_rois_masks_maps").mkdir()
    (root / "03_extract_ts_aus").mkdir()
    for f in (src / "00_dataset_info").iterdir():
        shutil.copy(f, root / "00_dataset_info" / f.name)
    shutil.copy(src / pc.NETWORK_FILE, root / pc.NETWORK_FILE)
    if regions_tsv:
        shutil.copy(src / pc.REGIONS_FILE, root / pc.REGIONS_FILE)
    rng = np.random.default_rng(0)
    twins = pd.read_csv(src / "00_dataset_info/twin_df.csv", index_col=0)
    ids = list(twins.twin_A_id[: n_subjects // 2]) + list(twins.twin_B_id[: n_subjects // 2])
    for sid in ids:
        np.save(
            root / "03_extract_ts_aus" / f"{sid}{pc.TS_SUFFIX}", rng.standard_normal((380, 293))
        )
    return root


def test_real_every_subject_and_contract():
    root = _real_root()
    subs = datasets.subjects("partly-cloudy")
    on_disk = sorted(p.name[:8] for p in (root / "03_extract_ts_aus").glob("sub-*.npy"))
    assert subs == on_disk and len(subs) >= 2
    bold = datasets.load("partly-cloudy", subs[0], stimulus=pc.stimulus())
    assert bold.dims == ("time", "voxel") and bold.shape == (380, 293)
    assert bold.attrs["tr"] == pc.TR and bold.attrs["space"] == "roi"
    np.testing.assert_allclose(bold["time"].values[:2], [0.0, 0.8])
    assert list(bold["region"].values[[0, -1]]) == [1, 293]
    assert set(bold["network_name"].values[:268]) == set(pc.NETWORKS.values())
    assert bold["atlas"].values[268] == "pauli16" and bold["atlas"].values[-1] == "aan9"
    raw = np.load(root / "03_extract_ts_aus" / f"{subs[0]}{pc.TS_SUFFIX}")
    np.testing.assert_array_equal(bold.values, raw)


def test_real_network_csv_matches_regions_tsv():
    root = _real_root()
    csv = pc._read_network_csv(root / pc.NETWORK_FILE)
    table = pd.read_csv(root / pc.REGIONS_FILE, sep="\t")
    np.testing.assert_array_equal(csv.to_numpy(), table.shen_network[:268].astype(int))
    # the CSV is CR-only: a naive line reader would see one line
    assert b"\n" not in (root / pc.NETWORK_FILE).read_bytes()


def test_real_events_and_twins():
    _real_root()  # skips without the data
    ev = pc.events()
    assert len(ev) == 19 and set(ev.trial_type) == set(pc.EVENT_TYPES)
    stim = pc.stimulus()
    assert stim.n_volumes == 380 and stim.volume_times[-1] == pytest.approx(303.2)
    with pytest.warns(UserWarning, match=r"\d+ subject\(s\) of the twin tables"):
        pairs = pc.twin_pairs()
    present = set(datasets.subjects("partly-cloudy"))
    assert len(pairs) >= 1
    assert set(pairs.twin_a) <= present and set(pairs.twin_b) <= present
    assert set(pairs.zygosity) <= {"MZ", "DZ", "unknown"}
    tables = pc.twin_tables()
    assert {"twins", "mz", "dz", "matched_control"} == set(tables)


def test_synthetic_copy_skips_missing_twins_with_one_counting_warning(tmp_path):
    root = _copy(tmp_path, n_subjects=4)
    assert len(pc.subjects(root=root)) == 4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = pc.twin_pairs(root=root)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "have no time series here (4 present)" in messages[0]
    assert len(pairs) == 2


def test_wrong_shape_names_file(tmp_path):
    root = _copy(tmp_path, n_subjects=2)
    sid = pc.subjects(root=root)[0]
    path = root / "03_extract_ts_aus" / f"{sid}{pc.TS_SUFFIX}"
    np.save(path, np.zeros((379, 293)))
    with pytest.raises(ValueError, match=rf"{path.name}.*expected shape \(380 volumes, 293"):
        pc.load(sid, root=root)


def test_nan_column_names_file_and_region(tmp_path):
    root = _copy(tmp_path, n_subjects=2)
    sid = pc.subjects(root=root)[0]
    path = root / "03_extract_ts_aus" / f"{sid}{pc.TS_SUFFIX}"
    data = np.random.default_rng(1).standard_normal((380, 293))
    data[:, 7] = np.nan
    np.save(path, data)
    with pytest.raises(ValueError, match=rf"{path.name}.*1 column\(s\) are all NaN.*regions 8"):
        pc.load(sid, root=root)


def test_pickled_object_array_is_refused(tmp_path):
    root = _copy(tmp_path, n_subjects=2)
    sid = pc.subjects(root=root)[0]
    path = root / "03_extract_ts_aus" / f"{sid}{pc.TS_SUFFIX}"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a plain numeric"):
        pc.load(sid, root=root)


def test_unknown_network_label_names_file_and_line(tmp_path):
    root = _copy(tmp_path, n_subjects=2)
    path = root / pc.NETWORK_FILE
    text = path.read_bytes().split(b"\r")
    text[3] = b"3,9"
    path.write_bytes(b"\r".join(text))
    pc._regions_cached.cache_clear()
    with pytest.raises(ValueError, match=r"networklabels.csv: line 4: unknown network label 9"):
        pc.load(pc.subjects(root=root)[0], root=root)


def test_upstream_layout_refuses_pickle_unless_allowed(tmp_path):
    root = _copy(tmp_path, n_subjects=2, regions_tsv=False)
    table = pd.read_csv(_real_root() / pc.REGIONS_FILE, sep="\t")
    mapping = {c: table[c].tolist() for c in table.columns}
    with open(root / pc.PICKLED_REGIONS_FILE, "wb") as handle:
        np.save(handle, np.array(mapping, dtype=object), allow_pickle=True)
    pc._regions_cached.cache_clear()
    sid = pc.subjects(root=root)[0]
    with pytest.raises(ValueError, match=r"shen_pauli_aan_dict.npy.*refused.*allow_pickle=True"):
        pc.load(sid, root=root)
    with pytest.warns(UserWarning, match="unpickling"):
        bold = pc.load(sid, root=root, allow_pickle=True)
    assert bold.sizes["voxel"] == 293 and bold["network"].values[0] == table.shen_network[0]


def test_missing_root_names_searched_places(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a Partly Cloudy data folder"):
        pc.find_root(tmp_path)

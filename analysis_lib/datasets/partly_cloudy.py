"""Partly Cloudy movie watching (QTAB session 2) in 293 regions: real whole-brain fMRI.

Adolescent twins of the Queensland Twin Adolescent Brain project (Strike et al., 2023)
watched the Pixar short *Partly Cloudy*; Schmälzle et al. (2024) extracted 380 volumes at
TR 0.8 s in 293 regions (Shen 268 cortical/cerebellar parcels, 16 Pauli subcortical
nuclei, 9 brainstem arousal nuclei), detrended, z-scored and band-passed 0.01-0.12 Hz,
and published them in ``nomcomm/partlycloudy2`` (folder ``data/``). The loader reads that
folder's layout, found under a data root as ``partly-cloudy/`` (or ``partlycloudy2/data/``,
a clone of the repository), or given explicitly with ``root=``::

    00_dataset_info/partly_cloudly_aus_events.txt   19 events (onset, duration, type, text)
    00_dataset_info/participants.tsv                age, sex
    00_dataset_info/twin_df.csv, likelyMZtwin_df.csv, certainlyDZtwin_df.csv,
                    matched_controltwin_df.csv      twin pairs and matched controls
    02_rois_masks_maps/regions.tsv                  one row per column (this project's copy)
    02_rois_masks_maps/shen_268_parcellation_networklabels.csv   node -> network (CR only)
    02_rois_masks_maps/shen_2mm_268_parcellation.nii            Shen atlas, MNI 2 mm
    03_extract_ts_aus/sub-XXXX_LTR_Z_THP001_LP012_shen268_pauli16_aan9.npy   (380, 293)

The upstream repository has no ``regions.tsv``: its region table is the pickled
``shen_pauli_aan_dict.npy``. Unpickling can run arbitrary code, so the loader refuses it
unless the caller passes ``allow_pickle=True``.

Every subject with a time-series file is a subject; subjects of the twin tables without
one are skipped with a single warning that counts them. The volumes are on the scan
clock, ``t = 0.8 k`` s (volume ``k``), the clock of the events file (see
:func:`analysis_lib.isc.clock_lag_scan`, which checks it).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..paths import find_data, search_roots
from ._bold import check_against_stimulus, make_bold

NAME = "partly-cloudy"
SPACE = "roi"
TR = 0.8
N_VOLUMES = 380
N_REGIONS = 293
ATLASES = (("shen268", 268), ("pauli16", 16), ("aan9", 9))
TS_DIRS = ("03_extract_ts_aus", "03_extract_ts")
TS_SUFFIX = "_LTR_Z_THP001_LP012_shen268_pauli16_aan9.npy"
EVENTS_FILE = "00_dataset_info/partly_cloudly_aus_events.txt"
REGIONS_FILE = "02_rois_masks_maps/regions.tsv"
PICKLED_REGIONS_FILE = "02_rois_masks_maps/shen_pauli_aan_dict.npy"
NETWORK_FILE = "02_rois_masks_maps/shen_268_parcellation_networklabels.csv"
ATLAS_FILE = "02_rois_masks_maps/shen_2mm_268_parcellation.nii"
EVENT_TYPES = ("mental", "social", "pain", "control")
#: The 8 Shen/Finn networks (Finn et al., 2015, Nature Neuroscience), numbered as there.
NETWORKS: dict[int, str] = {
    1: "medial frontal",
    2: "frontoparietal",
    3: "default mode",
    4: "subcortical-cerebellum",
    5: "motor",
    6: "visual I",
    7: "visual II",
    8: "visual association",
}
#: Network name given to the non-Shen nuclei (network number 0).
NUCLEI_NETWORKS = {"pauli16": "subcortical nuclei (Pauli)", "aan9": "brainstem nuclei (AAN)"}
ROOT_CANDIDATES = ("partly-cloudy", "partlycloudy2/data")
HOW_TO_GET = (
    "The Partly Cloudy data are the 'data/' folder of https://github.com/nomcomm/partlycloudy2 "
    "(Schmälzle et al., 2024; QTAB terms apply). Clone it and pass root=<clone>/data, or put "
    "the folder under a data root as 'partly-cloudy/'."
)


@dataclass(frozen=True, eq=False)
class EventStimulus:
    """The annotated events of the film on the scan's volume grid.

    Attributes
    ----------
    name : str
    events : pandas.DataFrame
        Columns ``onset``, ``duration`` (s, scan clock), ``trial_type`` (one of
        :data:`EVENT_TYPES`) and ``description``.
    tr : float
    n_volumes : int
    t0 : float
        Time of the first volume (s).
    source : str
        The events file.
    """

    name: str
    events: pd.DataFrame
    tr: float
    n_volumes: int
    t0: float = 0.0
    source: str = ""
    kind: str = "events"

    @property
    def volume_times(self) -> np.ndarray:
        """Acquisition times of the volumes (s), shape (n_volumes,)."""
        return self.t0 + self.tr * np.arange(self.n_volumes)

    @property
    def captions(self) -> pd.DataFrame:
        """The events as captions (``onset``, ``duration``, ``text``)."""
        return self.events.rename(columns={"description": "text"})[["onset", "duration", "text"]]

    @property
    def texts(self) -> list[str]:
        """The text of each volume: descriptions of the events overlapping ``[t_v, t_v + tr)``.

        Volumes outside every event get ``""``. This is what a text model "sees" of the
        film (it has no dialogue), see :func:`analysis_lib.extraction.text_event_features`.
        """
        from ..stimuli.movie import texts_per_volume

        return texts_per_volume(self.captions, self.volume_times, self.tr)

    @property
    def sha256(self) -> str:
        """Digest of the events and the grid (for provenance and caches)."""
        import hashlib

        digest = hashlib.sha256(f"{self.tr!r} {self.n_volumes} {self.t0!r}".encode())
        digest.update(self.events.to_csv(sep="\t", index=False).encode())
        return digest.hexdigest()


# ----------------------------------------------------------------------------- roots


def _is_root(path: Path) -> bool:
    return (path / "00_dataset_info").is_dir() and any((path / d).is_dir() for d in TS_DIRS)


def find_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder with the repository's ``data/`` layout.

    Parameters
    ----------
    root : path-like, optional
        The folder itself (e.g. ``<clone of partlycloudy2>/data``). Default: the first of
        ``partly-cloudy/`` and ``partlycloudy2/data/`` found under the data roots.

    Raises
    ------
    FileNotFoundError
        Naming every searched place.
    """
    if root is not None:
        path = Path(root).expanduser()
        if not _is_root(path):
            raise FileNotFoundError(
                f"{path}: not a Partly Cloudy data folder (needs 00_dataset_info/ and "
                f"{TS_DIRS[0]}/). {HOW_TO_GET}"
            )
        return path
    for relative in ROOT_CANDIDATES:
        found = find_data(relative)
        if found is not None and _is_root(found):
            return found
    searched = "\n  ".join(str(r / c) for r in search_roots() for c in ROOT_CANDIDATES)
    raise FileNotFoundError(
        f"Could not find the Partly Cloudy data. Searched:\n  {searched}\n{HOW_TO_GET}"
    )


def available(**_: Any) -> bool:
    """Whether the data are found under a data root."""
    try:
        find_root()
    except FileNotFoundError:
        return False
    return True


def _ts_dir(root: Path) -> Path:
    for d in TS_DIRS:
        if (root / d).is_dir():
            return root / d
    raise FileNotFoundError(f"{root}: no {TS_DIRS[0]}/ folder of time series")


def _subject_id(subject: str | int) -> str:
    match = re.fullmatch(r"(?:sub-?)?0*(\d+)", str(subject))
    if not match:
        raise ValueError(f"partly-cloudy: subject must look like 'sub-0001', got {subject!r}")
    return f"sub-{int(match.group(1)):04d}"


def timeseries_file(subject: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Path of one subject's (380, 293) time-series file.

    Parameters
    ----------
    subject : str
        e.g. ``"sub-0001"``.
    root : path-like, optional
        Data folder (see :func:`find_root`).

    Returns
    -------
    pathlib.Path
        The file (not checked to exist).
    """
    return _ts_dir(find_root(root)) / f"{_subject_id(subject)}{TS_SUFFIX}"


def all_subjects(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Every subject with a time-series file, sorted (no file is read)."""
    folder = _ts_dir(find_root(root))
    return sorted(p.name[: -len(TS_SUFFIX)] for p in folder.glob(f"sub-*{TS_SUFFIX}"))


def subjects(root: str | os.PathLike[str] | None = None, **_: Any) -> list[str]:
    """Every subject present (a time-series file under the data folder), sorted.

    Parameters
    ----------
    root : path-like, optional
        Data folder (see :func:`find_root`).
    **_
        Other loader options, ignored.

    Returns
    -------
    list of str
        Subject ids.
    """
    return all_subjects(root)


# ----------------------------------------------------------------------------- regions


def _read_network_csv(path: Path) -> pd.Series:
    """Read the Shen node -> network CSV (old Mac CR-only line endings accepted)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: network label file not found. {HOW_TO_GET}")
    text = path.read_bytes().decode("utf-8-sig")
    lines = [ln.strip() for ln in re.split(r"\r\n|\r|\n", text) if ln.strip()]
    if not lines or [h.strip().lower() for h in lines[0].split(",")] != ["node", "network"]:
        raise ValueError(f"{path}: expected a header 'Node,Network', got {lines[:1]}")
    nodes, nets = [], []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        try:
            node, net = int(fields[0]), int(fields[1])
        except (ValueError, IndexError):
            raise ValueError(
                f"{path}: line {number}: expected 'node,network', got {line!r}"
            ) from None
        if net not in NETWORKS:
            raise ValueError(
                f"{path}: line {number}: unknown network label {net} for node {node} "
                f"(known: {sorted(NETWORKS)})"
            )
        nodes.append(node)
        nets.append(net)
    series = pd.Series(nets, index=nodes, name="network")
    if sorted(series.index) != list(range(1, 269)):
        raise ValueError(f"{path}: expected nodes 1..268 once each, got {len(series)} rows")
    return series.sort_index()


def _regions_from_pickle(path: Path) -> pd.DataFrame:
    """Convert the upstream pickled region dict to this module's region table."""
    obj = np.load(path, allow_pickle=True)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    try:
        frame = pd.DataFrame(obj)
        if len(frame) != N_REGIONS and len(frame.columns) == N_REGIONS:
            frame = frame.T
    except ValueError as exc:
        raise ValueError(f"{path}: cannot turn the dict into a region table ({exc})") from exc
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


def _check_regions(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    needed = ["label", "atlas", "x", "y", "z", "name"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: region table lacks column(s) {', '.join(missing)}")
    if len(frame) != N_REGIONS:
        raise ValueError(f"{path}: expected {N_REGIONS} regions, found {len(frame)} rows")
    if "column" in frame.columns:
        cols = pd.to_numeric(frame["column"], errors="coerce").to_numpy()
        if not np.array_equal(cols, np.arange(N_REGIONS)):
            raise ValueError(f"{path}: column must run 0..{N_REGIONS - 1} in order")
    expected_atlas = [a for a, n in ATLASES for _ in range(n)]
    if list(frame["atlas"].astype(str)) != expected_atlas:
        raise ValueError(
            f"{path}: atlas column must be shen268 x268, pauli16 x16, aan9 x9 in this order"
        )
    xyz = frame[["x", "y", "z"]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    if not np.all(np.isfinite(xyz)):
        bad = int(np.flatnonzero(~np.isfinite(xyz).all(axis=1))[0])
        raise ValueError(f"{path}: row {bad + 1}: MNI centroid is not a finite number")
    return frame


@lru_cache(maxsize=8)
def _regions_cached(root: str, allow_pickle: bool) -> pd.DataFrame:
    root_path = Path(root)
    tsv = root_path / REGIONS_FILE
    if tsv.is_file():
        frame = pd.read_csv(tsv, sep="\t", dtype={"atlas": str, "name": str})
        source = tsv
    else:
        pickled = root_path / PICKLED_REGIONS_FILE
        if not pickled.is_file():
            raise FileNotFoundError(f"{tsv}: region table not found (nor {pickled.name})")
        if not allow_pickle:
            raise ValueError(
                f"{pickled}: this folder has no regions.tsv and its region table is a pickled "
                "dict; unpickling can run arbitrary code, so it is refused. Pass "
                "allow_pickle=True (CLI --allow-pickle) only if you trust this file, or write "
                f"{tsv.name} (index, label, column, atlas, shen_network, x, y, z, name)."
            )
        warnings.warn(f"{pickled}: unpickling the region table (allow_pickle=True)", stacklevel=3)
        frame = _regions_from_pickle(pickled)
        source = pickled
    frame = _check_regions(frame, source)
    networks = _read_network_csv(root_path / NETWORK_FILE)
    shen = frame["atlas"].astype(str).to_numpy() == "shen268"
    net = np.zeros(N_REGIONS, dtype=np.int64)
    net[shen] = networks.to_numpy()
    if "shen_network" in frame.columns:
        listed = pd.to_numeric(frame.loc[shen, "shen_network"], errors="coerce").to_numpy()
        unknown = ~np.isin(listed, list(NETWORKS))
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise ValueError(
                f"{source}: row {row + 1}: unknown network label "
                f"{frame.loc[row, 'shen_network']!r} (known: {sorted(NETWORKS)})"
            )
        if not np.array_equal(listed.astype(np.int64), net[shen]):
            row = int(np.flatnonzero(listed != net[shen])[0])
            raise ValueError(
                f"{source} and {NETWORK_FILE} disagree on the network of Shen node {row + 1}"
            )
    names = [
        NETWORKS[n] if n else NUCLEI_NETWORKS[a]
        for n, a in zip(net, frame["atlas"].astype(str), strict=True)
    ]
    out = pd.DataFrame(
        {
            "region": np.arange(1, N_REGIONS + 1),
            "label": frame["label"].astype(str).to_numpy(),
            "atlas": frame["atlas"].astype(str).to_numpy(),
            "network": net,
            "network_name": names,
            "x": frame["x"].astype(float).to_numpy(),
            "y": frame["y"].astype(float).to_numpy(),
            "z": frame["z"].astype(float).to_numpy(),
            "name": frame["name"].astype(str).to_numpy(),
        }
    )
    out["roi"] = [f"{a}-{lab}" for a, lab in zip(out["atlas"], out["label"], strict=True)]
    return out


def regions(
    root: str | os.PathLike[str] | None = None, allow_pickle: bool = False
) -> pd.DataFrame:
    """The 293 regions (columns of every time-series file), in column order.

    Parameters
    ----------
    root : path-like, optional
        Data folder (see :func:`find_root`).
    allow_pickle : bool, default False
        Allow reading the upstream pickled ``shen_pauli_aan_dict.npy`` when there is no
        ``regions.tsv``. Unpickling can run arbitrary code: only for a trusted file.

    Returns
    -------
    pandas.DataFrame, 293 rows
        ``region`` (1..293), ``label``, ``atlas`` (shen268/pauli16/aan9), ``network``
        (Shen/Finn number 1-8; 0 for the nuclei), ``network_name``, MNI centroid ``x``,
        ``y``, ``z`` (mm), ``name`` (anatomical label) and ``roi`` (``atlas-label``).
    """
    return _regions_cached(str(find_root(root)), bool(allow_pickle)).copy()


def atlas_file(root: str | os.PathLike[str] | None = None) -> Path:
    """The Shen 268 atlas NIfTI (MNI 2 mm), labels 1..268 = regions 1..268."""
    path = find_root(root) / ATLAS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Shen atlas not found. {HOW_TO_GET}")
    return path


# ----------------------------------------------------------------------------- stimulus


def events(root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The 19 annotated events (``onset``, ``duration``, ``trial_type``, ``description``)."""
    path = find_root(root) / EVENTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: events file not found. {HOW_TO_GET}")
    frame = pd.read_csv(path, sep="\t")
    needed = ["onset", "duration", "trial_type", "description"]
    if list(frame.columns) != needed:
        raise ValueError(f"{path}: expected columns {needed}, got {list(frame.columns)}")
    for col in ("onset", "duration"):
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(float)
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            row = int(np.flatnonzero(~(np.isfinite(values) & (values >= 0)))[0])
            raise ValueError(f"{path}: line {row + 2}: {col} must be a number >= 0")
        frame[col] = values
    unknown = sorted(set(frame["trial_type"]) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"{path}: unknown trial_type(s) {unknown}; known: {list(EVENT_TYPES)}")
    end = float((frame["onset"] + frame["duration"]).max())
    if end > N_VOLUMES * TR:
        raise ValueError(
            f"{path}: events end at {end:g} s, after the {N_VOLUMES} x {TR} s scan "
            f"({N_VOLUMES * TR:g} s): not on the scan clock"
        )
    return frame


def stimulus(root: str | os.PathLike[str] | None = None) -> EventStimulus:
    """The events as a stimulus on the 380-volume, TR 0.8 s grid."""
    path = find_root(root) / EVENTS_FILE
    return EventStimulus(
        name="partly-cloudy",
        events=events(root),
        tr=TR,
        n_volumes=N_VOLUMES,
        t0=0.0,
        source=str(path),
    )


# ----------------------------------------------------------------------------- time series


def _read_timeseries(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: time-series file not found")
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path}: not a plain numeric .npy array ({exc})") from exc
    if data.shape != (N_VOLUMES, N_REGIONS):
        raise ValueError(
            f"{path}: expected shape ({N_VOLUMES} volumes, {N_REGIONS} regions), "
            f"found {data.shape}"
        )
    if not np.issubdtype(data.dtype, np.floating):
        raise ValueError(f"{path}: expected floating-point values, found {data.dtype}")
    bad = ~np.isfinite(data)
    if bad.any():
        columns = np.flatnonzero(bad.all(axis=0))
        if columns.size:
            raise ValueError(
                f"{path}: {columns.size} column(s) are all NaN/inf (regions "
                f"{', '.join(str(c + 1) for c in columns[:10])}"
                f"{'...' if columns.size > 10 else ''})"
            )
        raise ValueError(f"{path}: {int(bad.sum())} non-finite value(s)")
    flat = np.flatnonzero(np.ptp(data, axis=0) == 0)
    if flat.size:
        raise ValueError(
            f"{path}: {flat.size} constant column(s) (regions "
            f"{', '.join(str(c + 1) for c in flat[:10])}): no signal"
        )
    return data.astype(np.float64, copy=False)


def volume_times() -> np.ndarray:
    """Times of the 380 volumes on the scan clock (s): 0, 0.8, ..., 303.2."""
    return TR * np.arange(N_VOLUMES)


def load(
    subject: str | int,
    root: str | os.PathLike[str] | None = None,
    allow_pickle: bool = False,
    stimulus: EventStimulus | None = None,
    **options: Any,
) -> xr.DataArray:
    """Load one subject's 293 regional time series.

    Parameters
    ----------
    subject : str
        e.g. ``"sub-0001"``.
    root : path-like, optional
        Data folder (see :func:`find_root`).
    allow_pickle : bool, default False
        See :func:`regions`.
    stimulus : EventStimulus, optional
        Check that the data lie on its grid (TR, number of volumes, times).
    **options
        None accepted; an unknown option raises TypeError naming it.

    Returns
    -------
    xarray.DataArray
        ``bold``, dims (time: 380, voxel: 293): the project's ``bold`` contract, whose
        spatial dim is always ``voxel``; here each ``voxel`` is a region, with coords
        ``region`` (1..293), ``roi``, ``label``, ``atlas``, ``network``, ``network_name``,
        ``x``, ``y``, ``z`` (MNI centroid, mm) and ``name``.
    """
    if options:
        raise TypeError(f"partly_cloudy.load: unknown options {sorted(options)}")
    folder = find_root(root)
    sid = _subject_id(subject)
    path = _ts_dir(folder) / f"{sid}{TS_SUFFIX}"
    if not path.is_file():
        present = all_subjects(folder)
        raise FileNotFoundError(
            f"{path}: no time-series file for {sid} ({len(present)} subjects present)"
        )
    data = _read_timeseries(path)
    table = regions(folder, allow_pickle=allow_pickle)
    coords = {
        c: table[c].to_numpy()
        for c in ("region", "roi", "label", "atlas", "network", "network_name", "x", "y", "z")
    }
    coords["name"] = table["name"].to_numpy()
    bold = make_bold(
        data,
        volume_times(),
        coords,
        space=SPACE,
        tr=TR,
        subject=sid,
        dataset=NAME,
        sources=[path],
        params={"subject": sid, "root": str(folder)},
        attrs={"atlas": "shen268+pauli16+aan9", "clock": "scan (volume k at 0.8 k s)"},
    )
    if stimulus is not None:
        check_against_stimulus(bold, stimulus)
    return bold


def load_group(
    subject_ids: list[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    allow_pickle: bool = False,
) -> xr.DataArray:
    """Stack subjects into one array.

    Parameters
    ----------
    subject_ids : list of str, optional
        Subjects, in this order (default: :func:`subjects`).
    root : path-like, optional
        Data folder (see :func:`find_root`).
    allow_pickle : bool
        See :func:`regions`.

    Returns
    -------
    xarray.DataArray
        ``bold``, dims (subject, time: 380, voxel: 293), the coords of :func:`load`.
    """
    ids = list(subject_ids) if subject_ids else all_subjects(root)
    if not ids:
        raise ValueError("partly-cloudy: no subjects")
    first = load(ids[0], root=root, allow_pickle=allow_pickle)
    folder = find_root(root)
    stack = np.empty((len(ids), *first.shape))
    stack[0] = first.values
    for i, sid in enumerate(ids[1:], start=1):
        stack[i] = _read_timeseries(_ts_dir(folder) / f"{_subject_id(sid)}{TS_SUFFIX}")
    out = xr.DataArray(
        stack,
        dims=("subject", "time", "voxel"),
        coords={"subject": [_subject_id(s) for s in ids], **dict(first.coords)},
        name="bold",
        attrs={k: v for k, v in first.attrs.items() if k not in ("subject",)},
    )
    out.attrs["source_files"] = "see subject coord"
    return out


# ----------------------------------------------------------------------------- twins


def _read_table(path: Path, needed: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: twin table not found. {HOW_TO_GET}")
    with open(path, encoding="utf-8-sig") as handle:
        header = handle.readline()
    sep = "\t" if "\t" in header else ","
    frame = pd.read_csv(path, sep=sep, dtype=str)
    frame = frame.loc[:, [c for c in frame.columns if not c.startswith("Unnamed")]]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


def participants(root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """``participants.tsv`` (participant_id, family_id, age_ses02, sex, ...)."""
    path = find_root(root) / "00_dataset_info/participants.tsv"
    return _read_table(path, ["participant_id", "family_id", "sex", "age_ses02"])


def twin_tables(root: str | os.PathLike[str] | None = None) -> dict[str, pd.DataFrame]:
    """The four twin tables as read (no subject filtering).

    Returns
    -------
    dict
        ``twins``, ``mz``, ``dz`` (columns ``family_id``, ``twin_A_id``, ``twin_B_id``, ...)
        and ``matched_control`` (``twin_A_id`` -> ``controltwin_B_id``).
    """
    info = find_root(root) / "00_dataset_info"
    pair_cols = ["family_id", "twin_A_id", "twin_B_id"]
    return {
        "twins": _read_table(info / "twin_df.csv", pair_cols),
        "mz": _read_table(info / "likelyMZtwin_df.csv", pair_cols),
        "dz": _read_table(info / "certainlyDZtwin_df.csv", pair_cols),
        "matched_control": _read_table(
            info / "matched_controltwin_df.csv", ["twin_A_id", "controltwin_B_id"]
        ),
    }


def twin_pairs(
    root: str | os.PathLike[str] | None = None, subject_ids: list[str] | None = None
) -> pd.DataFrame:
    """Twin pairs whose two twins both have a time series, with zygosity and controls.

    Subjects named in the twin tables without a time-series file (or outside
    ``subject_ids``) are skipped with one warning that counts them.

    Parameters
    ----------
    root : path-like, optional
        Data folder (see :func:`find_root`).
    subject_ids : list of str, optional
        Only pairs whose twins are among these.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``family_id``, ``twin_a``, ``twin_b``, ``zygosity`` (``MZ``,
        ``DZ`` or ``unknown``), ``sex_b``, ``age_b`` (of twin B, from participants.tsv) and
        ``table_control_a`` / ``table_control_b``: the matched unrelated control of twin A
        / B listed in ``matched_controltwin_df.csv`` when that control has a time series
        (else empty).
    """
    tables = twin_tables(root)
    present = set(subject_ids) if subject_ids is not None else set(all_subjects(root))
    listed = set(tables["twins"]["twin_A_id"]) | set(tables["twins"]["twin_B_id"])
    listed |= set(tables["matched_control"]["controltwin_B_id"])
    missing = sorted(listed - present)
    if missing:
        warnings.warn(
            f"partly-cloudy: {len(missing)} subject(s) of the twin tables have no time series "
            f"here ({len(present)} present) and are skipped",
            UserWarning,
            stacklevel=2,
        )
    mz = set(tables["mz"]["family_id"])
    dz = set(tables["dz"]["family_id"])
    control = dict(
        zip(
            tables["matched_control"]["twin_A_id"],
            tables["matched_control"]["controltwin_B_id"],
            strict=True,
        )
    )
    people = participants(root).set_index("participant_id")
    rows = []
    for fam, a, b in tables["twins"][["family_id", "twin_A_id", "twin_B_id"]].itertuples(
        index=False
    ):
        if a not in present or b not in present:
            continue
        zyg = "MZ" if fam in mz else "DZ" if fam in dz else "unknown"
        ca, cb = control.get(a, ""), control.get(b, "")
        rows.append(
            {
                "family_id": fam,
                "twin_a": a,
                "twin_b": b,
                "zygosity": zyg,
                "sex_b": str(people.loc[b, "sex"]) if b in people.index else "",
                "age_b": str(people.loc[b, "age_ses02"]) if b in people.index else "",
                "table_control_a": ca if ca in present else "",
                "table_control_b": cb if cb in present else "",
            }
        )
    return pd.DataFrame(rows)

"""HCP 7T movie watching (``hcp-movie:MOVIE1`` .. ``MOVIE4``) from a user's directory.

The Human Connectome Project 7T release has four movie runs per subject, TR = 1 s. The
loader reads the CIFTI dense time series on the 91,282 HCP grayordinates (the 2 mm
``_Atlas_`` files; the ``_Atlas_1.6mm_`` files have 170,494 and are refused) with nibabel,
from the standard HCP layout::

    <root>/<subject>/MNINonLinear/Results/tfMRI_MOVIE1_7T_AP/
        tfMRI_MOVIE1_7T_AP_Atlas_MSMAll_hp2000_clean.dtseries.nii

or, flat, ``<root>/<subject>_tfMRI_MOVIE1_7T_AP_Atlas_MSMAll_hp2000_clean.dtseries.nii``
(``filename=`` picks another preprocessing, e.g. ``..._Atlas_hp2000_clean.dtseries.nii``).
The stimulus clock is the run clock: each run's movie file (rest blocks included) starts
with the scan, so volume ``k`` is at ``t = k`` s. Every volume gets a ``clip`` coord
(clip name, or ``"rest"``).

Clip timing
-----------
:data:`CLIPS` holds the clip boundaries (run seconds, rounded to 1 s) of the HCP
"7T Movie Resources" timing sheet ``HCP_7T_Movie_Clip_Timing.csv`` (ConnectomeDB, S1200
release) as reproduced in published analysis code (e.g. clip 1.1 "Two Men" from 20 to
264.04 s); each run opens and closes with 20 s of rest, clips are separated by 20 s of
rest, and the last clip of every run is the same 83-84 s test-retest montage, whose bounds
here are derived from the 20 s rest that ends each run. These values are approximate to
1 s; for the exact (sub-second) values pass ``timing=<path to HCP_7T_Movie_Clip_Timing.csv>``
which :func:`read_clip_timing` parses.

Stimulus files (ConnectomeDB, "7T Movie Resources", HCP data use terms apply):
``Post_20140821_version/7T_MOVIE1_CC1_v2.mp4`` etc. Text per TR comes from a captions TSV
(``onset``, ``duration``, ``text``) or from the HCP WordNet feature file (an HDF5 file
with one (n_TR, n_labels) 0/1 matrix per run and the label names); see :func:`texts`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..paths import find_data
from ._bold import (
    N_GRAYORDINATES,
    check_timing,
    grayordinate_coords,
    make_bold,
)

NAME = "hcp-movie"
SPACE = "fsLR32k"
TR = 1.0
HOW_TO_GET = (
    "HCP 7T movie data come from the Human Connectome Project (WU-Minn HCP 1200 release, "
    "7T movie runs; register at https://db.humanconnectome.org and accept the HCP data use "
    "terms). Download the 'MOVIE' preprocessed packages (CIFTI *_Atlas_MSMAll_hp2000_clean."
    "dtseries.nii) and the '7T Movie Resources' (movie files, HCP_7T_Movie_Clip_Timing.csv), "
    "then pass root=<folder> (or put it at <data root>/hcp-movie)."
)
#: run -> (HCP scan name, movie file stem, number of volumes)
RUNS: dict[str, tuple[str, str, int]] = {
    "MOVIE1": ("tfMRI_MOVIE1_7T_AP", "7T_MOVIE1_CC1_v2", 921),
    "MOVIE2": ("tfMRI_MOVIE2_7T_PA", "7T_MOVIE2_HO1_v2", 918),
    "MOVIE3": ("tfMRI_MOVIE3_7T_PA", "7T_MOVIE3_CC2_v2", 915),
    "MOVIE4": ("tfMRI_MOVIE4_7T_AP", "7T_MOVIE4_HO2_v2", 901),
}
#: run -> [(clip, start s, end s)], see the module docstring for the source.
CLIPS: dict[str, list[tuple[str, float, float]]] = {
    "MOVIE1": [
        ("two_men", 20, 264),
        ("bridgeville", 284, 506),
        ("pockets", 526, 714),
        ("overcome", 734, 798),
        ("testretest", 818, 901),
    ],
    "MOVIE2": [
        ("inception", 20, 247),
        ("social_net", 267, 525),
        ("oceans_11", 545, 795),
        ("testretest", 815, 898),
    ],
    "MOVIE3": [
        ("flower", 20, 201),
        ("hotel", 221, 405),
        ("garden", 425, 629),
        ("dreary", 649, 792),
        ("testretest", 812, 895),
    ],
    "MOVIE4": [
        ("home_alone", 20, 252),
        ("brockovich", 272, 502),
        ("star_wars", 522, 777),
        ("testretest", 797, 881),
    ],
}
DEFAULT_FILENAME = "{scan}_Atlas_MSMAll_hp2000_clean.dtseries.nii"


def _run(run: str | int) -> str:
    text = str(run).upper()
    if text.isdigit():
        text = f"MOVIE{text}"
    if text not in RUNS:
        raise ValueError(f"hcp-movie: run must be one of {sorted(RUNS)}, got {run!r}")
    return text


def find_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The user's HCP folder: ``root`` or ``hcp-movie`` under a data root."""
    if root is not None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: HCP movie folder not found. {HOW_TO_GET}")
        return path
    path = find_data("hcp-movie")
    if path is None:
        raise FileNotFoundError(
            f"No root given and no 'hcp-movie' folder in the data roots. {HOW_TO_GET}"
        )
    return path


def cifti_path(root: Path, subject: str, run: str, filename: str | None = None) -> Path:
    """Where the run's dtseries is expected (standard HCP layout first, then flat).

    Parameters
    ----------
    root : pathlib.Path
        The data folder.
    subject : str
        HCP subject id.
    run : str
        ``MOVIE1`` .. ``MOVIE4``.
    filename : str, optional
        File name template with ``{scan}`` (default :data:`DEFAULT_FILENAME`).

    Returns
    -------
    pathlib.Path
        The expected path (not checked to exist).
    """
    scan = RUNS[run][0]
    name = (filename or DEFAULT_FILENAME).format(scan=scan)
    nested = root / subject / "MNINonLinear" / "Results" / scan / name
    flat = root / f"{subject}_{name}"
    if flat.exists() and not nested.exists():
        return flat
    return nested


def subjects(run: str, root: str | os.PathLike[str] | None = None, **_: Any) -> list[str]:
    """Subjects with a dtseries for ``run`` under ``root``.

    Parameters
    ----------
    run : str
        ``MOVIE1`` .. ``MOVIE4``.
    root : path-like, optional
        The data folder (default: searched in the data roots).
    **_
        Other loader options, ignored.

    Returns
    -------
    list of str
        Subject ids, sorted.
    """
    run = _run(run)
    base = find_root(root)
    found = set()
    for p in base.iterdir():
        if p.is_dir() and cifti_path(base, p.name, run).exists():
            found.add(p.name)
        match = re.fullmatch(r"(.+?)_" + re.escape(RUNS[run][0]) + r"_.*\.dtseries\.nii", p.name)
        if match:
            found.add(match.group(1))
    return sorted(found)


def available(**_: Any) -> bool:
    """Whether an ``hcp-movie`` folder with a dtseries is found in the data roots."""
    path = find_data("hcp-movie")
    return path is not None and any(path.rglob("*MOVIE*_7T_*.dtseries.nii"))


def describe_subjects() -> list[str]:
    """Subjects of the folder found in the data roots (any run), for listings."""
    path = find_data("hcp-movie")
    if path is None:
        return []
    return sorted({s for r in RUNS for s in subjects(r, path)})


# --------------------------------------------------------------------------- timing
def read_clip_timing(path: str | os.PathLike[str]) -> dict[str, list[tuple[str, float, float]]]:
    """Parse the official ``HCP_7T_Movie_Clip_Timing.csv``.

    The sheet has one section per run, opened by a line starting with ``7T_MOVIE<N>``,
    optional header lines, then rows ``block,start,end,duration`` in run seconds, where
    block ``0`` is a rest block and ``N.M`` is clip ``M`` of run ``N``.

    Returns
    -------
    dict
        run -> [(clip, start, end)], clips named as in :data:`CLIPS` when the count
        matches, else ``clip<M>``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: clip timing file not found. {HOW_TO_GET}")
    text = path.read_bytes().decode("utf-8", errors="replace").replace("\r", "\n")
    out: dict[str, list[tuple[str, float, float]]] = {}
    run = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip().strip(",")
        if not line:
            continue
        head = re.match(r"7T_MOVIE(\d)", line)
        if head:
            run = f"MOVIE{head.group(1)}"
            out.setdefault(run, [])
            continue
        fields = [f.strip() for f in line.split(",")]
        if not re.fullmatch(r"\d+(\.\d+)?", fields[0]):
            continue  # header rows
        if run is None:
            raise ValueError(f"{path}:{number}: timing row before any '7T_MOVIE<N>' section")
        if len(fields) < 3:
            raise ValueError(f"{path}:{number}: expected block,start,end[,duration]; got {line!r}")
        try:
            start, end = float(fields[1]), float(fields[2])
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: start/end are not numbers ({line!r})") from exc
        if end <= start:
            raise ValueError(f"{path}:{number}: block ends ({end}) before it starts ({start})")
        if fields[0] != "0":
            out[run].append((fields[0], start, end))
    if not out:
        raise ValueError(f"{path}: no '7T_MOVIE<N>' sections found")
    named = {}
    for run, rows in out.items():
        defaults = CLIPS.get(run, [])
        names = (
            [c[0] for c in defaults]
            if len(defaults) == len(rows)
            else [f"clip{i + 1}" for i in range(len(rows))]
        )
        named[run] = [(n, s, e) for n, (_, s, e) in zip(names, rows, strict=True)]
    return named


def clip_table(run: str, timing: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Clips and rest blocks of a run: columns ``block``, ``start``, ``end`` (s).

    Parameters
    ----------
    run : str
        ``MOVIE1`` .. ``MOVIE4``.
    timing : path-like, optional
        A timing file replacing the built-in :data:`CLIPS`.

    Returns
    -------
    pandas.DataFrame
        One row per block, in run order.
    """
    run = _run(run)
    clips = read_clip_timing(timing)[run] if timing is not None else CLIPS[run]
    rows, t = [], 0.0
    for name, start, end in clips:
        if start > t:
            rows.append(("rest", t, float(start)))
        rows.append((name, float(start), float(end)))
        t = float(end)
    rows.append(("rest", t, float(RUNS[run][2]) * TR))
    return pd.DataFrame(rows, columns=["block", "start", "end"])


def clip_labels(run: str, times: np.ndarray, timing: str | os.PathLike[str] | None = None):
    """The block (clip name or ``rest``) each volume time falls in.

    Parameters
    ----------
    run : str
        ``MOVIE1`` .. ``MOVIE4``.
    times : numpy.ndarray, shape (n_volumes,)
        Volume times (s, run clock).
    timing : path-like, optional
        As in :func:`clip_table`.

    Returns
    -------
    numpy.ndarray of str, shape (n_volumes,)
        Block name of each volume.
    """
    table = clip_table(run, timing)
    labels = np.full(len(times), "rest", dtype=object)
    for block, start, end in table.itertuples(index=False):
        labels[(times >= start) & (times < end)] = block
    return labels.astype(str)


# --------------------------------------------------------------------------- CIFTI
def read_dtseries(path: Path) -> tuple[np.ndarray, float, np.ndarray]:
    """Read a dtseries: data (time, 91282), TR (s), grayordinate indices.

    Parameters
    ----------
    path : Path
        A CIFTI-2 dtseries in the standard 91,282-grayordinate layout.

    Returns
    -------
    data : ndarray, shape (n_time, 91282), float32
    tr : float
        Seconds (:func:`analysis_lib.spaces.series_times`).
    index : ndarray of int, shape (91282,)

    Raises
    ------
    ValueError
        When the file is not a readable CIFTI-2 dense time series in the standard
        91,282-grayordinate layout.
    """
    from ..spaces import is_standard_layout
    from ..spaces import read_dtseries as read_cifti_series

    if not path.exists():
        raise FileNotFoundError(f"{path}: CIFTI dtseries not found. {HOW_TO_GET}")
    data, _, step, models = read_cifti_series(path)
    if len(models) != N_GRAYORDINATES:
        raise ValueError(
            f"{path}: {len(models)} grayordinates; expected the 91,282 of the 2 mm HCP "
            "'_Atlas_' files (the 1.6 mm files hold 170,494)"
        )
    if not is_standard_layout(models):
        raise ValueError(f"{path}: grayordinates are not in the standard HCP 91,282 layout")
    return data, step, np.arange(N_GRAYORDINATES)


def load(
    subject: str,
    run: str,
    *,
    root: str | os.PathLike[str] | None = None,
    filename: str | None = None,
    timing: str | os.PathLike[str] | None = None,
    clips_only: bool = False,
    stimulus: Any | None = None,
) -> xr.DataArray:
    """Load one HCP 7T movie run.

    Parameters
    ----------
    subject : str
        HCP subject id, e.g. ``"100610"``.
    run : {"MOVIE1", "MOVIE2", "MOVIE3", "MOVIE4"} (or 1..4)
    root : path, optional
        The user's HCP folder (default: ``hcp-movie`` under a data root).
    filename : str, optional
        File name pattern with ``{scan}``, default
        ``"{scan}_Atlas_MSMAll_hp2000_clean.dtseries.nii"``.
    timing : path, optional
        Official ``HCP_7T_Movie_Clip_Timing.csv`` (default: the shipped table).
    clips_only : bool
        Drop the volumes acquired during rest blocks.
    stimulus : MovieStimulus, optional
        When given, check TR, number of volumes and times against it.

    Returns
    -------
    xarray.DataArray
        ``bold`` (time, voxel) with coords ``grayordinate``, ``structure`` and, along
        time, ``clip``.
    """
    run = _run(run)
    base = find_root(root)
    path = cifti_path(base, str(subject), run, filename)
    data, tr, index = read_dtseries(path)
    scan, movie, n_expected = RUNS[run]
    check_timing(
        what=str(path),
        tr=tr,
        n_volumes=data.shape[0],
        expected_tr=TR,
        expected_n_volumes=n_expected if timing is None else data.shape[0],
        expected_from=f"the HCP {run} movie run",
    )
    times = TR * np.arange(data.shape[0])
    table = clip_table(run, timing)
    if timing is not None and table["end"].iloc[-2] > times[-1] + TR:
        raise ValueError(
            f"{path}: {data.shape[0]} volumes ({data.shape[0] * TR:g} s) but the clip timing "
            f"{timing} runs to {table['end'].iloc[-2]:g} s"
        )
    labels = clip_labels(run, times, timing)
    keep = labels != "rest" if clips_only else np.ones(times.size, bool)
    bold = make_bold(
        data[keep],
        times[keep],
        grayordinate_coords(index),
        space=SPACE,
        tr=tr,
        subject=str(subject),
        dataset=f"hcp-movie:{run}",
        sources=[path] + ([Path(timing)] if timing is not None else []),
        params={
            "run": run,
            "filename": filename,
            "timing": None if timing is None else str(timing),
            "clips_only": clips_only,
        },
        attrs={
            "run": run,
            "scan": scan,
            "movie_file": f"{movie}.mp4",
            "clip_timing": "official sheet" if timing is not None else "shipped table (1 s)",
            "clips": table.to_json(orient="records"),
        },
    )
    bold = bold.assign_coords(clip=("time", labels[keep]))
    if stimulus is not None:
        from ._bold import check_against_stimulus

        check_against_stimulus(bold, stimulus)
    return bold


# --------------------------------------------------------------------------- stimulus
def movie_path(run: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Where the run's movie file is expected (searched under the root).

    Parameters
    ----------
    run : str
        ``MOVIE1`` .. ``MOVIE4``.
    root : path-like, optional
        The data folder (default: searched in the data roots).

    Returns
    -------
    pathlib.Path
        The first matching movie file.
    """
    run = _run(run)
    base = find_root(root)
    name = f"{RUNS[run][1]}.mp4"
    matches = sorted(base.rglob(name))
    if not matches:
        raise FileNotFoundError(
            f"{base / 'Post_20140821_version' / name}: movie not found. {HOW_TO_GET}"
        )
    return matches[0]


def texts(
    run: str,
    source: str | os.PathLike[str],
    n_volumes: int | None = None,
    threshold: float = 0.0,
) -> list[str]:
    """Text per TR from a captions TSV or an HCP WordNet feature HDF5 file.

    Parameters
    ----------
    run : str
    source : path
        ``.tsv`` with ``onset``, ``duration``, ``text`` (read by
        :func:`analysis_lib.stimuli.read_captions`), or ``.h5``/``.hdf5`` holding, for the
        run, a 2-D dataset whose name contains the run (``MOVIE1``) or its movie stem,
        shape (n_TR, n_labels), and the label names in a dataset or attribute whose name
        contains ``label``. Labels above ``threshold`` in a TR are joined by ``", "``.
    n_volumes : int, optional
        Default: the run's volume count.
    threshold : float
        Label value above which a WordNet label counts as present.

    Returns
    -------
    list of str
        One text per volume (``n_volumes`` items).
    """
    run = _run(run)
    n = n_volumes or RUNS[run][2]
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: text source not found")
    if path.suffix.lower() == ".tsv":
        from ..stimuli import read_captions
        from ..stimuli.movie import texts_per_volume

        return texts_per_volume(read_captions(path), TR * np.arange(n), TR)
    if path.suffix.lower() not in (".h5", ".hdf5"):
        raise ValueError(f"{path}: text source must be a .tsv or .h5/.hdf5 file")
    import h5py

    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not a readable HDF5 file ({exc})") from exc
    with fh:
        names: list[str] = []
        fh.visit(names.append)
        keys = (run, RUNS[run][1].split("_v2")[0].replace("7T_", ""))
        data_names = [
            k
            for k in names
            if isinstance(fh[k], h5py.Dataset) and fh[k].ndim == 2 and any(x in k for x in keys)
        ]
        if len(data_names) != 1:
            raise ValueError(f"{path}: expected one 2-D dataset for {run}, found {data_names}")
        matrix = np.asarray(fh[data_names[0]])
        label_sources = [
            k for k in names if "label" in k.lower() and isinstance(fh[k], h5py.Dataset)
        ]
        if label_sources:
            labels = [
                x.decode() if isinstance(x, bytes) else str(x) for x in fh[label_sources[0]][()]
            ]
        else:
            attrs = {**fh.attrs, **fh[data_names[0]].attrs}
            keys_ = [k for k in attrs if "label" in k.lower()]
            if not keys_:
                raise ValueError(f"{path}: no label names (a dataset or attribute named *label*)")
            labels = [x.decode() if isinstance(x, bytes) else str(x) for x in attrs[keys_[0]]]
    if matrix.shape[1] != len(labels):
        raise ValueError(
            f"{path}: {data_names[0]} has {matrix.shape[1]} columns but {len(labels)} labels"
        )
    if matrix.shape[0] < n:
        raise ValueError(f"{path}: {data_names[0]} has {matrix.shape[0]} rows for {n} volumes")
    return [", ".join(labels[j] for j in np.flatnonzero(row > threshold)) for row in matrix[:n]]


def stimulus(
    run: str,
    root: str | os.PathLike[str] | None = None,
    captions: str | os.PathLike[str] | None = None,
    frames_per_tr: int = 1,
    size: int | tuple[int, int] | None = 64,
    n_volumes: int | None = None,
):
    """The run's movie as a :class:`analysis_lib.stimuli.MovieStimulus` (frames + captions).

    Frames are decoded from ``7T_MOVIE<N>_..._v2.mp4`` (searched under ``root``) with PyAV
    through :func:`analysis_lib.stimuli.movie_from_video` on the run's grid (TR 1 s,
    ``n_volumes`` defaulting to the run's volume count; a shorter movie is an error naming
    both lengths). ``captions`` is a TSV (``onset``, ``duration``, ``text``).

    Parameters
    ----------
    run : str
        ``MOVIE1`` .. ``MOVIE4``.
    root : path-like, optional
        The data folder (default: searched in the data roots).
    captions : path-like, optional
        Captions TSV.
    frames_per_tr : int
        Frames sampled per TR.
    size : int or (height, width), optional
        Resize frames (None: native size).
    n_volumes : int, optional
        Volumes (default: the run's count).

    Returns
    -------
    MovieStimulus
        Frames (n_volumes * frames_per_tr, height, width, 3) uint8 and captions.
    """
    from ..stimuli import movie_from_video

    run = _run(run)
    return movie_from_video(
        movie_path(run, root),
        captions,
        tr=TR,
        n_volumes=n_volumes or RUNS[run][2],
        frames_per_tr=frames_per_tr,
        size=size,
        name=f"hcp-{run.lower()}",
    )

"""The Alice listening fMRI data (Brennan et al., 2016): six ROI time courses per subject.

Participants listened to ~12 min of chapter 1 of *Alice's Adventures in Wonderland*.
The public release holds, per subject, six ROI time courses (LATL RATL LPTL LIPL LPreM
LIFG) at two sphere radii (6 mm and 10 mm), 362 volumes at TR = 2 s. The first ten
volumes of each scan were discarded by the authors, so row 0 is the volume acquired at
t = 20 s on the stimulus clock (the audio starts with 20 s of silence and the TextGrid is
on the same clock). Motion files still hold the ten discarded volumes (372 rows) and
their names differ between subjects; :func:`load_confounds` drops those rows.

Layout expected under a data root (``ANALYSIS_LIB_EXTRA_DATA`` or the data home)::

    alice/alice_data_shared/6mm/sNN-timecourses.txt
    alice/alice_data_shared/10mm/sNN-timecourses.txt
    alice/alice_data_shared/sNN-rate.txt, sNN-sndpwr.txt, sNN-rp_*.txt
    alice/alice_data_shared/sept18-generic-predictors-under-hrf-with-logfrqhal.txt
    alice/alice_stim_shared/DownTheRabbitHoleFinal_exp120_pad_1.TextGrid

Subjects whose ROI file is constant in every column are defective recordings: they are
left out of :func:`subjects` with a warning naming them, and :func:`load` refuses them.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..io import provenance
from ..paths import require_data
from ._bold import check_against_stimulus, make_bold, source_attrs

NAME = "alice"
SPACE = "roi"
DESCRIPTION = "Brennan et al. (2016) Alice listening fMRI, 6 ROI time courses (real data)"
ROIS: tuple[str, ...] = ("LATL", "RATL", "LPTL", "LIPL", "LPreM", "LIFG")
TR = 2.0
N_VOLUMES = 362
N_DISCARDED = 10
T0 = N_DISCARDED * TR  # 20 s: time of the first kept volume
RADII = ("6mm", "10mm")
MOTION_COLUMNS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
#: Column names of the authors' predictors (README of the release).
PREDICTOR_COLUMNS: tuple[str, ...] = (
    "rate_conv",
    "frq_conv_orth",
    "break_conv_orth",
    "tdp_conv_orth",
    "tdx_conv_orth",
    "bup_conv_orth",
    "bux_conv_orth",
    "cfgsurp_conv_orth",
    "bigramlex_conv_orth",
    "trigramlex_conv_orth",
    "bigrampos_conv_orth",
    "trigrampos_conv_orth",
)
PREDICTOR_FILE = "sept18-generic-predictors-under-hrf-with-logfrqhal.txt"
DATA_DIR = "alice/alice_data_shared"
TEXTGRID = "alice/alice_stim_shared/DownTheRabbitHoleFinal_exp120_pad_1.TextGrid"
HOW_TO_GET = (
    "The Alice data (Brennan, Stabler, Van Wagenen, Luh & Hale 2016, Brain & Language "
    "157-158, 81-94; CC-BY 4.0) are public: 'python -m analysis_lib fetch alice' downloads "
    "them (pinned hashes) into the data home, where this loader looks."
)


def volume_times() -> np.ndarray:
    """Times (s, stimulus clock) of the 362 kept volumes: 20, 22, ..., 742."""
    return T0 + TR * np.arange(N_VOLUMES)


def data_dir() -> Path:
    """Folder holding the ROI time courses; a clear error when it is missing."""
    return require_data(DATA_DIR, HOW_TO_GET)


def available() -> bool:
    """Whether the Alice ROI data are found in a data root."""
    from ..paths import find_data

    return find_data(DATA_DIR) is not None


def _radius(radius: str | int) -> str:
    text = f"{radius}mm" if isinstance(radius, int | float) else str(radius)
    text = text.replace(" ", "")
    if text not in RADII:
        raise ValueError(f"alice: radius must be one of {RADII} (6 or 10), got {radius!r}")
    return text


def _subject_id(subject: str | int) -> str:
    text = str(subject)
    match = re.fullmatch(r"(?:s|sub-?)?0*(\d+)", text)
    if not match:
        raise ValueError(f"alice: subject must look like 's18', got {subject!r}")
    return f"s{int(match.group(1)):02d}"


def _read_table(path: Path, n_rows: int, n_cols: int | None) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found. {HOW_TO_GET}")
    try:
        table = np.loadtxt(path, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: not a numeric table ({exc})") from exc
    if table.shape[0] != n_rows or (n_cols is not None and table.shape[1] != n_cols):
        expected = f"{n_rows} x {n_cols}" if n_cols is not None else f"{n_rows} rows"
        raise ValueError(f"{path}: expected {expected}, found {table.shape[0]} x {table.shape[1]}")
    if not np.all(np.isfinite(table)):
        raise ValueError(f"{path}: contains non-finite values")
    return table


def timecourse_file(subject: str, radius: str | int = "6mm") -> Path:
    """Path of one subject's ROI file.

    Parameters
    ----------
    subject : str
        Subject id, e.g. ``"s18"``.
    radius : {"6mm", "10mm"} or {6, 10}
        ROI sphere radius.

    Returns
    -------
    pathlib.Path
        The subject's ``<id>-timecourses.txt`` (not checked to exist).
    """
    return data_dir() / _radius(radius) / f"{_subject_id(subject)}-timecourses.txt"


def _present(folder: Path) -> list[str]:
    return sorted(
        (p.name.split("-")[0] for p in folder.glob("s*-timecourses.txt")),
        key=lambda s: int(s[1:]) if s[1:].isdigit() else 0,
    )


@lru_cache(maxsize=8)
def _scan(folder: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (all subjects present, defective subjects) for a radius folder."""
    present, defective = [], []
    for path in sorted(Path(folder).glob("s*-timecourses.txt")):
        sid = path.name.split("-")[0]
        present.append(sid)
        table = _read_table(path, N_VOLUMES, len(ROIS))
        if np.all(np.ptp(table, axis=0) == 0):
            defective.append(sid)
    key = lambda s: int(s[1:])  # noqa: E731
    return tuple(sorted(present, key=key)), tuple(sorted(defective, key=key))


def all_subjects(radius: str | int = "6mm") -> list[str]:
    """Every subject present, defective ones included."""
    return list(_scan(str(data_dir() / _radius(radius)))[0])


def defective_subjects(radius: str | int = "6mm") -> list[str]:
    """Subjects whose ROI time courses are constant in every column."""
    return list(_scan(str(data_dir() / _radius(radius)))[1])


def subjects(radius: str | int = "6mm", warn: bool = True) -> list[str]:
    """Usable subjects (e.g. ``['s18', 's23', ...]``); defective ones are left out.

    Parameters
    ----------
    radius : {"6mm", "10mm"} or {6, 10}
        ROI sphere radius.
    warn : bool
        Warn, naming them, about left-out subjects.

    Returns
    -------
    list of str
        Subject ids, sorted.
    """
    present, defective = _scan(str(data_dir() / _radius(radius)))
    if defective and warn:
        warnings.warn(
            f"alice: left out defective recording(s) {', '.join(defective)} "
            f"(ROI time courses constant in every column)",
            UserWarning,
            stacklevel=2,
        )
    return [s for s in present if s not in defective]


def load(
    subject: str | int, radius: str | int = "6mm", stimulus: Any | None = None, **options
) -> xr.DataArray:
    """Load one subject's six ROI time courses.

    Parameters
    ----------
    subject : str
        Subject id, e.g. ``"s18"``.
    radius : {"6mm", "10mm"} or {6, 10}
        ROI sphere radius (6 mm default, as in the paper's main analysis).
    stimulus : StoryStimulus, optional
        When given (e.g. ``load_stimulus("alice")``), check that its TR, number of
        volumes and volume times agree with the data; a ValueError names both values.
    **options
        None accepted; an unknown option raises TypeError (the registry passes the same keywords to
        every loader).

    Returns
    -------
    xarray.DataArray
        ``bold``, dims (time: 362, voxel: 6), time 20..742 s, coord ``roi``.

    Raises
    ------
    FileNotFoundError
        When the data or the subject's file are missing.
    ValueError
        When the file is malformed or the recording is defective (constant).
    """
    if options:
        raise TypeError(f"alice.load: unknown options {sorted(options)}")
    radius = _radius(radius)
    sid = _subject_id(subject)
    path = data_dir() / radius / f"{sid}-timecourses.txt"
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no ROI file for subject {sid}; subjects present: "
            f"{', '.join(_present(data_dir() / radius))}"
        )
    table = _read_table(path, N_VOLUMES, len(ROIS))
    if np.all(np.ptp(table, axis=0) == 0):
        raise ValueError(f"{path}: subject {sid} is a defective recording (constant ROIs)")
    bold = make_bold(
        table,
        volume_times(),
        {"roi": np.array(ROIS)},
        space=SPACE,
        tr=TR,
        subject=sid,
        dataset=NAME,
        sources=[path],
        params={"subject": sid, "radius": radius},
        attrs={"radius": radius, "n_discarded_volumes": N_DISCARDED},
    )
    if stimulus is not None:
        check_against_stimulus(bold, stimulus)
    return bold


def motion_file(subject: str | int) -> Path:
    """Find the subject's SPM motion file (names differ between subjects)."""
    sid = _subject_id(subject)
    matches = sorted(data_dir().glob(f"{sid}-rp_*.txt"))
    if len(matches) != 1:
        found = ", ".join(p.name for p in matches) or "none"
        raise FileNotFoundError(
            f"{data_dir() / (sid + '-rp_*.txt')}: expected one motion file for {sid}, found {found}"
        )
    return matches[0]


def _frame(
    values: np.ndarray, names: tuple[str, ...], dim: str, name: str, sources: list[Path], **attrs
) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("time", dim),
        coords={"time": ("time", volume_times(), {"units": "s"}), dim: list(names)},
        name=name,
        attrs={**attrs, **source_attrs(sources), **provenance(attrs)},
    )


def load_confounds(subject: str | int, scale: bool = False) -> xr.DataArray:
    """Load the six SPM motion parameters on the BOLD time axis.

    The 372-row file is cropped to its last 362 rows (the ten discarded volumes go).

    Parameters
    ----------
    subject : str
    scale : bool
        Divide each parameter by its standard deviation (the authors' step 2).

    Returns
    -------
    xarray.DataArray
        ``confounds``, dims (time: 362, confound: 6).
    """
    path = motion_file(subject)
    table = _read_table(path, N_VOLUMES + N_DISCARDED, len(MOTION_COLUMNS))[N_DISCARDED:]
    if scale:
        sd = table.std(axis=0)
        table = table / np.where(sd > 0, sd, 1.0)
    return _frame(
        table,
        MOTION_COLUMNS,
        "confound",
        "confounds",
        [path],
        subject=_subject_id(subject),
        dataset=NAME,
        long_name="SPM8 realignment parameters (mm, rad)",
    )


def load_baselines(subject: str | int) -> xr.DataArray:
    """Load the per-subject word-rate and sound-power predictors (362 rows each).

    Returns
    -------
    xarray.DataArray
        ``baselines``, dims (time: 362, predictor: 2) with predictors
        ``rate`` and ``sndpwr``.
    """
    sid = _subject_id(subject)
    paths = [data_dir() / f"{sid}-rate.txt", data_dir() / f"{sid}-sndpwr.txt"]
    table = np.column_stack([_read_table(p, N_VOLUMES, 1)[:, 0] for p in paths])
    return _frame(
        table,
        ("rate", "sndpwr"),
        "predictor",
        "baselines",
        paths,
        subject=sid,
        dataset=NAME,
        long_name="word rate and sound power predictors (authors')",
    )


def predictors(include_discarded: bool = False) -> xr.DataArray:
    """The authors' 12 HRF-convolved linguistic predictors.

    Parameters
    ----------
    include_discarded : bool
        Keep the ten first rows (t = 0..18 s), which have no BOLD volume.

    Returns
    -------
    xarray.DataArray
        ``predictors``, dims (time, predictor) with 362 rows on the BOLD time axis
        (372 with ``include_discarded``) and the README's column names.
    """
    path = data_dir() / PREDICTOR_FILE
    table = _read_table(path, N_VOLUMES + N_DISCARDED, len(PREDICTOR_COLUMNS))
    times = TR * np.arange(N_VOLUMES + N_DISCARDED)
    if not include_discarded:
        table, times = table[N_DISCARDED:], times[N_DISCARDED:]
    return xr.DataArray(
        table,
        dims=("time", "predictor"),
        coords={"time": ("time", times, {"units": "s"}), "predictor": list(PREDICTOR_COLUMNS)},
        name="predictors",
        attrs={
            "dataset": NAME,
            "long_name": "HRF-convolved linguistic predictors (Brennan et al., 2016)",
            **source_attrs([path]),
            **provenance({"include_discarded": include_discarded}),
        },
    )


def textgrid_path() -> Path:
    """The Praat TextGrid of the stimulus (word tier), stimulus clock."""
    return require_data(TEXTGRID, HOW_TO_GET)

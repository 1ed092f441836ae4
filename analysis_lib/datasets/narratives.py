"""Narratives (Nastase et al., 2021; OpenNeuro ds002345, CC0): a BIDS loader.

``load("narratives:pieman", "sub-001", root=..., derivative="afni-smooth", run=1)`` reads
the preprocessed images of the dataset's own derivatives, named as the dataset names them::

    <root>/sub-001/func/sub-001_task-pieman_run-1_bold.json        (TR: RepetitionTime)
    <root>/sub-001/func/sub-001_task-pieman_run-1_events.tsv       (story segment)
    <root>/derivatives/afni-smooth/sub-001/func/
        sub-001_task-pieman_run-1_space-MNI152NLin2009cAsym_res-native_desc-clean_bold.nii.gz
        sub-001_task-pieman_run-1_space-fsaverage6_hemi-L_desc-clean.func.gii   (and hemi-R)
    <root>/stimuli/gentle/pieman/align.csv                         (word timings)

``derivative`` is ``"afni-smooth"`` or ``"afni-nosmooth"``; ``space`` is
``"MNI152NLin2009cAsym"`` (volume, default) or ``"fsaverage6"`` (surfaces). Tasks with a
single run have no ``_run-`` entity; ``run`` is then left out.

Clock
-----
The stimulus clock is the clock of the story's audio file (the ``stim_file`` of the
``story`` row of ``events.tsv``): it starts at the onset of the first event that plays
this file (0 s for pieman, whose audio holds 13 s of music before the story). Gentle
aligned that file, so ``align.csv`` times are on this clock too. Volume ``k`` is acquired
at ``k * TR`` on the scanner clock, i.e. at ``k * TR - audio_onset`` on the stimulus clock;
with ``crop=True`` (default) only volumes acquired during the story segment
``[onset, onset + duration)`` are kept (pieman: 282 of the 300 volumes, t = 15 .. 436.5 s).

Volume data are read with a nilearn :class:`~nilearn.maskers.NiftiMasker` and a brain
mask: ``mask=`` (a path), else fMRIPrep's run mask
``derivatives/fmriprep/sub-*/func/*_space-MNI152NLin2009cAsym_res-native_desc-brain_mask.nii.gz``,
else ``mask="epi"`` to compute one from the data (never chosen silently). Surface data keep
the cortex vertices of ``derivatives/<derivative>/tpl-fsaverage6/
tpl-fsaverage6_hemi-{L,R}_desc-cortex_mask.gii`` when that mask exists.

Scans listed in ``<root>/code/scan_exclude.json`` (the dataset's exclusion list) are left
out of :func:`subjects` with a warning naming them.

Getting the data: :func:`fetch` (openneuro-py or DataLad; needs internet).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..paths import find_data
from ._bold import check_against_stimulus, make_bold, volume_attrs, volume_coords

NAME = "narratives"
DATASET_ID = "ds002345"
DERIVATIVES = ("afni-smooth", "afni-nosmooth")
VOLUME_SPACE = "MNI152NLin2009cAsym"
SURFACE_SPACE = "fsaverage6"
HOW_TO_GET = (
    "Narratives is OpenNeuro dataset ds002345 (Nastase et al., 2021, Scientific Data 8, 250; "
    "CC0). Download it with analysis_lib.datasets.narratives.fetch(task, subjects, root) "
    "(openneuro-py or DataLad), or `datalad install https://github.com/OpenNeuroDatasets/"
    "ds002345.git` then `datalad get` the files, and pass root=<that folder> (or put it at "
    "<data root>/narratives)."
)


# --------------------------------------------------------------------------- paths
def find_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The dataset root: ``root`` or ``narratives``/``ds002345`` under a data root."""
    if root is not None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: Narratives root not found. {HOW_TO_GET}")
    else:
        path = find_data("narratives") or find_data(DATASET_ID)
        if path is None:
            raise FileNotFoundError(
                f"No Narratives root given and none found as 'narratives' or '{DATASET_ID}' "
                f"in the data roots. {HOW_TO_GET}"
            )
    desc = path / "dataset_description.json"
    if not desc.exists():
        raise ValueError(f"{path}: not a BIDS dataset root (no dataset_description.json)")
    try:
        json.loads(desc.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{desc}: malformed JSON ({exc})") from exc
    return path


def _sub(subject: str | int) -> str:
    text = str(subject)
    match = re.fullmatch(r"(?:sub-)?(\d+)", text)
    if not match:
        raise ValueError(f"narratives: subject must look like 'sub-001', got {subject!r}")
    return f"sub-{int(match.group(1)):03d}"


def _check_task(task: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9]+", str(task)):
        raise ValueError(f"narratives: task must be a BIDS label like 'pieman', got {task!r}")
    return str(task)


def runs(root: Path, subject: str, task: str) -> list[int | None]:
    """Runs of a task for a subject (``[None]`` when the task has no run entity).

    Parameters
    ----------
    root : pathlib.Path
        The BIDS dataset folder.
    subject : str
        Subject id (``sub-001``).
    task : str
        Task (story) name, e.g. ``pieman``.

    Returns
    -------
    list of int or None
        Run numbers, sorted.
    """
    func = root / subject / "func"
    found: list[int | None] = []
    for path in sorted(func.glob(f"{subject}_task-{task}*_bold.json")):
        match = re.fullmatch(rf"{subject}_task-{task}(?:_run-(\d+))?_bold\.json", path.name)
        if match:
            found.append(int(match.group(1)) if match.group(1) else None)
    return found


def _stem(root: Path, subject: str, task: str, run: int | None) -> str:
    available = runs(root, subject, task)
    if not available:
        raise FileNotFoundError(
            f"{root / subject / 'func' / f'{subject}_task-{task}[_run-N]_bold.json'}: no "
            f"sidecar for {subject}, task {task}. {HOW_TO_GET}"
        )
    if run is None:
        if available == [None]:
            return f"{subject}_task-{task}"
        if len(available) > 1:
            raise ValueError(
                f"{subject} task {task} has runs {available}; pass run= to choose one"
            )
        run = available[0]
    if run not in available:
        raise FileNotFoundError(
            f"{root / subject / 'func' / f'{subject}_task-{task}_run-{run}_bold.json'}: no such "
            f"run; runs found: {available}"
        )
    return f"{subject}_task-{task}" if run is None else f"{subject}_task-{task}_run-{int(run)}"


def read_sidecar(path: Path) -> dict[str, Any]:
    """Read a BOLD JSON sidecar; check RepetitionTime."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: sidecar not found. {HOW_TO_GET}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: malformed JSON ({exc})") from exc
    tr = meta.get("RepetitionTime")
    if not isinstance(tr, int | float) or not tr > 0:
        raise ValueError(f"{path}: RepetitionTime missing or not a positive number ({tr!r})")
    return meta


def read_events(path: Path) -> pd.DataFrame:
    """Read a BIDS events.tsv (onset, duration, trial_type, stim_file)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: events file not found. {HOW_TO_GET}")
    try:
        events = pd.read_csv(path, sep="\t")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: malformed TSV ({exc})") from exc
    missing = {"onset", "duration"} - set(events.columns)
    if missing:
        raise ValueError(f"{path}: missing BIDS column(s) {sorted(missing)}")
    for col in ("onset", "duration"):
        values = pd.to_numeric(events[col], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().argmax()) + 2
            raise ValueError(
                f"{path}:{row}: {col} is not a number ({events[col].iloc[row - 2]!r})"
            )
        events[col] = values
    return events


def story_segment(events: pd.DataFrame, path: Path) -> tuple[float, float, float]:
    """(audio_onset, story_onset, story_duration) on the scanner clock, from events.tsv.

    Parameters
    ----------
    events : pandas.DataFrame
        The scan's ``events.tsv``.
    path : pathlib.Path
        That file, named in errors.

    Returns
    -------
    tuple of float
        ``(audio_onset, story_onset, story_duration)`` in seconds.
    """
    if "trial_type" in events.columns and (events["trial_type"] == "story").any():
        story = events[events["trial_type"] == "story"]
    elif len(events) == 1:
        story = events
    else:
        raise ValueError(f"{path}: no row with trial_type 'story' among {len(events)} events")
    if len(story) != 1:
        raise ValueError(f"{path}: {len(story)} 'story' rows; expected exactly one")
    row = story.iloc[0]
    audio_onset = float(row["onset"])
    if "stim_file" in events.columns:
        same = events[events["stim_file"] == row["stim_file"]]
        audio_onset = float(same["onset"].min())
    return audio_onset, float(row["onset"]), float(row["duration"])


def derivative_path(
    root: Path, derivative: str, stem: str, space: str = VOLUME_SPACE, hemi: str = "L"
) -> Path:
    """Path of a derivative image as the dataset names it.

    Parameters
    ----------
    root : pathlib.Path
        The BIDS dataset folder.
    derivative : str
        Derivative folder under ``derivatives/`` (e.g. ``afni-nosmooth``).
    stem : str
        BIDS stem ``sub-XXX_task-YYY[_run-N]``.
    space : str
        The volume space (:data:`VOLUME_SPACE`) or the surface space (:data:`SURFACE_SPACE`).
    hemi : {'L', 'R'}
        Hemisphere, for the surface space.

    Returns
    -------
    pathlib.Path
        The expected path (not checked to exist).
    """
    subject = stem.split("_")[0]
    folder = root / "derivatives" / derivative / subject / "func"
    if space == SURFACE_SPACE:
        return folder / f"{stem}_space-{SURFACE_SPACE}_hemi-{hemi}_desc-clean.func.gii"
    return folder / f"{stem}_space-{VOLUME_SPACE}_res-native_desc-clean_bold.nii.gz"


def align_path(root: Path, task: str) -> Path:
    """The Gentle word alignment of a task.

    Parameters
    ----------
    root : pathlib.Path
        The BIDS dataset folder.
    task : str
        Task (story) name.

    Returns
    -------
    pathlib.Path
        ``stimuli/gentle/<task>/align.csv`` (not checked to exist).
    """
    return root / "stimuli" / "gentle" / task / "align.csv"


# --------------------------------------------------------------------------- subjects
def _excluded_scans(root: Path) -> set[str]:
    path = root / "code" / "scan_exclude.json"
    if not path.exists():
        return set()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: malformed JSON ({exc})") from exc
    found: set[str] = set()

    def walk(obj: Any) -> None:
        if isinstance(obj, str):
            found.add(obj)
        elif isinstance(obj, dict):
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(data)
    return found


def subjects(
    task: str,
    root: str | os.PathLike[str] | None = None,
    run: int | None = None,
    warn: bool = True,
) -> list[str]:
    """Subjects with a sidecar for ``task`` (and ``run``), minus excluded scans.

    ``participants.tsv`` is read to check the listing; subjects whose scans appear in
    ``code/scan_exclude.json`` are left out with a warning naming them.

    Parameters
    ----------
    task : str
        Task (story) name, e.g. ``pieman``.
    root : path-like, optional
        The BIDS dataset folder (default: searched in the data roots).
    run : int, optional
        Only subjects with this run.
    warn : bool
        Warn, naming them, about left-out subjects.

    Returns
    -------
    list of str
        Subject ids, sorted.
    """
    task = _check_task(task)
    base = find_root(root)
    present = sorted(p.name for p in base.glob("sub-*") if p.is_dir())
    with_task = [s for s in present if runs(base, s, task)]
    if run is not None:
        with_task = [s for s in with_task if run in runs(base, s, task)]
    excluded_scans = _excluded_scans(base)
    left_out = []
    for s in with_task:
        stems = [
            f"{s}_task-{task}" + ("" if r is None else f"_run-{r}") for r in runs(base, s, task)
        ]
        if run is not None:
            stems = [f"{s}_task-{task}_run-{run}"]
        if stems and all(any(st in ex for ex in excluded_scans) for st in stems):
            left_out.append(s)
    if left_out and warn:
        warnings.warn(
            f"narratives:{task}: left out excluded scan(s) of {', '.join(left_out)} "
            f"(code/scan_exclude.json)",
            UserWarning,
            stacklevel=2,
        )
    return [s for s in with_task if s not in left_out]


def available(**_: Any) -> bool:
    """Whether a Narratives root with derivative images is found in the data roots."""
    try:
        base = find_root(None)
    except (FileNotFoundError, ValueError):
        return False
    return any((base / "derivatives").glob("afni-*/sub-*/func/*desc-clean*"))


def describe_subjects() -> list[str]:
    """Subjects of the root found in the data roots (any task), for listings."""
    try:
        base = find_root(None)
    except (FileNotFoundError, ValueError):
        return []
    return sorted(p.name for p in base.glob("sub-*") if p.is_dir())


# --------------------------------------------------------------------------- loading
def _read_volume(path: Path, mask: str | os.PathLike[str] | None, fmriprep_mask: Path):
    import nibabel as nib
    from nilearn.maskers import NiftiMasker

    if not path.exists():
        raise FileNotFoundError(f"{path}: derivative image not found. {HOW_TO_GET}")
    try:
        img = nib.load(path)
        shape = img.shape
    except Exception as exc:
        raise ValueError(f"{path}: not a readable NIfTI image ({exc})") from exc
    if len(shape) != 4:
        raise ValueError(f"{path}: expected a 4-D BOLD image, got shape {shape}")
    if mask is None:
        if not fmriprep_mask.exists():
            raise FileNotFoundError(
                f"{fmriprep_mask}: brain mask not found; pass mask=<path to a mask> or "
                f"mask='epi' to compute one from the data with nilearn"
            )
        mask_img, mask_source = nib.load(fmriprep_mask), str(fmriprep_mask)
    elif str(mask) == "epi":
        mask_img, mask_source = None, "epi"
    else:
        if not Path(mask).exists():
            raise FileNotFoundError(f"{mask}: mask not found")
        mask_img, mask_source = nib.load(mask), str(mask)
    if mask_img is not None:
        if mask_img.shape[:3] != shape[:3] or not np.allclose(mask_img.affine, img.affine):
            raise ValueError(
                f"{mask_source}: mask grid {mask_img.shape[:3]} does not match image grid "
                f"{shape[:3]} of {path}"
            )
        masker = NiftiMasker(mask_img=mask_img, standardize=None)
    else:
        masker = NiftiMasker(mask_strategy="epi", standardize=None)
    try:
        data = masker.fit_transform(img)
    except (OSError, EOFError) as exc:  # header fine, data cut short
        raise ValueError(
            f"{path}: NIfTI data unreadable, truncated? ({' '.join(str(exc).split())})"
        ) from exc
    except ValueError as exc:
        if mask_img is None and "empty" in str(exc):
            raise ValueError(
                f"{path}: mask='epi' found no brain voxels in this image (nilearn: {exc}); "
                "pass mask=<path to a brain mask>"
            ) from exc
        raise ValueError(f"{path}: cannot mask the image with {mask_source} ({exc})") from exc
    mask_data = np.asarray(masker.mask_img_.get_fdata()) > 0
    if not mask_data.any():
        raise ValueError(f"{mask_source}: the brain mask for {path} holds no voxel")
    ijk = np.argwhere(mask_data)
    sources = [path] if mask_img is None else [path, Path(mask_source)]
    return data, ijk, img.affine, shape[:3], sources, mask_source


def _read_gifti(path: Path) -> np.ndarray:
    from ..spaces import read_gifti

    if not path.exists():
        raise FileNotFoundError(f"{path}: derivative surface not found. {HOW_TO_GET}")
    return read_gifti(path)


def _read_surface(root: Path, derivative: str, stem: str):
    parts, vertex, hemi, sources = [], [], [], []
    for h in ("L", "R"):
        path = derivative_path(root, derivative, stem, SURFACE_SPACE, h)
        data = _read_gifti(path)
        keep = np.arange(data.shape[1])
        mask_path = (
            root
            / "derivatives"
            / derivative
            / f"tpl-{SURFACE_SPACE}"
            / f"tpl-{SURFACE_SPACE}_hemi-{h}_desc-cortex_mask.gii"
        )
        sources.append(path)
        if mask_path.exists():
            mask = _read_gifti(mask_path).ravel() > 0
            if mask.size != data.shape[1]:
                raise ValueError(
                    f"{mask_path}: {mask.size} vertices but {path} has {data.shape[1]}"
                )
            keep = np.flatnonzero(mask)
            sources.append(mask_path)
        parts.append(data[:, keep])
        vertex.append(keep)
        hemi.append(np.full(keep.size, h))
    if parts[0].shape[0] != parts[1].shape[0]:
        raise ValueError(
            f"{stem}: hemispheres have {parts[0].shape[0]} and {parts[1].shape[0]} volumes"
        )
    return np.hstack(parts), np.concatenate(vertex), np.concatenate(hemi), sources


def load(
    subject: str,
    task: str,
    *,
    root: str | os.PathLike[str] | None = None,
    derivative: str = "afni-smooth",
    run: int | None = None,
    space: str = VOLUME_SPACE,
    mask: str | os.PathLike[str] | None = None,
    crop: bool = True,
    stimulus: Any | None = None,
) -> xr.DataArray:
    """Load one Narratives scan as ``bold`` on the story's audio clock.

    Parameters
    ----------
    subject : str
        ``"sub-001"`` (or ``1``).
    task : str
        Story task label, e.g. ``"pieman"``.
    root : path, optional
        Dataset root (default: ``narratives`` or ``ds002345`` under a data root).
    derivative : {"afni-smooth", "afni-nosmooth"}
    run : int, optional
        Required when the subject has several runs of the task.
    space : {"MNI152NLin2009cAsym", "fsaverage6"}
    mask : path or "epi", optional
        Brain mask for volume data (see module docstring).
    crop : bool
        Keep only the volumes acquired during the story segment.
    stimulus : StoryStimulus, optional
        When given, check that TR, number of volumes and times agree with it.

    Returns
    -------
    xarray.DataArray
        ``bold`` (time, voxel); volume coords i, j, k, x, y, z (+ affine, shape attrs) or
        surface coords ``vertex`` and ``hemi``.
    """
    task = _check_task(task)
    if derivative not in DERIVATIVES:
        raise ValueError(
            f"narratives: derivative must be one of {DERIVATIVES}, got {derivative!r}"
        )
    if space not in (VOLUME_SPACE, SURFACE_SPACE):
        raise ValueError(
            f"narratives: space must be {VOLUME_SPACE!r} or {SURFACE_SPACE!r}, got {space!r}"
        )
    base = find_root(root)
    sub = _sub(subject)
    stem = _stem(base, sub, task, run)
    sidecar_path = base / sub / "func" / f"{stem}_bold.json"
    events_path = base / sub / "func" / f"{stem}_events.tsv"
    tr = float(read_sidecar(sidecar_path)["RepetitionTime"])
    audio_onset, onset, duration = story_segment(read_events(events_path), events_path)

    extra: dict[str, Any] = {}
    if space == VOLUME_SPACE:
        path = derivative_path(base, derivative, stem)
        fmriprep_mask = (
            base
            / "derivatives"
            / "fmriprep"
            / sub
            / "func"
            / f"{stem}_space-{VOLUME_SPACE}_res-native_desc-brain_mask.nii.gz"
        )
        data, ijk, affine, shape, sources, mask_source = _read_volume(path, mask, fmriprep_mask)
        coords = volume_coords(ijk, affine)
        extra.update(volume_attrs(affine, shape))
        extra["mask"] = mask_source
        image_path = path
    else:
        data, vertex, hemi, sources = _read_surface(base, derivative, stem)
        coords = {"vertex": vertex, "hemi": hemi}
        image_path = sources[0]

    n_scan = data.shape[0]
    scan_end = n_scan * tr
    if onset + duration > scan_end + tr:
        raise ValueError(
            f"{image_path}: the story segment ends at {onset + duration:g} s (events.tsv) but "
            f"the scan ends at {scan_end:g} s ({n_scan} volumes x TR {tr:g} s)"
        )
    scan_times = tr * np.arange(n_scan)
    keep = (
        (scan_times >= onset - 1e-6) & (scan_times < onset + duration - 1e-6)
        if crop
        else np.ones(n_scan, bool)
    )
    bold = make_bold(
        data[keep],
        scan_times[keep] - audio_onset,
        coords,
        space=space,
        tr=tr,
        subject=sub,
        dataset=f"narratives:{task}",
        sources=[sidecar_path, events_path, *sources],
        params={
            "task": task,
            "run": run,
            "derivative": derivative,
            "space": space,
            "crop": crop,
            "mask": None if mask is None else str(mask),
        },
        attrs={
            **extra,
            "task": task,
            "run": -1 if run is None else int(run),
            "derivative": derivative,
            "story_onset": onset,
            "story_duration": duration,
            "audio_onset": audio_onset,
            "clock": "story audio file (stim_file) clock; scanner time minus audio_onset",
            "n_volumes_scan": n_scan,
        },
    )
    if stimulus is not None:
        check_against_stimulus(bold, stimulus)
    return bold


def words(task: str, root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Word timings (word, onset, offset; s, audio clock) from ``stimuli/gentle/<task>/align.csv``.

    Uses :func:`analysis_lib.stimuli.story.read_gentle_csv`.

    Parameters
    ----------
    task : str
        Task (story) name.
    root : path-like, optional
        The BIDS dataset folder (default: searched in the data roots).

    Returns
    -------
    pandas.DataFrame
        Columns ``word``, ``onset``, ``offset`` (s).
    """
    from ..stimuli.story import read_gentle_csv

    path = align_path(find_root(root), _check_task(task))
    if not path.exists():
        raise FileNotFoundError(f"{path}: Gentle alignment not found. {HOW_TO_GET}")
    return read_gentle_csv(path)


def story_stimulus(bold: xr.DataArray, root: str | os.PathLike[str] | None = None):
    """The story of a loaded scan as a StoryStimulus on the scan's volume grid.

    Words come from :func:`words` (Gentle ``align.csv``, audio clock); the grid is the
    one of ``bold`` (TR, number of kept volumes, first kept volume time), so
    :func:`analysis_lib.datasets._bold.check_against_stimulus` passes by construction.
    Words before the first kept volume (e.g. during the music) are kept when they lie
    after the audio onset.

    Parameters
    ----------
    bold : xarray.DataArray (time, voxel)
        A scan from :func:`load` (attrs ``tr`` and ``task``, coord ``time``).
    root : path-like, optional
        The BIDS dataset folder (default: searched in the data roots).

    Returns
    -------
    StoryStimulus
        The story on the scan's volume grid.
    """
    from ..stimuli import make_story

    task = str(bold.attrs["task"])
    table = words(task, root)
    times = bold["time"].values
    return make_story(
        table,
        tr=float(bold.attrs["tr"]),
        n_volumes=int(times.size),
        t0=float(times[0]),
        scan_start=0.0,
        name=f"narratives-{task}",
        source=str(align_path(find_root(root), task)),
    )


def fetch(
    task: str,
    subjects: list[str],
    root: str | os.PathLike[str],
    *,
    derivative: str = "afni-smooth",
    space: str = VOLUME_SPACE,
    method: str = "openneuro",
) -> Path:
    """Download what :func:`load` needs for ``task`` and ``subjects`` (needs internet).

    Parameters
    ----------
    task : str
    subjects : list of str
    root : path
        Target folder (the dataset root).
    derivative : str
    space : str
    method : {"openneuro", "datalad"}
        ``openneuro`` uses openneuro-py (``pip install openneuro-py``); ``datalad`` uses
        DataLad (``pip install datalad`` and git-annex) on
        https://github.com/OpenNeuroDatasets/ds002345.git.

    Returns
    -------
    pathlib.Path
        The root.
    """
    task = _check_task(task)
    root = Path(root).expanduser()
    subs = [_sub(s) for s in subjects]
    patterns = ["dataset_description.json", "participants.tsv", f"stimuli/gentle/{task}/*"]
    for s in subs:
        patterns += [
            f"{s}/func/{s}_task-{task}*_bold.json",
            f"{s}/func/{s}_task-{task}*_events.tsv",
        ]
        if space == SURFACE_SPACE:
            patterns.append(
                f"derivatives/{derivative}/{s}/func/{s}_task-{task}*_space-{SURFACE_SPACE}_*"
            )
        else:
            patterns += [
                f"derivatives/{derivative}/{s}/func/{s}_task-{task}*_space-{VOLUME_SPACE}_*",
                f"derivatives/fmriprep/{s}/func/{s}_task-{task}*_space-{VOLUME_SPACE}_"
                "res-native_desc-brain_mask.nii.gz",
            ]
    if method == "openneuro":
        try:
            import openneuro
        except ImportError as exc:
            raise ImportError(
                "fetch(method='openneuro') needs `pip install openneuro-py`"
            ) from exc
        openneuro.download(dataset=DATASET_ID, target_dir=str(root), include=patterns)
    elif method == "datalad":
        try:
            import datalad.api as dl
        except ImportError as exc:
            raise ImportError("fetch(method='datalad') needs `pip install datalad`") from exc
        ds = dl.install(
            path=str(root), source=f"https://github.com/OpenNeuroDatasets/{DATASET_ID}.git"
        )
        for pattern in patterns:
            for path in sorted(root.glob(pattern)):
                ds.get(str(path))
    else:
        raise ValueError(f"method must be 'openneuro' or 'datalad', got {method!r}")
    return root

"""Movie stimuli: frames sampled within each TR plus the text shown or described per TR.

A :class:`MovieStimulus` holds ``frames_per_tr`` frames per volume, sampled at the
centres of equal sub-intervals of ``[t_v, t_v + tr)`` (``t_v`` the volume time), and
captions (``onset``, ``duration``, ``text``). The text of a TR joins the captions that
overlap its interval ("" when none, as in rest blocks).

Readers: a video file through PyAV with a captions TSV, and a folder of image frames
(shown at ``fps`` frames per second from t = 0) with such a TSV.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path
from .render import render
from .tables import header_index, parse_float, read_rows

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass(frozen=True, eq=False)
class MovieStimulus:
    """Frames and captions of a movie on an acquisition grid.

    Attributes
    ----------
    name : str
    frames : numpy.ndarray, shape (n_volumes * frames_per_tr, height, width, 3), uint8
        RGB frames; frames ``v * frames_per_tr ... (v + 1) * frames_per_tr - 1`` belong
        to volume ``v``.
    captions : pandas.DataFrame
        Columns ``onset``, ``duration`` (s) and ``text``.
    tr : float
    n_volumes : int
    t0 : float
        Time of the first kept volume (s).
    source : str
    """

    name: str
    frames: np.ndarray
    captions: pd.DataFrame
    tr: float
    n_volumes: int
    t0: float = 0.0
    source: str = "builtin"
    kind: str = field(default="movie", init=False)

    def __post_init__(self) -> None:
        if not (self.tr > 0 and math.isfinite(self.tr)):
            raise ValueError(f"{self.name}: tr must be a positive number of seconds")
        if int(self.n_volumes) != self.n_volumes or self.n_volumes < 2:
            raise ValueError(f"{self.name}: n_volumes must be an integer >= 2")
        f = self.frames
        if f.ndim != 4 or f.shape[-1] != 3 or f.dtype != np.uint8 or f.shape[0] == 0:
            raise ValueError(
                f"{self.name} ({self.source}): frames must be a non-empty uint8 array "
                f"(n_frames, height, width, 3), got {f.dtype} {f.shape}"
            )
        if f.shape[0] % self.n_volumes:
            raise ValueError(f"{self.name}: {f.shape[0]} frames is not a multiple of n_volumes")

    @property
    def frames_per_tr(self) -> int:
        """Number of frames sampled in each TR."""
        return self.frames.shape[0] // self.n_volumes

    @property
    def volume_times(self) -> np.ndarray:
        """Acquisition times of the kept volumes (s)."""
        return self.t0 + self.tr * np.arange(self.n_volumes)

    @property
    def frame_times(self) -> np.ndarray:
        """Sampling time of every frame (s), shape (n_frames,)."""
        return sample_times(self.t0, self.tr, self.n_volumes, self.frames_per_tr).ravel()

    @property
    def texts(self) -> list[str]:
        """The text of each TR (captions overlapping ``[t_v, t_v + tr)`` joined by spaces)."""
        return texts_per_volume(self.captions, self.volume_times, self.tr)

    @property
    def sha256(self) -> str:
        """Digest of frames, captions and grid (for provenance)."""
        digest = hashlib.sha256()
        digest.update(f"{self.tr!r} {self.n_volumes} {self.t0!r} {self.frames.shape}".encode())
        digest.update(np.ascontiguousarray(self.frames).tobytes())
        digest.update(self.captions.to_csv(sep="\t", index=False).encode())
        return digest.hexdigest()

    def write_frames(self, folder: str | os.PathLike[str]) -> Path:
        """Write frames as PNG files ``frame_00000.png`` ... and ``captions.tsv``.

        Frame ``i`` is meant to be shown at ``fps = frames_per_tr / tr`` from t = 0, so
        :func:`movie_from_frames` reads it back (with ``t0 = 0``).
        """
        from PIL import Image

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(self.frames):
            with atomic_path(folder / f"frame_{i:05d}.png") as tmp:
                Image.fromarray(frame).save(tmp, format="PNG")
        write_captions(self.captions, folder / "captions.tsv")
        return folder

    def __repr__(self) -> str:
        return (
            f"MovieStimulus(name={self.name!r}, frames={self.frames.shape}, "
            f"captions={len(self.captions)}, tr={self.tr}, n_volumes={self.n_volumes}, "
            f"t0={self.t0})"
        )


def sample_times(t0: float, tr: float, n_volumes: int, frames_per_tr: int) -> np.ndarray:
    """Frame sampling times, shape (n_volumes, frames_per_tr): sub-interval centres.

    Parameters
    ----------
    t0 : float
        Time of the first volume (s).
    tr : float
        Repetition time (s).
    n_volumes : int
        Number of volumes.
    frames_per_tr : int
        Frames sampled per volume.

    Returns
    -------
    numpy.ndarray, shape (n_volumes, frames_per_tr)
        Sampling times (s), the centres of equal sub-intervals of each TR.
    """
    if frames_per_tr < 1:
        raise ValueError("frames_per_tr must be >= 1")
    offsets = (np.arange(frames_per_tr) + 0.5) * tr / frames_per_tr
    return t0 + tr * np.arange(n_volumes)[:, None] + offsets[None, :]


def texts_per_volume(captions: pd.DataFrame, volume_times: np.ndarray, tr: float) -> list[str]:
    """Join the captions overlapping each ``[t_v, t_v + tr)``; "" when none.

    Parameters
    ----------
    captions : pandas.DataFrame
        Columns ``onset``, ``duration`` (s) and ``text``.
    volume_times : numpy.ndarray, shape (n_volumes,)
        Start time of each volume (s).
    tr : float
        Repetition time (s).

    Returns
    -------
    list of str
        One text per volume (``n_volumes`` items).
    """
    on = captions["onset"].to_numpy(float)
    off = on + captions["duration"].to_numpy(float)
    texts = captions["text"].astype(str).to_numpy()
    out = []
    for t in volume_times:
        hit = (on < t + tr) & (off > t)
        out.append(" ".join(texts[hit]))
    return out


def read_captions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a captions TSV with header columns ``onset``, ``duration``, ``text``."""
    path = Path(path)
    rows = read_rows(path, "\t")
    if not rows:
        raise ValueError(f"{path}: the captions file is empty")
    line, header = rows.pop(0)
    cols = header_index(path, line, header, ["onset", "duration", "text"])
    out = []
    for line, fields in rows:
        if len(fields) != len(header):
            raise ValueError(
                f"{path}:{line}: expected {len(header)} tab-separated fields, got {len(fields)}"
            )
        onset = parse_float(path, line, "onset", fields[cols["onset"]])
        duration = parse_float(path, line, "duration", fields[cols["duration"]])
        if duration < 0:
            raise ValueError(f"{path}:{line}: negative duration {duration}")
        out.append((onset, duration, fields[cols["text"]].strip()))
    return pd.DataFrame(out, columns=["onset", "duration", "text"])


def write_captions(captions: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write captions as a TSV (atomically).

    Parameters
    ----------
    captions : pandas.DataFrame
        Columns ``onset``, ``duration`` and ``text``.
    path : path-like
        Destination ``.tsv``.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    from ..io import atomic_write_text

    lines = ["onset\tduration\ttext"]
    lines += [
        f"{on:g}\t{du:g}\t{str(tx).replace(chr(9), ' ')}"
        for on, du, tx in captions[["onset", "duration", "text"]].itertuples(index=False)
    ]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def _resize(frame: np.ndarray, size: int | tuple[int, int] | None) -> np.ndarray:
    if size is None:
        return frame
    from PIL import Image

    h, w = (size, size) if isinstance(size, int) else size
    if frame.shape[:2] == (h, w):
        return frame
    return np.asarray(Image.fromarray(frame).resize((w, h), Image.Resampling.BILINEAR))


def _check_window(source: str, end_time: float, t0: float, tr: float, n_volumes: int | None):
    available = math.floor((end_time - t0) / tr + 1e-9)
    if n_volumes is None:
        n_volumes = available
    elif n_volumes > available:
        raise ValueError(
            f"{source}: the movie lasts {end_time:g} s; {n_volumes} volumes of {tr:g} s from "
            f"t0 = {t0:g} s need {t0 + n_volumes * tr:g} s (at most {available} fit)"
        )
    if n_volumes < 2:
        raise ValueError(f"{source}: the movie is too short for 2 volumes of {tr:g} s")
    return n_volumes


def _warn_captions_outside(captions: pd.DataFrame, source: str, end: float) -> pd.DataFrame:
    outside = (captions["onset"] >= end) | (captions["onset"] + captions["duration"] <= 0)
    if outside.any():
        warnings.warn(
            f"{source}: {int(outside.sum())} captions lie outside the scan window and were "
            "dropped",
            UserWarning,
            stacklevel=3,
        )
    return captions[~outside].reset_index(drop=True)


def movie_from_video(
    path: str | os.PathLike[str],
    captions: str | os.PathLike[str] | pd.DataFrame | None = None,
    *,
    tr: float,
    n_volumes: int | None = None,
    t0: float = 0.0,
    frames_per_tr: int = 4,
    size: int | tuple[int, int] | None = None,
    name: str | None = None,
) -> MovieStimulus:
    """Read a movie from a video file with PyAV.

    Parameters
    ----------
    path : path-like
        Any video that FFmpeg (PyAV) decodes.
    captions : path-like or DataFrame, optional
        Captions TSV (``onset``, ``duration``, ``text``); default ``<stem>.tsv`` next to the
        video when it exists, else no captions.
    tr, n_volumes, t0
        Acquisition grid (``n_volumes`` defaults to every full TR in the video).
    frames_per_tr : int
        Frames sampled per TR (the frame on screen at each sub-interval centre).
    size : int or (height, width), optional
        Resize frames (bilinear).
    name : str, optional
        Label of the stimulus (default: the file's stem).

    Returns
    -------
    MovieStimulus
        Frames (n_volumes * frames_per_tr, height, width, 3) uint8 and the captions.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            decoded = [
                (float(frame.time), frame.to_ndarray(format="rgb24"))
                for frame in container.decode(stream)
            ]
    except (av.error.FFmpegError, IndexError) as exc:
        raise ValueError(f"{path}: not a readable video ({exc})") from exc
    if not decoded:
        raise ValueError(f"{path}: the video has no frames")
    times = np.array([t for t, _ in decoded])
    step = float(np.median(np.diff(times))) if len(times) > 1 else tr
    n_volumes = _check_window(str(path), times[-1] + step, t0, tr, n_volumes)
    wanted = sample_times(t0, tr, n_volumes, frames_per_tr).ravel()
    index = np.clip(np.searchsorted(times, wanted + 1e-9, side="right") - 1, 0, len(times) - 1)
    frames = np.stack([_resize(decoded[i][1], size) for i in index])
    if captions is None:
        sibling = path.with_suffix(".tsv")
        captions = read_captions(sibling) if sibling.is_file() else None
    elif not isinstance(captions, pd.DataFrame):
        captions = read_captions(captions)
    if captions is None:
        captions = pd.DataFrame({"onset": [], "duration": [], "text": []})
    captions = _warn_captions_outside(captions, str(path), t0 + n_volumes * tr)
    return MovieStimulus(name or path.stem, frames, captions, tr, n_volumes, t0, str(path))


def movie_from_frames(
    folder: str | os.PathLike[str],
    captions: str | os.PathLike[str] | pd.DataFrame | None = None,
    *,
    fps: float,
    tr: float,
    n_volumes: int | None = None,
    t0: float = 0.0,
    frames_per_tr: int = 4,
    size: int | tuple[int, int] | None = None,
    name: str | None = None,
) -> MovieStimulus:
    """Read a movie from a folder of image frames shown at ``fps`` from t = 0.

    Frames are the image files of the folder in name order; ``captions`` defaults to
    ``captions.tsv`` inside the folder. Other parameters as in :func:`movie_from_video`.

    Parameters
    ----------
    folder : path-like
        Folder of image files (PNG, JPEG ...).
    captions : path-like or DataFrame, optional
        Captions TSV (default ``captions.tsv`` in the folder).
    fps : float
        Frames per second at which the images are shown.
    tr, n_volumes, t0, frames_per_tr, size, name
        As in :func:`movie_from_video`.

    Returns
    -------
    MovieStimulus
        Frames (n_volumes * frames_per_tr, height, width, 3) uint8 and the captions.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: no image frames ({', '.join(IMAGE_SUFFIXES)})")
    if not fps > 0:
        raise ValueError(f"{folder}: fps must be positive")
    n_volumes = _check_window(str(folder), len(files) / fps, t0, tr, n_volumes)
    wanted = sample_times(t0, tr, n_volumes, frames_per_tr).ravel()
    index = np.clip(np.floor(wanted * fps + 1e-9).astype(int), 0, len(files) - 1)
    cache: dict[int, np.ndarray] = {}
    for i in np.unique(index):
        try:
            with Image.open(files[i]) as img:
                cache[i] = _resize(np.asarray(img.convert("RGB")), size)
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"{files[i]}: not a readable image ({exc})") from exc
    shapes = {f.shape for f in cache.values()}
    if len(shapes) > 1:
        raise ValueError(f"{folder}: frames differ in size {sorted(shapes)}; pass size=")
    frames = np.stack([cache[i] for i in index])
    if captions is None:
        default = folder / "captions.tsv"
        captions = read_captions(default) if default.is_file() else None
    elif not isinstance(captions, pd.DataFrame):
        captions = read_captions(captions)
    if captions is None:
        captions = pd.DataFrame({"onset": [], "duration": [], "text": []})
    captions = _warn_captions_outside(captions, str(folder), t0 + n_volumes * tr)
    return MovieStimulus(name or folder.name, frames, captions, tr, n_volumes, t0, str(folder))


def default_movie_script() -> dict:
    """The scene script of ``default-movie`` (scenes, durations, captions)."""
    text = resources.files("analysis_lib").joinpath("data/default_movie.json").read_text("utf-8")
    return json.loads(text)


def default_movie_timeline(script: dict | None = None) -> pd.DataFrame:
    """Scene blocks of ``default-movie``: columns ``kind``, ``onset``, ``duration`` (s).

    Rest blocks (``kind == "rest"``) open, separate and close the scenes.
    """
    script = script or default_movie_script()
    rows, t = [], 0.0
    for scene in script["scenes"]:
        rows.append(("rest", t, float(script["rest_seconds"])))
        t += script["rest_seconds"]
        rows.append((scene["kind"], t, float(scene["seconds"])))
        t += scene["seconds"]
    rows.append(("rest", t, float(script["rest_seconds"])))
    return pd.DataFrame(rows, columns=["kind", "onset", "duration"])


def default_movie(
    *,
    tr: float | None = None,
    n_volumes: int | None = None,
    t0: float = 0.0,
    frames_per_tr: int | None = None,
    size: int | None = None,
) -> MovieStimulus:
    """Render ``default-movie``: scenes and rests from the packaged script, deterministic.

    Defaults come from ``analysis_lib/data/default_movie.json`` (TR 1 s, 4 frames per TR,
    64 x 64 pixels); the whole movie lasts 290 s. Rendering takes a few seconds and is
    cached in memory (the frames are read-only).

    Parameters
    ----------
    tr : float, optional
        Repetition time (s) (default from the JSON).
    n_volumes : int, optional
        Keep only the first volumes (default: the whole movie).
    t0 : float
        Time of the first volume (s).
    frames_per_tr : int, optional
        Frames per volume (default from the JSON).
    size : int, optional
        Frame height and width (default from the JSON).

    Returns
    -------
    MovieStimulus
        Frames (n_volumes * frames_per_tr, size, size, 3) uint8 and the captions.
    """
    cached = _default_movie(tr, n_volumes, t0, frames_per_tr, size)
    return MovieStimulus(
        cached.name,
        cached.frames,
        cached.captions.copy(),
        cached.tr,
        cached.n_volumes,
        cached.t0,
        cached.source,
    )


@functools.lru_cache(maxsize=4)
def _default_movie(
    tr: float | None,
    n_volumes: int | None,
    t0: float,
    frames_per_tr: int | None,
    size: int | None,
) -> MovieStimulus:
    """Render once per parameter set (read-only frames shared by the copies)."""
    return _render_default_movie(
        tr=tr, n_volumes=n_volumes, t0=t0, frames_per_tr=frames_per_tr, size=size
    )


def _render_default_movie(
    *,
    tr: float | None = None,
    n_volumes: int | None = None,
    t0: float = 0.0,
    frames_per_tr: int | None = None,
    size: int | None = None,
) -> MovieStimulus:
    script = default_movie_script()
    tr = float(tr or script["tr"])
    frames_per_tr = int(frames_per_tr or script["frames_per_tr"])
    size = int(size or script["size"])
    blocks = default_movie_timeline(script)
    end = float(blocks["onset"].iloc[-1] + blocks["duration"].iloc[-1])
    n_volumes = _check_window("default-movie", end, t0, tr, n_volumes)
    times = sample_times(t0, tr, n_volumes, frames_per_tr).ravel()
    starts = blocks["onset"].to_numpy()
    which = np.searchsorted(starts, times, side="right") - 1
    frames = np.empty((times.size, size, size, 3), np.uint8)
    for i, (t, b) in enumerate(zip(times, which, strict=True)):
        kind, onset, duration = blocks.iloc[b]
        frames[i] = render(kind, t - onset, duration, size)
    captions = []
    scene_blocks = blocks[blocks["kind"] != "rest"].reset_index(drop=True)
    for scene, (_, block) in zip(script["scenes"], scene_blocks.iterrows(), strict=True):
        for at, duration, text in scene["captions"]:
            captions.append((block["onset"] + at, float(duration), text))
    captions = pd.DataFrame(captions, columns=["onset", "duration", "text"])
    captions = captions[captions["onset"] < t0 + n_volumes * tr].reset_index(drop=True)
    frames.flags.writeable = False
    return MovieStimulus("default-movie", frames, captions, tr, n_volumes, t0, "builtin")

"""Naturalistic stimuli on the fMRI clock: spoken stories and movies.

``load_stimulus(name_or_path, **grid)`` returns a :class:`StoryStimulus` or a
:class:`MovieStimulus`. Every stimulus has ``.name``, ``.tr``, ``.n_volumes``, ``.t0``
(time of the first kept volume, s) and ``.volume_times`` (``t0 + tr * arange(n_volumes)``).

Named stimuli
-------------
``default-story``
    An original story written for this project (``analysis_lib/data/default_story.txt``,
    1,828 words, about 11.6 minutes) with synthetic word timings from the speech-rate model
    of :mod:`analysis_lib.stimuli.speech`; TR 1.5 s, t0 = 0.
``alice``
    Chapter 1 of *Alice's Adventures in Wonderland* as heard in Brennan et al. (2016): the
    word tier of ``alice/alice_stim_shared/DownTheRabbitHoleFinal_exp120_pad_1.TextGrid``
    in an extra data root; TR 2 s, 362 volumes, first kept volume at t = 20 s.
``default-movie``
    Procedurally rendered scenes and rest blocks with captions written for this project
    (:mod:`analysis_lib.stimuli.movie`); TR 1 s, 290 volumes, 4 frames of 64 x 64 per TR.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..paths import require_data
from .movie import (
    MovieStimulus,
    default_movie,
    default_movie_timeline,
    movie_from_frames,
    movie_from_video,
    read_captions,
    write_captions,
)
from .speech import default_story_text, default_story_words, time_text
from .story import (
    StoryStimulus,
    make_story,
    read_gentle_csv,
    read_textgrid,
    read_word_tsv,
    story_from_file,
)

Stimulus = StoryStimulus | MovieStimulus

ALICE_TEXTGRID = "alice/alice_stim_shared/DownTheRabbitHoleFinal_exp120_pad_1.TextGrid"
ALICE_HOW_TO_GET = (
    "The Alice stimulus is part of Brennan et al. (2016), 'Abstract linguistic structure "
    "correlates with temporal activity during naturalistic comprehension' (CC-BY 4.0); "
    "'python -m analysis_lib fetch alice' downloads it into the data home."
)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".gif")


def _default_story(**grid) -> StoryStimulus:
    words, n_volumes = default_story_words()
    grid = {"tr": 1.5, "n_volumes": n_volumes, "t0": 0.0, **grid}
    return make_story(
        words[["word", "onset", "offset"]], name="default-story", source="default-story", **grid
    )


def _alice(**grid) -> StoryStimulus:
    path = require_data(ALICE_TEXTGRID, ALICE_HOW_TO_GET)
    grid = {"tr": 2.0, "n_volumes": 362, "t0": 20.0, "scan_start": 0.0, **grid}
    return story_from_file(path, name="alice", **grid)


def _partly_cloudy(**grid):
    """The annotated events of the Partly Cloudy film as text (no frames, no dialogue)."""
    from ..datasets import partly_cloudy  # lazy: datasets import stimuli helpers

    if grid:
        raise ValueError(
            f"partly-cloudy: the grid is fixed by the scans (TR 0.8 s, 380 volumes); "
            f"got {sorted(grid)}"
        )
    return partly_cloudy.stimulus()


#: name -> (loader, one-line description)
STIMULI: dict[str, tuple[Callable[..., Stimulus], str]] = {
    "default-story": (_default_story, "original story, synthetic timings, TR 1.5 s"),
    "alice": (_alice, "Alice ch. 1 TextGrid (extra data root), TR 2 s, 362 vols, t0 20 s"),
    "default-movie": (default_movie, "rendered scenes and rests with captions, TR 1 s"),
    "partly-cloudy": (
        _partly_cloudy,
        "Partly Cloudy film: its 19 event descriptions as text (extra data root), TR 0.8 s",
    ),
}


def stimulus_names() -> list[str]:
    """Names accepted by :func:`load_stimulus`."""
    return list(STIMULI)


def load_stimulus(name_or_path: str | os.PathLike[str] | Stimulus, **grid) -> Stimulus:
    """Load a named stimulus or read one from a file or folder.

    Parameters
    ----------
    name_or_path : str, path-like or stimulus
        A name of :data:`STIMULI`, a ``.TextGrid``/``.csv`` (Gentle)/``.tsv`` story file,
        a video file, or a folder of frames. A stimulus object is returned unchanged.
    **grid
        Acquisition grid and reader options: ``tr``, ``n_volumes``, ``t0`` (and
        ``scan_start`` for stories; ``captions``, ``frames_per_tr``, ``size``, ``fps``
        for movies). For named stimuli they override the defaults, e.g.
        ``load_stimulus("default-story", n_volumes=40)`` keeps the first minute.

    Returns
    -------
    StoryStimulus or MovieStimulus
        The stimulus on its acquisition grid.

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid names), unknown format, bad file.
    FileNotFoundError
        Missing file or data.
    """
    if isinstance(name_or_path, StoryStimulus | MovieStimulus):
        return name_or_path
    if getattr(name_or_path, "kind", None) == "events" and hasattr(name_or_path, "texts"):
        return name_or_path  # text events on a scan grid (e.g. partly_cloudy.EventStimulus)
    key = str(name_or_path)
    if key in STIMULI:
        return STIMULI[key][0](**grid)
    path = Path(key).expanduser()
    if not path.exists():
        raise ValueError(
            f"unknown stimulus {key!r}: not a file or folder, and not one of the names "
            f"{', '.join(STIMULI)}"
        )
    if "tr" not in grid:
        raise ValueError(f"{path}: pass the repetition time, e.g. tr=2.0")
    if path.is_dir():
        if "fps" not in grid:
            raise ValueError(f"{path}: a folder of frames needs fps= (frames per second)")
        return movie_from_frames(path, **grid)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return movie_from_video(path, **grid)
    return story_from_file(path, **grid)


__all__ = [
    "STIMULI",
    "MovieStimulus",
    "Stimulus",
    "StoryStimulus",
    "default_movie",
    "default_movie_timeline",
    "default_story_text",
    "default_story_words",
    "load_stimulus",
    "make_story",
    "movie_from_frames",
    "movie_from_video",
    "read_captions",
    "read_gentle_csv",
    "read_textgrid",
    "read_word_tsv",
    "stimulus_names",
    "story_from_file",
    "time_text",
    "write_captions",
]

"""The training world: (frame, caption) pairs rendered from the ``default-movie`` generator.

The trained tiny models (:mod:`analysis_lib.training`) learn from the same procedural
scenes as ``default-movie`` (:mod:`analysis_lib.stimuli.render`: ball, sunrise, traffic,
snow, fish, face, checkerboard, fireworks and the rest screen) and from captions written
with the movie's vocabulary, but never from the movie itself.

A *scene* is one clip of the generator: a scene ``kind``, a duration ``seconds`` (every
scene function depends on the time since the scene started and on its duration), a
render ``size`` in pixels, a square crop of the rendered image (a camera framing) and a
horizontal mirror flag. A frame is a scene at a time ``t`` in ``[0, seconds)``, cropped,
resized to the movie's 64 x 64 pixels (bilinear) and mirrored when asked.

How the training scenes are kept disjoint from the movie's
----------------------------------------------------------
``default-movie`` renders every scene at the script's size (64 px, no crop, no mirror)
with the script's durations (25 s). The training world never uses either value:

* render sizes are drawn from :data:`TRAIN_SIZES` (72-96 px) and every frame is resized
  back to 64 px, so no training frame is a render of the movie's pixel grid; the sizes
  exclude the script's size by construction (checked in :func:`make_pairs`);
* durations are drawn from integers that exclude every duration in the movie script, so
  no training clip has the timing of a movie clip (the events of a scene -- the window
  lighting up, the fish turning, the face smiling -- happen at other times);
* held-out scenes (used for every accuracy reported) use other sizes and durations again
  (:data:`HELDOUT_SIZES`, odd durations), so they are disjoint from both the training
  scenes and the movie.

``tests/test_training.py`` checks the parameter sets and also that no training or
held-out frame is byte-identical to any ``default-movie`` frame, nor to one another.

Captions
--------
Each frame gets a caption of its *class*: scene kind, stage (the scene's events split it
into two or three stages, as the movie's captions do) and, for the ball and the fish,
the direction of motion (which mirroring reverses). Every class has three paraphrases;
the first is the *canonical* caption that the retrieval evaluation ranks. There are
:data:`N_CLASSES` (29) classes, so chance retrieval accuracy is 1 / 29.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from ..stimuli.movie import default_movie_script
from ..stimuli.render import SCENES, render

OUT_SIZE = 64  # the movie's frame size (checked against the script in make_pairs)
TRAIN_SIZES = (72, 80, 88, 96)
HELDOUT_SIZES = (68, 76, 84, 92)
DURATIONS = (16, 40)  # inclusive range of scene durations (s), movie durations excluded
MIN_CROP = 0.85  # crops keep at least this fraction of the rendered side

# stage boundaries per kind: ("phase", thresholds on t / seconds) or ("time", seconds);
# they follow the events drawn by analysis_lib.stimuli.render
STAGES: dict[str, tuple[str, tuple[float, ...]]] = {
    "rest": ("phase", ()),
    "ball": ("phase", (0.32, 0.68)),
    "sunrise": ("phase", (0.3, 0.68)),
    "traffic": ("phase", (0.65 + 1 / 12,)),  # the first extra car joins
    "snow": ("phase", (0.36, 0.68)),
    "fish": ("phase", (0.32, 0.68)),
    "face": ("phase", (0.32, 0.68)),
    "checkerboard": ("phase", (0.48,)),
    "fireworks": ("time", (8.0, 18.0)),
}
DIRECTED = ("ball", "fish")  # kinds whose captions name the direction of motion

# three paraphrases per (kind, stage); "{dir}" is "right" or "left"
TEMPLATES: dict[tuple[str, int], tuple[str, str, str]] = {
    ("rest", 0): (
        "A grey screen with a small white cross in the middle.",
        "Nothing but a white cross on a plain grey screen.",
        "A quiet grey pause with a fixation cross.",
    ),
    ("ball", 0): (
        "A red ball drops onto a green meadow and starts moving {dir}.",
        "A small red ball bounces low over the grass towards the {dir}.",
        "Under a blue sky a red ball hops to the {dir}.",
    ),
    ("ball", 1): (
        "The red ball bounces higher and higher across the grass to the {dir}.",
        "In the middle of the meadow the ball jumps high, heading {dir}.",
        "The ball bounces high over the green grass towards the {dir}.",
    ),
    ("ball", 2): (
        "The red ball rolls to the {dir} and bounces out of sight.",
        "At the {dir} edge of the meadow the ball bounces away.",
        "The ball leaves the grass on the {dir} side.",
    ),
    ("sunrise", 0): (
        "Night over a calm dark sea, with no moon.",
        "A dark sky above a quiet black sea.",
        "The sea is calm and dark before dawn.",
    ),
    ("sunrise", 1): (
        "A yellow sun slowly rises above the horizon.",
        "The sun climbs out of the sea as the sky brightens.",
        "Dawn: a yellow sun appears over the water.",
    ),
    ("sunrise", 2): (
        "The sky turns pale orange and the water starts to shine.",
        "The sun is high and the sea shines under an orange sky.",
        "Bright morning light sparkles on the water.",
    ),
    ("traffic", 0): (
        "Cars drive along a grey road in the afternoon.",
        "A blue truck overtakes two small red cars on the road.",
        "A few cars move along a grey road beside the grass.",
    ),
    ("traffic", 1): (
        "Traffic grows busy as more cars join the road.",
        "Many colourful cars crowd the grey road.",
        "Yellow, purple and orange cars join the busy road.",
    ),
    ("snow", 0): (
        "Snow falls quietly on a small house at night.",
        "A dark house stands in the snow at night.",
        "Slow snowflakes drift past a house with a dark window.",
    ),
    ("snow", 1): (
        "A warm light comes on in the window.",
        "The window of the snowy house glows yellow.",
        "Snow falls on a house with a lit window.",
    ),
    ("snow", 2): (
        "The snow falls faster and covers the roof.",
        "Heavy snow falls quickly on the lit house.",
        "Thick snowflakes rush down past the glowing window.",
    ),
    ("fish", 0): (
        "An orange fish swims to the {dir} through clear blue water.",
        "In a blue tank an orange fish moves {dir}.",
        "An orange fish glides to the {dir} above the sandy bottom.",
    ),
    ("fish", 1): (
        "Bubbles rise as the orange fish swims to the {dir}.",
        "The fish keeps swimming {dir} while bubbles rise from the sand.",
        "Rising bubbles surround an orange fish heading {dir}.",
    ),
    ("fish", 2): (
        "The fish turns around and swims back to the {dir}.",
        "The orange fish has turned and now swims {dir}.",
        "Among the bubbles the fish swims back towards the {dir}.",
    ),
    ("face", 0): (
        "A round yellow face sleeps with its eyes closed.",
        "A yellow face with closed eyes is asleep.",
        "The sleeping face keeps its eyes shut.",
    ),
    ("face", 1): (
        "The face opens its eyes and looks around.",
        "A yellow face is awake and its eyes move.",
        "With open eyes the round face looks left and right.",
    ),
    ("face", 2): (
        "It gives a wide, happy smile.",
        "The yellow face smiles happily.",
        "A big smile spreads across the round face.",
    ),
    ("checkerboard", 0): (
        "A black and white checkerboard flickers quickly.",
        "Small black and white squares flash fast.",
        "A fine checkerboard pattern flickers rapidly.",
    ),
    ("checkerboard", 1): (
        "The squares grow larger and the flicker slows down.",
        "Large black and white squares flicker slowly.",
        "A coarse checkerboard flashes at a slow pace.",
    ),
    ("fireworks", 0): (
        "Fireworks burst over a dark city skyline.",
        "Red and blue rings explode above the city at night.",
        "The first fireworks light up the dark sky over the buildings.",
    ),
    ("fireworks", 1): (
        "Green and pink rings expand and fade.",
        "Pink and green fireworks spread over the skyline.",
        "More rings of green and pink light fade in the sky.",
    ),
    ("fireworks", 2): (
        "A final golden burst fills the whole sky.",
        "A huge golden firework covers the night sky.",
        "The show ends with a great gold explosion.",
    ),
}


def _n_stages(kind: str) -> int:
    return len(STAGES[kind][1]) + 1


def _classes() -> tuple[tuple[str, int, str], ...]:
    out = []
    for kind in SCENES:
        for stage in range(_n_stages(kind)):
            for direction in ("right", "left") if kind in DIRECTED else ("",):
                out.append((kind, stage, direction))
    return tuple(out)


CLASSES: tuple[tuple[str, int, str], ...] = _classes()
"""Every caption class ``(kind, stage, direction)``; ``direction`` is "" when unnamed."""
N_CLASSES = len(CLASSES)
KINDS = tuple(SCENES)


def class_captions(index: int) -> tuple[str, ...]:
    """The paraphrases of one caption class.

    Parameters
    ----------
    index : int
        Index in :data:`CLASSES`.

    Returns
    -------
    tuple of str
        Three paraphrases; the first one is canonical.
    """
    kind, stage, direction = CLASSES[index]
    return tuple(t.format(dir=direction) for t in TEMPLATES[(kind, stage)])


def canonical_captions() -> list[str]:
    """The canonical caption of every class.

    Returns
    -------
    list of str, length N_CLASSES
        In the order of :data:`CLASSES`.
    """
    return [class_captions(i)[0] for i in range(N_CLASSES)]


def stage_of(kind: str, t: float, seconds: float) -> int:
    """Stage of a scene at a time (see :data:`STAGES`).

    Parameters
    ----------
    kind : str
        Scene kind.
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).

    Returns
    -------
    int
        0-based stage.
    """
    unit, bounds = STAGES[kind]
    x = t / seconds if unit == "phase" else t
    return int(np.searchsorted(np.asarray(bounds, float), x, side="right"))


def direction_of(kind: str, stage: int, mirrored: bool) -> str:
    """Direction of motion named in the caption.

    Parameters
    ----------
    kind : str
        Scene kind.
    stage : int
        Stage of the scene (:func:`stage_of`).
    mirrored : bool
        Whether the frame is flipped left-right.

    Returns
    -------
    {"right", "left", ""}
        "" for kinds without a direction.
    """
    if kind not in DIRECTED:
        return ""
    rightwards = not (kind == "fish" and stage == 2)  # the fish turns back in stage 2
    return "right" if rightwards != bool(mirrored) else "left"


def class_of(kind: str, t: float, seconds: float, mirrored: bool) -> int:
    """Caption class of a frame.

    Parameters
    ----------
    kind : str
        Scene kind.
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    mirrored : bool
        Whether the frame is flipped left-right.

    Returns
    -------
    int
        Index in :data:`CLASSES`.
    """
    stage = stage_of(kind, t, seconds)
    return CLASSES.index((kind, stage, direction_of(kind, stage, mirrored)))


@dataclass(frozen=True)
class Scene:
    """One clip of the generator.

    Attributes
    ----------
    kind : str
        A scene of :data:`analysis_lib.stimuli.render.SCENES`.
    seconds : float
        Duration of the clip (the scene functions depend on it).
    size : int
        Render size in pixels (square).
    crop : (int, int, int)
        Row, column and side of the square crop of the rendered image.
    mirrored : bool
        Flip left-right after cropping.
    """

    kind: str
    seconds: float
    size: int
    crop: tuple[int, int, int]
    mirrored: bool

    def frame(self, t: float, out_size: int = OUT_SIZE) -> np.ndarray:
        """The frame at a time of the clip.

        Parameters
        ----------
        t : float
            Time since the scene started (s).
        out_size : int
            Side of the output frame in pixels.

        Returns
        -------
        numpy.ndarray, shape (out_size, out_size, 3), uint8
            RGB, cropped, resized and mirrored as the scene says.
        """
        from PIL import Image

        img = render(self.kind, t, self.seconds, self.size)
        y0, x0, side = self.crop
        img = img[y0 : y0 + side, x0 : x0 + side]
        if side != out_size:
            img = np.asarray(
                Image.fromarray(np.ascontiguousarray(img)).resize(
                    (out_size, out_size), Image.Resampling.BILINEAR
                )
            )
        if self.mirrored:
            img = img[:, ::-1]
        return np.ascontiguousarray(img)


@dataclass(frozen=True, eq=False)
class PairSet:
    """(frame, caption) pairs with their labels.

    Attributes
    ----------
    frames : numpy.ndarray, shape (n_pairs, 64, 64, 3), uint8
    captions : list of str, length n_pairs
        A paraphrase of the frame's class caption.
    labels : numpy.ndarray, shape (n_pairs,), int
        Class index in :data:`CLASSES`.
    kinds : numpy.ndarray, shape (n_pairs,), int
        Scene kind index in :data:`KINDS`.
    scene_index : numpy.ndarray, shape (n_pairs,), int
        Index of the pair's scene in ``scenes``.
    times : numpy.ndarray, shape (n_pairs,), float
        Time of the frame within its scene (s).
    scenes : list of Scene
    split : str
        ``"train"`` or ``"heldout"``.
    """

    frames: np.ndarray
    captions: list[str]
    labels: np.ndarray
    kinds: np.ndarray
    scene_index: np.ndarray
    times: np.ndarray
    scenes: list[Scene]
    split: str

    def __len__(self) -> int:
        return len(self.captions)


def movie_scene_parameters() -> tuple[set[float], int]:
    """Durations and render size that ``default-movie`` uses (from its packaged script).

    Returns
    -------
    seconds : set of float
        Scene durations of the movie script.
    size : int
        Render size of its frames in pixels.
    """
    script = default_movie_script()
    return {float(s["seconds"]) for s in script["scenes"]}, int(script["size"])


def scene_durations(split: str) -> list[int]:
    """Allowed scene durations of a split.

    Parameters
    ----------
    split : {"train", "heldout"}

    Returns
    -------
    list of int
        Even (train) or odd (held-out) seconds in :data:`DURATIONS`, never a duration of
        the movie script.
    """
    movie_seconds, _ = movie_scene_parameters()
    parity = {"train": 0, "heldout": 1}[split]
    lo, hi = DURATIONS
    return [s for s in range(lo, hi + 1) if s % 2 == parity and float(s) not in movie_seconds]


def sample_scenes(n_scenes: int, split: str, seed: int) -> list[Scene]:
    """Draw the scenes of a split (kinds cycle so every kind is represented).

    Parameters
    ----------
    n_scenes : int
    split : {"train", "heldout"}
    seed : int
        Seed of the draw (with the split, so the two splits differ).

    Returns
    -------
    list of Scene, length n_scenes

    Raises
    ------
    ValueError
        Unknown split, or a parameter set that would overlap the movie's.
    """
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    movie_seconds, movie_size = movie_scene_parameters()
    if movie_size != OUT_SIZE:
        raise ValueError(f"default-movie frames are {movie_size} px; the world assumes {OUT_SIZE}")
    sizes = TRAIN_SIZES if split == "train" else HELDOUT_SIZES
    durations = scene_durations(split)
    if movie_size in sizes or movie_seconds & {float(d) for d in durations}:
        raise ValueError("training world parameters overlap the default-movie script")
    rng = np.random.default_rng([seed, 0 if split == "train" else 1, 7919])
    kinds = [KINDS[i % len(KINDS)] for i in range(n_scenes)]
    order = rng.permutation(n_scenes)
    scenes = []
    for i in order:
        size = int(rng.choice(sizes))
        side = int(rng.integers(int(np.ceil(MIN_CROP * size)), size + 1))
        y0, x0 = (int(v) for v in rng.integers(0, size - side + 1, size=2))
        scenes.append(
            Scene(
                kind=kinds[i],
                seconds=float(rng.choice(durations)),
                size=size,
                crop=(y0, x0, side),
                mirrored=bool(rng.integers(2)),
            )
        )
    return scenes


def make_pairs(
    n_scenes: int, frames_per_scene: int, split: str, seed: int = 0, *, progress: bool = False
) -> PairSet:
    """Render the (frame, caption) pairs of a split.

    Parameters
    ----------
    n_scenes : int
        Number of scenes (clips); kinds are balanced.
    frames_per_scene : int
        Frames drawn at uniform random times within each scene.
    split : {"train", "heldout"}
    seed : int
    progress : bool
        Show a progress bar while rendering (in a terminal only).

    Returns
    -------
    PairSet
        ``n_scenes * frames_per_scene`` pairs. The result is cached in memory (frames are
        read-only).
    """
    return _make_pairs(int(n_scenes), int(frames_per_scene), str(split), int(seed), progress)


@functools.lru_cache(maxsize=4)
def _make_pairs(
    n_scenes: int, frames_per_scene: int, split: str, seed: int, progress: bool
) -> PairSet:
    from tqdm.auto import tqdm

    if n_scenes < 1 or frames_per_scene < 1:
        raise ValueError("n_scenes and frames_per_scene must be >= 1")
    scenes = sample_scenes(n_scenes, split, seed)
    rng = np.random.default_rng([seed, 0 if split == "train" else 1, 104729])
    n = n_scenes * frames_per_scene
    frames = np.empty((n, OUT_SIZE, OUT_SIZE, 3), np.uint8)
    captions, labels, kinds, index, times = [], [], [], [], []
    row = 0
    for s, scene in enumerate(
        tqdm(scenes, desc=f"render {split} scenes", disable=None if progress else True)
    ):
        for t in np.sort(rng.uniform(0.0, scene.seconds, size=frames_per_scene)):
            frames[row] = scene.frame(float(t))
            label = class_of(scene.kind, float(t), scene.seconds, scene.mirrored)
            options = class_captions(label)
            captions.append(options[int(rng.integers(len(options)))])
            labels.append(label)
            kinds.append(KINDS.index(scene.kind))
            index.append(s)
            times.append(float(t))
            row += 1
    frames.flags.writeable = False
    return PairSet(
        frames,
        captions,
        np.asarray(labels),
        np.asarray(kinds),
        np.asarray(index),
        np.asarray(times),
        scenes,
        split,
    )


def frame_digests(frames: np.ndarray) -> set[str]:
    """SHA-256 of every frame's bytes (to check that frame sets are disjoint).

    Parameters
    ----------
    frames : numpy.ndarray, shape (n_frames, height, width, 3), uint8

    Returns
    -------
    set of str
        Hex digests (identical frames give one entry).
    """
    return {hashlib.sha256(np.ascontiguousarray(f).tobytes()).hexdigest() for f in frames}

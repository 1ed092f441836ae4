"""Procedural rendering of the ``default-movie`` scenes with numpy.

Each scene is a pure function of the time since the scene started, so the movie is
identical on every machine. Frames are ``uint8`` RGB arrays of shape ``(size, size, 3)``.
The few "random" elements (snowflakes, bubbles, windows) come from a fixed-seed
generator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Frame = np.ndarray


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    return y, x


def _canvas(size: int, color) -> np.ndarray:
    return np.broadcast_to(np.asarray(color, np.float32), (size, size, 3)).copy()


def _disk(y, x, cy, cx, r) -> np.ndarray:
    return (y - cy) ** 2 + (x - cx) ** 2 <= r**2


def _paint(img, mask, color) -> None:
    img[mask] = np.asarray(color, np.float32)


def rest(t: float, seconds: float, size: int) -> Frame:
    """Grey screen with a white fixation cross.

    Parameters
    ----------
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of float32, shape (size, size, 3)
        RGB in [0, 1] (:func:`render` converts to uint8).
    """
    img = _canvas(size, (0.5, 0.5, 0.5))
    c, arm, w = size // 2, max(2, size // 16), max(1, size // 64)
    img[c - w : c + w + 1, c - arm : c + arm + 1] = 1.0
    img[c - arm : c + arm + 1, c - w : c + w + 1] = 1.0
    return img


def ball(t: float, seconds: float, size: int) -> Frame:
    """A red ball bouncing left to right over grass.

    Parameters
    ----------
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of float32, shape (size, size, 3)
        RGB in [0, 1] (:func:`render` converts to uint8).
    """
    y, x = _grid(size)
    img = _canvas(size, (0.35, 0.6, 0.95))
    _paint(img, y > 0.75, (0.2, 0.65, 0.2))
    phase = t / seconds
    height = 0.15 + 0.45 * min(1.0, 0.3 + phase) * abs(np.sin(np.pi * t / 1.2))
    cx, cy = -0.1 + 1.2 * phase, 0.75 - 0.08 - height
    _paint(img, _disk(y, x, cy, cx, 0.08), (0.9, 0.1, 0.1))
    return img


def sunrise(t: float, seconds: float, size: int) -> Frame:
    """The sun rising over a dark sea while the sky brightens.

    Parameters
    ----------
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of float32, shape (size, size, 3)
        RGB in [0, 1] (:func:`render` converts to uint8).
    """
    y, x = _grid(size)
    a = np.clip((t - 0.3 * seconds) / (0.6 * seconds), 0, 1)
    sky = (0.05 + 0.9 * a, 0.05 + 0.5 * a, 0.2 + 0.2 * a)
    img = _canvas(size, sky)
    sun = _disk(y, x, 0.7 - 0.45 * a, 0.5, 0.12) & (y < 0.6)
    _paint(img, sun, (1.0, 0.9, 0.2))
    sea = y >= 0.6
    shimmer = 0.5 + 0.5 * np.sin(40 * x + 3 * t) * a
    img[sea] = np.stack(
        [0.05 + 0.3 * shimmer, 0.1 + 0.3 * shimmer, np.full_like(x, 0.3 + 0.2 * a)], -1
    )[sea]
    return img


def traffic(t: float, seconds: float, size: int) -> Frame:
    """Cars driving along a road; more cars join later.

    Parameters
    ----------
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of float32, shape (size, size, 3)
        RGB in [0, 1] (:func:`render` converts to uint8).
    """
    y, x = _grid(size)
    img = _canvas(size, (0.55, 0.8, 0.55))
    _paint(img, (y > 0.45) & (y < 0.85), (0.35, 0.35, 0.38))
    _paint(img, (np.abs(y - 0.65) < 0.01) & (np.sin(30 * x) > 0), (1, 1, 1))
    cars = [(0.0, 0.12, (0.9, 0.1, 0.1), 0.52), (0.4, 0.12, (0.9, 0.2, 0.1), 0.52)]
    cars.append((-0.5, 0.22, (0.1, 0.2, 0.9), 0.7))
    n_more = int(np.clip((t / seconds - 0.65) * 12, 0, 4))
    colors = [(0.95, 0.85, 0.1), (0.1, 0.8, 0.8), (0.9, 0.5, 0.1), (0.6, 0.1, 0.7)]
    cars += [(-0.3 * (k + 1), 0.15, colors[k], 0.7 if k % 2 else 0.52) for k in range(n_more)]
    for start, speed, color, lane in cars:
        cx = (start + speed * t / seconds * 4) % 1.4 - 0.2
        _paint(img, (np.abs(x - cx) < 0.09) & (np.abs(y - lane - 0.05) < 0.05), color)
    return img


_SNOW = np.random.default_rng(7).random((160, 3)).astype(np.float32)


def snow(t: float, seconds: float, size: int) -> Frame:
    """Snow falling on a house at night; a window lights up.

    Parameters
    ----------
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of float32, shape (size, size, 3)
        RGB in [0, 1] (:func:`render` converts to uint8).
    """
    y, x = _grid(size)
    img = _canvas(size, (0.02, 0.03, 0.12))
    _paint(img, y > 0.85, (0.85, 0.85, 0.9))
    _paint(img, (np.abs(x - 0.5) < 0.2) & (y > 0.55) & (y <= 0.85), (0.4, 0.2, 0.1))
    _paint(img, (y > 0.35) & (y <= 0.55) & (np.abs(x - 0.5) < (y - 0.35) * 1.25), (0.3, 0.1, 0.1))
    light = (1.0, 0.85, 0.3) if t > 0.36 * seconds else (0.05, 0.05, 0.05)
    _paint(img, (np.abs(x - 0.5) < 0.06) & (np.abs(y - 0.68) < 0.06), light)
    speed = 0.08 if t < 0.68 * seconds else 0.2
    n = 80 if t < 0.68 * seconds else 160
    for fx, fy, fr in _SNOW[:n]:
        cy = (fy + speed * t) % 1.0
        cx = fx + 0.02 * np.sin(t + 6 * fy)
        _paint(img, _disk(y, x, cy, cx, 0.008 + 0.01 * fr), (1, 1, 1))
    return img


_BUBBLES = np.random.default_rng(11).random((30, 2)).astype(np.float32)


def fish(t: float, seconds: float, size: int) -> Frame:
    """An orange fish swimming in a tank, bubbles rising, turning back at the end.

    Parameters
    ----------
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of float32, shape (size, size, 3)
        RGB in [0, 1] (:func:`render` converts to uint8).
    """
    y, x = _grid(size)
    img = _canvas(size, (0.1, 0.35, 0.75))
    _paint(img, y > 0.88, (0.85, 0.75, 0.5))
    turn = 0.68 * seconds
    direction = 1.0 if t < turn else -1.0
    cx = 0.15 + 0.7 * (t / turn) if t < turn else 0.85 - 0.7 * (t - turn) / (seconds - turn)
    cy = 0.45 + 0.1 * np.sin(t)
    body = ((x - cx) / 0.14) ** 2 + ((y - cy) / 0.07) ** 2 <= 1
    tail_x = cx - direction * 0.17
    tail = (np.abs(y - cy) < 0.6 * np.abs(x - tail_x) + 0.01) & (np.abs(x - tail_x) < 0.06)
    _paint(img, body | tail, (1.0, 0.5, 0.05))
    _paint(img, _disk(y, x, cy - 0.015, cx + direction * 0.08, 0.015), (0, 0, 0))
    if t > 0.32 * seconds:
        for bx, by in _BUBBLES:
            cy_b = 0.88 - ((by + 0.15 * t) % 1.0)
            _paint(
                img, _disk(y, x, cy_b, bx, 0.015) & ~_disk(y, x, cy_b, bx, 0.008), (0.9, 0.95, 1)
            )
    return img


def face(t: float, seconds: float, size: int) -> Frame:
    """A yellow face that wakes up, looks around and smiles.

    Parameters
    ----------
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of float32, shape (size, size, 3)
        RGB in [0, 1] (:func:`render` converts to uint8).
    """
    y, x = _grid(size)
    img = _canvas(size, (0.85, 0.9, 0.95))
    _paint(img, _disk(y, x, 0.5, 0.5, 0.38), (1.0, 0.85, 0.15))
    awake = t > 0.32 * seconds
    look = 0.04 * np.sin(2 * t) if awake and t < 0.68 * seconds else 0.0
    for ex in (0.36, 0.64):
        if awake:
            _paint(img, _disk(y, x, 0.4, ex, 0.06), (1, 1, 1))
            _paint(img, _disk(y, x, 0.4, ex + look, 0.03), (0, 0, 0))
        else:
            _paint(img, (np.abs(y - 0.4) < 0.012) & (np.abs(x - ex) < 0.06), (0, 0, 0))
    smile = 0.12 if t > 0.68 * seconds else 0.02
    curve = 0.65 + smile * (1 - ((x - 0.5) / 0.18) ** 2)
    _paint(img, (np.abs(y - curve) < 0.02) & (np.abs(x - 0.5) < 0.18), (0.5, 0.1, 0.1))
    return img


def checkerboard(t: float, seconds: float, size: int) -> Frame:
    """A flickering checkerboard; squares grow and the flicker slows down halfway.

    Parameters
    ----------
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of float32, shape (size, size, 3)
        RGB in [0, 1] (:func:`render` converts to uint8).
    """
    y, x = _grid(size)
    late = t >= 0.48 * seconds
    n, hz = (4, 2.0) if late else (8, 8.0)
    check = (np.floor(x * n * 0.999) + np.floor(y * n * 0.999)) % 2
    flip = np.floor(t * hz) % 2
    value = np.abs(check - flip)
    return np.repeat(value[..., None], 3, axis=-1).astype(np.float32)


def fireworks(t: float, seconds: float, size: int) -> Frame:
    """Rings expanding over a city skyline; a final golden burst.

    Parameters
    ----------
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of float32, shape (size, size, 3)
        RGB in [0, 1] (:func:`render` converts to uint8).
    """
    y, x = _grid(size)
    img = _canvas(size, (0.01, 0.01, 0.06))
    heights = 0.7 + 0.2 * np.abs(np.sin(np.floor(x * 10) * 1.7))
    _paint(img, y > heights, (0.08, 0.08, 0.1))
    bursts = [(1.0, 0.3, 0.3, (1, 0.3, 0.3)), (5.0, 0.25, 0.7, (0.3, 0.6, 1.0))]
    bursts += [(9.0, 0.35, 0.4, (0.2, 1.0, 0.3)), (12.5, 0.2, 0.65, (1.0, 0.3, 0.8))]
    bursts += [(15.0, 0.3, 0.25, (0.3, 1.0, 0.6)), (18.0, 0.35, 0.5, (1.0, 0.85, 0.2))]
    for start, cy, cx, color in bursts:
        age = t - start
        if 0 <= age < 4 or (color == (1.0, 0.85, 0.2) and age >= 0):
            radius = 0.05 + 0.12 * min(age, 3.0) * (2.0 if start == 18.0 else 1.0)
            fade = max(0.2, 1 - age / 5)
            ring = np.abs(np.sqrt((y - cy) ** 2 + (x - cx) ** 2) - radius) < 0.02
            _paint(img, ring & (y < heights), tuple(c * fade for c in color))
    return img


SCENES: dict[str, Callable[[float, float, int], Frame]] = {
    "rest": rest,
    "ball": ball,
    "sunrise": sunrise,
    "traffic": traffic,
    "snow": snow,
    "fish": fish,
    "face": face,
    "checkerboard": checkerboard,
    "fireworks": fireworks,
}


def render(kind: str, t: float, seconds: float, size: int) -> np.ndarray:
    """Render one frame of a scene as ``uint8`` RGB, shape ``(size, size, 3)``.

    Parameters
    ----------
    kind : str
        Scene name (a key of :data:`SCENES`).
    t : float
        Time since the scene started (s).
    seconds : float
        Duration of the scene (s).
    size : int
        Frame height and width (pixels).

    Returns
    -------
    numpy.ndarray of uint8, shape (size, size, 3)
        The RGB frame.
    """
    try:
        scene = SCENES[kind]
    except KeyError:
        raise ValueError(f"unknown scene {kind!r}; valid: {sorted(SCENES)}") from None
    img = scene(float(t), float(seconds), int(size))
    return np.round(np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)

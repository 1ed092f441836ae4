"""Small duck-typed stimuli for the dataset tests (fast, independent of the default ones)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

VOCAB = (
    "the",
    "keeper",
    "of",
    "tide",
    "clock,",
    "stood.",
    "island",
    "narrow;",
    "water",
    "boats?",
    "cross",
    "bar",
    "sand!",
    "Mara",
    "ledger:",
    "a",
    "lighthouse",
)


@dataclass
class FakeStory:
    name: str
    words: pd.DataFrame
    tr: float
    n_volumes: int
    t0: float = 0.0

    @property
    def volume_times(self) -> np.ndarray:
        return self.t0 + self.tr * np.arange(self.n_volumes)


@dataclass
class FakeMovie:
    name: str
    frames: np.ndarray
    frame_times: np.ndarray
    texts: list = field(default_factory=list)
    tr: float = 1.0
    n_volumes: int = 0
    t0: float = 0.0

    @property
    def volume_times(self) -> np.ndarray:
        return self.t0 + self.tr * np.arange(self.n_volumes)


def fake_story(n_words: int = 700, tr: float = 1.5, seed: int = 0) -> FakeStory:
    rng = np.random.default_rng(seed)
    t, rows = 4.0, []
    for _ in range(n_words):
        w = VOCAB[rng.integers(len(VOCAB))]
        d = 0.12 + 0.05 * len(w)
        rows.append((w, t, t + d))
        t += d + (0.6 if w[-1] in ".!?" else 0.3 if w[-1] in ",;:" else rng.uniform(0.02, 0.2))
    words = pd.DataFrame(rows, columns=["word", "onset", "offset"])
    return FakeStory("fake-story", words, tr, int((t + 15) // tr))


def fake_movie(n_volumes: int = 240, fps: int = 4, size: int = 16, seed: int = 0) -> FakeMovie:
    rng = np.random.default_rng(seed)
    n = n_volumes * fps
    frames = np.zeros((n, size, size, 3), np.float32)
    level = 0.5
    for f in range(n):
        if rng.random() < 0.02:
            level = rng.uniform(0.1, 0.9)  # scene cut: new brightness
        frames[f] = level + rng.normal(0, rng.uniform(0.01, 0.2), (size, size, 3))
    text = ["" if rng.random() < 0.5 else "a caption" for _ in range(n_volumes)]
    # blocks of captions so the feature is slow enough to survive the HRF
    text = [text[(i // 8) * 8] for i in range(n_volumes)]
    return FakeMovie("fake-movie", frames, np.arange(n) / fps, text, 1.0, n_volumes)

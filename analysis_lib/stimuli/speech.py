"""A deterministic speech-rate model that turns text into word timings.

Used for ``default-story``, an original story shipped as text in ``analysis_lib/data``.
The model, chosen to give a typical narration rate of about 150 words per minute:

* each word lasts ``WORD_BASE + SYLLABLE * syllables(word)`` seconds
  (0.08 s + 0.19 s per syllable, i.e. about 4.5 syllables per second of speech);
* ``syllables`` counts groups of vowels (``a e i o u y``) in the word's letters, minus a
  silent final ``e`` (not after ``l``) and a silent final ``ed`` (not after ``t`` or
  ``d``), at least 1;
* after a word ending a sentence (``. ! ?``, possibly followed by quotes) there is a pause
  of ``PAUSE_SENTENCE`` (0.45 s); after ``, ; :`` a pause of ``PAUSE_CLAUSE`` (0.20 s);
  a paragraph break adds ``PAUSE_PARAGRAPH`` (0.70 s) and the title line is followed
  by a paragraph break;
* speech starts at ``LEAD_IN`` (3 s) and ``TAIL`` (15 s) of silence follows the last word.

No randomness is involved: the same text always gives the same timings.
"""

from __future__ import annotations

import math
import re
from importlib import resources

import pandas as pd

WORD_BASE = 0.08
SYLLABLE = 0.19
PAUSE_SENTENCE = 0.45
PAUSE_CLAUSE = 0.20
PAUSE_PARAGRAPH = 0.70
LEAD_IN = 3.0
TAIL = 15.0

_VOWEL_GROUPS = re.compile(r"[aeiouy]+")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*$")
_CLAUSE_END = re.compile(r"[,;:][\"'”’)]*$")


def syllables(word: str) -> int:
    """Estimate the number of syllables of an English word (at least 1)."""
    letters = re.sub(r"[^a-z]", "", word.lower())
    if not letters:
        return 1
    count = len(_VOWEL_GROUPS.findall(letters))
    if count > 1 and (
        (letters.endswith("e") and not letters.endswith("le"))
        or (letters.endswith("ed") and not letters.endswith(("ted", "ded")))
    ):
        count -= 1
    return max(1, count)


def pause_after(word: str) -> float:
    """Pause in seconds after ``word``, from its trailing punctuation."""
    if _SENTENCE_END.search(word):
        return PAUSE_SENTENCE
    if _CLAUSE_END.search(word):
        return PAUSE_CLAUSE
    return 0.0


def time_text(text: str, lead_in: float = LEAD_IN) -> pd.DataFrame:
    """Give every whitespace-separated word of ``text`` an onset and offset.

    Paragraphs are separated by blank lines.

    Parameters
    ----------
    text : str
        The story; paragraphs separated by blank lines.
    lead_in : float
        Silence before the first word (s).

    Returns
    -------
    pandas.DataFrame
        Columns ``word``, ``onset``, ``offset`` (s), ``paragraph`` (int).
    """
    paragraphs = [p.split() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rows = []
    t = lead_in
    for number, words in enumerate(paragraphs):
        for i, word in enumerate(words):
            duration = WORD_BASE + SYLLABLE * syllables(word)
            rows.append((word, round(t, 6), round(t + duration, 6), number))
            t += duration + pause_after(word)
            if i == len(words) - 1:
                t += PAUSE_PARAGRAPH
    return pd.DataFrame(rows, columns=["word", "onset", "offset", "paragraph"])


def default_story_text() -> str:
    """The text of ``default-story`` (an original story written for this project)."""
    return resources.files("analysis_lib").joinpath("data/default_story.txt").read_text("utf-8")


def default_story_words() -> tuple[pd.DataFrame, int]:
    """Word timings of ``default-story`` and the number of 1.5 s volumes covering it."""
    words = time_text(default_story_text())
    n_volumes = math.ceil((words["offset"].iloc[-1] + TAIL) / 1.5)
    return words, n_volumes

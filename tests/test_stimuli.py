"""Story and movie stimuli: readers, named stimuli, grids and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis_lib import stimuli
from analysis_lib.paths import find_data
from analysis_lib.stimuli import speech

needs_alice = pytest.mark.skipif(
    find_data(stimuli.ALICE_TEXTGRID) is None, reason="Alice TextGrid not in an extra data root"
)


# ----------------------------------------------------------------- default story


def test_default_story_is_long_and_deterministic():
    story = stimuli.load_stimulus("default-story")
    assert story.name == "default-story" and story.tr == 1.5 and story.t0 == 0.0
    assert len(story.words) >= 1500
    duration = story.words["offset"].iloc[-1] - story.words["onset"].iloc[0]
    assert duration >= 8 * 60
    np.testing.assert_allclose(story.volume_times, 1.5 * np.arange(story.n_volumes))
    assert story.volume_times[-1] > story.words["offset"].iloc[-1]
    again = stimuli.load_stimulus("default-story")
    pd.testing.assert_frame_equal(story.words, again.words)
    assert story.sha256 == again.sha256
    w = story.words
    assert (w["offset"] > w["onset"]).all() and (w["onset"].diff().dropna() > 0).all()


def test_speech_rate_model():
    assert speech.syllables("cat") == 1
    assert speech.syllables("tower") == 2
    assert speech.syllables("make") == 1  # silent final e
    assert speech.syllables("little") == 2
    assert speech.syllables("remembered") == 3  # silent final ed
    assert speech.syllables("wanted") == 2
    words = speech.time_text("One two, three.\n\nFour")
    d = words.set_index("word")
    # durations follow the syllable model, pauses follow punctuation
    assert d.loc["One", "offset"] - d.loc["One", "onset"] == pytest.approx(0.27)
    assert d.loc["three.", "onset"] - d.loc["two,", "offset"] == pytest.approx(0.2)
    gap = d.loc["Four", "onset"] - d.loc["three.", "offset"]
    assert gap == pytest.approx(speech.PAUSE_SENTENCE + speech.PAUSE_PARAGRAPH)
    assert list(words["paragraph"]) == [0, 0, 0, 1]


def _short_story(n_volumes):
    with pytest.warns(UserWarning, match="outside the scan window"):
        return stimuli.load_stimulus("default-story", n_volumes=n_volumes)


def test_textgrid_roundtrip(tmp_path):
    story = _short_story(60)
    path = story.to_textgrid(tmp_path / "story.TextGrid")
    back = stimuli.load_stimulus(path, tr=1.5, n_volumes=60)
    assert list(back.words["word"]) == list(story.words["word"])
    np.testing.assert_allclose(back.words[["onset", "offset"]], story.words[["onset", "offset"]])
    assert back.name == "story" and back.source == str(path)


def test_short_grid_drops_words_with_warning():
    with pytest.warns(UserWarning, match=r"words lie outside the scan window"):
        story = stimuli.load_stimulus("default-story", n_volumes=20)
    assert story.words["onset"].max() < 30.0
    assert len(story.words) > 20


# ----------------------------------------------------------------- alice


@needs_alice
def test_alice_grid_and_words():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no word is outside the window
        alice = stimuli.load_stimulus("alice")
    assert (alice.tr, alice.n_volumes, alice.t0) == (2.0, 362, 20.0)
    assert alice.volume_times[0] == 20.0 and alice.volume_times[-1] == 20.0 + 2 * 361
    assert alice.words["word"].iloc[0] == "Alice"
    assert alice.words["onset"].iloc[0] == pytest.approx(20.0589, abs=1e-3)
    assert "sp" not in set(alice.words["word"])
    assert 2000 < len(alice.words) < 2423


# ----------------------------------------------------------------- readers


def test_tsv_and_gentle_readers(tmp_path):
    tsv = tmp_path / "words.tsv"
    tsv.write_text("word\tonset\toffset\nhello\t0.5\t0.9\nworld\t1.0\t1.4\n")
    story = stimuli.load_stimulus(tsv, tr=1.0, n_volumes=10)
    assert list(story.words["word"]) == ["hello", "world"]
    csv = tmp_path / "align.csv"
    csv.write_text("Hello,hello,0.5,0.9\nthere,<unk>,,\nworld,world,1.0,1.4\n")
    with pytest.warns(UserWarning, match="1 unaligned"):
        story = stimuli.load_stimulus(csv, tr=1.5)
    assert list(story.words["word"]) == ["Hello", "world"]
    assert story.n_volumes == int(np.ceil((1.4 + 16) / 1.5))


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("a.tsv", "word\tonset\toffset\nok\t0\t1\nbad\tx\t2\n", r"a\.tsv:3: onset 'x'"),
        ("b.tsv", "word\tstart\n", r"b\.tsv:1: header .* lacks column"),
        ("c.tsv", "word\tonset\toffset\nok\t2\t1\n", r"c\.tsv:2: offset 1.0 precedes"),
        ("d.tsv", "word\tonset\toffset\nok\t1\n", r"d\.tsv:2: expected 3"),
        ("e.csv", "a,a,0.1,0.2\nb,b,zz,0.3\n", r"e\.csv:2: onset 'zz'"),
        ("f.tsv", "", r"f\.tsv: the file is empty"),
    ],
)
def test_table_errors_name_file_and_line(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        stimuli.load_stimulus(path, tr=1.0)


def test_bad_textgrid_names_the_line(tmp_path):
    story = _short_story(30)
    good = story.to_textgrid(tmp_path / "good.TextGrid")
    lines = good.read_text().splitlines()
    target = next(i for i, line in enumerate(lines) if "xmax" in line and i > 20)
    lines[target] = "            xmax = twelve"
    bad = tmp_path / "bad.TextGrid"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"bad\.TextGrid:{target + 1}: xmax value 'twelve'"):
        stimuli.load_stimulus(bad, tr=1.5)
    with pytest.raises(ValueError, match=r"no interval tier 'phones'"):
        stimuli.read_textgrid(good, tier="phones")


def test_unknown_and_empty_stimuli(tmp_path):
    with pytest.raises(ValueError, match=r"default-story, alice, default-movie"):
        stimuli.load_stimulus("no-such-story")
    empty = tmp_path / "empty.tsv"
    empty.write_text("word\tonset\toffset\n")
    with pytest.raises(ValueError, match="no words"):
        stimuli.load_stimulus(empty, tr=1.0)
    with pytest.raises(ValueError, match="pass the repetition time"):
        stimuli.load_stimulus(empty)
    with pytest.raises(ValueError, match=r"unknown story format '\.txt'"):
        (tmp_path / "x.txt").write_text("x")
        stimuli.load_stimulus(tmp_path / "x.txt", tr=1.0)


# ----------------------------------------------------------------- movies


def test_default_movie_structure():
    movie = stimuli.load_stimulus("default-movie")
    assert movie.tr == 1.0 and movie.n_volumes == 290 and movie.frames_per_tr == 4
    assert movie.frames.shape == (290 * 4, 64, 64, 3) and movie.frames.dtype == np.uint8
    assert not movie.frames.flags.writeable
    blocks = stimuli.default_movie_timeline()
    texts = movie.texts
    assert len(texts) == 290
    rests = blocks[blocks["kind"] == "rest"]
    assert len(rests) == 9 and len(blocks) == 17
    for onset, duration in rests[["onset", "duration"]].itertuples(index=False):
        v = np.arange(int(onset), int(onset + duration))
        assert all(texts[i] == "" for i in v)  # no caption during rest
        grey = movie.frames[v * 4].astype(float)
        assert np.all(np.abs(np.median(grey, axis=(1, 2, 3)) - 128) <= 1)
    scene_means = []
    for onset, duration in blocks[blocks["kind"] != "rest"][["onset", "duration"]].itertuples(
        index=False
    ):
        v = np.arange(int(onset), int(onset + duration))
        assert all(texts[i] for i in v)  # every scene TR has text
        scene_means.append(movie.frames[v[0] * 4 : (v[-1] + 1) * 4].mean(axis=(0, 1, 2)))
    # clear scene changes: scenes differ in mean colour
    scene_means = np.array(scene_means)
    distance = np.abs(scene_means[:, None] - scene_means[None]).sum(-1)
    assert distance[~np.eye(len(scene_means), dtype=bool)].min() > 5
    short = stimuli.default_movie(n_volumes=30)
    np.testing.assert_array_equal(short.frames, movie.frames[:120])
    assert short.texts == texts[:30]
    half = stimuli.default_movie(frames_per_tr=2, n_volumes=30)
    assert half.frames.shape == (60, 64, 64, 3)
    np.testing.assert_allclose(half.frame_times[:4], [0.25, 0.75, 1.25, 1.75])


def test_frames_folder_roundtrip(tmp_path):
    movie = stimuli.default_movie(n_volumes=24)
    movie.write_frames(tmp_path / "frames")
    back = stimuli.load_stimulus(tmp_path / "frames", tr=1.0, fps=4)
    assert back.n_volumes == 24
    np.testing.assert_array_equal(back.frames, movie.frames)
    assert back.texts == movie.texts
    pd.testing.assert_frame_equal(back.captions, movie.captions, check_dtype=False)


def test_video_roundtrip(tmp_path):
    import av

    movie = stimuli.default_movie(n_volumes=16, frames_per_tr=2)
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=2)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for frame in movie.frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.array(frame), "rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    stimuli.write_captions(movie.captions, tmp_path / "clip.tsv")
    back = stimuli.load_stimulus(path, tr=1.0, frames_per_tr=2)
    assert back.frames.shape == movie.frames.shape and back.n_volumes == 16
    error = np.abs(back.frames.astype(float) - movie.frames.astype(float)).mean()
    assert error < 12  # lossy codec, same pictures
    assert back.texts == movie.texts
    with pytest.raises(ValueError, match="at most 16 fit"):
        stimuli.load_stimulus(path, tr=1.0, n_volumes=40)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError, match=r"bad\.mp4: not a readable video"):
        stimuli.load_stimulus(bad, tr=1.0)


def test_captions_errors(tmp_path):
    path = tmp_path / "cap.tsv"
    path.write_text("onset\tduration\ttext\n0\t-1\thello\n")
    with pytest.raises(ValueError, match=r"cap\.tsv:2: negative duration"):
        stimuli.read_captions(path)

"""Trained tiny models: world disjoint from default-movie, determinism, learning, cache,
registry and extraction. Every run here is a very short training on a small world."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from analysis_lib import models, training
from analysis_lib.stimuli import load_stimulus
from analysis_lib.training import world

TINY_STEPS = {name: 2 for name in training.TRAINED}


def small(seed: int = 0, **changes) -> training.TrainingParams:
    """A world of a few scenes and a couple of optimiser steps per model."""
    base = dict(
        seed=seed,
        n_train_scenes=18,
        n_heldout_scenes=9,
        frames_per_scene=2,
        steps=dict(TINY_STEPS),
        batch_size=8,
    )
    base.update(changes)
    return training.TrainingParams(**base)


@dataclasses.dataclass(frozen=True)
class _SmallDefaults(training.TrainingParams):
    """Default parameters replaced by a small world (what the registry looks up)."""

    n_train_scenes: int = 18
    n_heldout_scenes: int = 9
    frames_per_scene: int = 2
    steps: dict = dataclasses.field(default_factory=lambda: dict(TINY_STEPS))
    batch_size: int = 8


# --------------------------------------------------------------------------- world


def test_world_parameters_disjoint_from_movie_and_between_splits():
    movie_seconds, movie_size = world.movie_scene_parameters()
    assert movie_size == world.OUT_SIZE
    p = training.TrainingParams()
    train = world.sample_scenes(p.n_train_scenes, "train", p.seed)
    held = world.sample_scenes(p.n_heldout_scenes, "heldout", p.seed)
    for scenes in (train, held):
        assert {s.size for s in scenes}.isdisjoint({movie_size})
        assert {s.seconds for s in scenes}.isdisjoint(movie_seconds)
        assert {s.kind for s in scenes} == set(world.KINDS)  # every kind is represented
    assert {(s.size, s.seconds) for s in train}.isdisjoint({(s.size, s.seconds) for s in held})
    assert {s.size for s in train}.isdisjoint({s.size for s in held})
    with pytest.raises(ValueError, match="split"):
        world.sample_scenes(3, "test", 0)


def test_world_frames_never_equal_movie_frames():
    movie = load_stimulus("default-movie")
    movie_digests = world.frame_digests(movie.frames)
    train = world.make_pairs(45, 2, "train", 0)
    held = world.make_pairs(27, 2, "heldout", 0)
    assert train.frames.shape == (90, 64, 64, 3) and train.frames.dtype == np.uint8
    train_digests, held_digests = (
        world.frame_digests(train.frames),
        world.frame_digests(held.frames),
    )
    assert train_digests.isdisjoint(movie_digests)
    assert held_digests.isdisjoint(movie_digests)
    assert held_digests.isdisjoint(train_digests)
    # the check has teeth: a frame rendered with the movie's own parameters is found
    own = world.Scene("ball", 25.0, 64, (0, 0, 64), False).frame(12.625)
    assert world.frame_digests(own[None]) <= movie_digests


def test_captions_match_classes_and_movie_vocabulary():
    pairs = world.make_pairs(18, 2, "train", 0)
    for caption, label in zip(pairs.captions, pairs.labels, strict=True):
        assert caption in world.class_captions(label)
    assert len(set(world.canonical_captions())) == world.N_CLASSES == 29
    movie_words = {
        w.strip(".,").lower() for c in load_stimulus("default-movie").texts for w in c.split()
    }
    ours = {
        w.strip(".,").lower()
        for i in range(world.N_CLASSES)
        for c in world.class_captions(i)
        for w in c.split()
    }
    assert len(ours & movie_words) / len(movie_words) > 0.8
    # stages follow the renderer's events; mirroring reverses the named direction
    assert world.stage_of("face", 0.2 * 30, 30) == 0 and world.stage_of("face", 0.9 * 30, 30) == 2
    assert world.direction_of("ball", 0, False) == "right"
    assert world.direction_of("ball", 0, True) == "left"
    assert world.direction_of("fish", 2, False) == "left"


# --------------------------------------------------------------------------- training


def _weights(name, params):
    from safetensors.torch import load_file

    return load_file(str(training.cache_folder(name, params) / "model.safetensors"))


def test_training_is_deterministic_and_changes_weights(tmp_path, monkeypatch):
    name = "tiny-vit-trained"
    p = small()
    first = training.train(name, p, progress=False, evaluate_twin=False)
    w1 = _weights(name, p)
    training.train(name, p, force=True, progress=False, evaluate_twin=False)  # bit-identical
    w2 = _weights(name, p)
    assert w1.keys() == w2.keys()
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    twin = models.build_tiny("tiny-vit").state_dict()
    assert set(twin) == set(w1)
    assert any(not torch.equal(twin[k], w1[k]) for k in w1)  # training moved the weights
    p3 = small(seed=3)
    assert training.cache_folder(name, p3) != first
    training.train(name, p3, progress=False, evaluate_twin=False)
    w3 = _weights(name, p3)
    assert any(not torch.equal(w1[k], w3[k]) for k in w1)


@pytest.mark.parametrize("name", list(training.TRAINED))
def test_every_model_trains_and_loads_like_its_twin(name):
    p = small(seed=5)
    training.train(name, p, progress=False)
    info = training.training_info(name, p)
    assert set(info["metrics"]) == set(info["untrained_metrics"])
    assert all(0.0 <= v <= 1.0 for v in info["metrics"].values())
    assert info["n_train_pairs"] == 36 and info["n_heldout_pairs"] == 18
    loaded = training.load_trained(name, params=p)
    twin = models.load_model(training.TRAINED[name])
    assert loaded.module.state_dict().keys() == twin.module.state_dict().keys()
    assert (loaded.tokenizer is None) == (twin.tokenizer is None)
    for site in loaded.family.sites:
        assert [s.module_name for s in models.find_sites(loaded, site)] == [
            s.module_name for s in models.find_sites(twin, site)
        ]


def test_clip_short_run_beats_chance_on_heldout_retrieval():
    name = "tiny-clip-trained"
    p = small(n_train_scenes=90, n_heldout_scenes=27, steps={name: 60}, batch_size=32)
    folder = training.train(name, p, progress=False)
    info = training.training_info(name, p)
    assert folder.name == p.digest(name)[:16]
    trained, untrained = info["metrics"], info["untrained_metrics"]
    assert info["n_heldout_pairs"] == 54
    assert trained["retrieval_top1"] >= 3 * trained["chance"], trained
    assert trained["retrieval_top1"] > untrained["retrieval_top1"] + 0.1
    assert info["loss_last"] < info["loss_first"]
    # the stored metrics are reproduced by a fresh evaluation of the cached weights
    again = training.evaluate(name, p)
    assert again["retrieval_top1"] == pytest.approx(trained["retrieval_top1"])


def test_cache_hash_and_no_retraining(monkeypatch):
    name = "tiny-roberta-trained"
    p = small()
    assert p.digest(name) == small().digest(name)
    assert p.digest(name) != small(lr=5e-4).digest(name)
    assert p.digest(name) != small(steps={**TINY_STEPS, name: 3}).digest(name)
    # another model's step count does not enter this model's hash
    assert p.digest(name) == small(steps={**TINY_STEPS, "tiny-clip-trained": 9}).digest(name)
    assert p.digest(name) != p.digest("tiny-vit-trained")
    training.train(name, p, progress=False)
    meta = training.training_info(name, p)
    assert meta["params_sha256"] == p.digest(name)

    def boom(*args, **kwargs):
        raise AssertionError("retrained a cached model")

    monkeypatch.setattr(training, "_fit", boom)
    training.train(name, p, progress=False)  # cached: returns without training
    loaded = training.load_trained(name, params=p)
    assert loaded.name == name and not loaded.module.training
    with pytest.raises(AssertionError, match="retrained"):
        training.train(name, small(lr=5e-4), progress=False)
    with pytest.raises(ValueError, match="valid"):
        training.cache_folder("tiny-bert-trained")


def test_corrupt_cache_names_the_file():
    name = "tiny-roberta-trained"
    p = small(seed=11)
    folder = training.train(name, p, progress=False)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match=r"model\.safetensors"):
        training.load_trained(name, params=p)


def test_registry_lists_trained_models_and_extraction_works(monkeypatch, caplog):
    monkeypatch.setattr(training, "TrainingParams", _SmallDefaults)
    for name, twin in training.TRAINED.items():
        spec = models.get_spec(name)
        assert spec.kind == "trained" and spec.family == models.get_spec(twin).family
        assert spec.branches == models.get_spec(twin).branches
    assert not models.availability()["tiny-clip-trained"]  # nothing cached yet
    with caplog.at_level("WARNING", logger="analysis_lib.training"):
        loaded = models.load_model("tiny-clip-trained")  # not cached: trains first
    assert "training it now" in caplog.text
    assert models.availability()["tiny-clip-trained"]
    twin = models.load_model("tiny-clip")
    assert type(loaded.module) is type(twin.module)
    assert loaded.weights_sha256 != twin.weights_sha256
    for site in loaded.family.sites:
        assert [s.module_name for s in models.find_sites(loaded, site)] == [
            s.module_name for s in models.find_sites(twin, site)
        ]
    from analysis_lib.extraction import extract

    kw = {"stimulus_kwargs": {"n_volumes": 40}, "progress": False}
    r = extract("tiny-clip-trained", "default-movie", site="attn_out", **kw)
    r0 = extract("tiny-clip", "default-movie", site="attn_out", **kw)
    assert r.dims == ("time", "neuron") and r.shape == r0.shape
    assert r.attrs["model"] == "tiny-clip-trained"
    assert not np.allclose(r.values, r0.values)


def test_cli_train_report(capsys, monkeypatch):
    from analysis_lib.cli import main

    monkeypatch.setattr(training, "TrainingParams", _SmallDefaults)
    assert main(["train", "--model", "tiny-vit-trained", "--report", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "tiny-vit-trained" in out and "class_accuracy" in out and "probe_accuracy" in out
    assert main(["train", "--model", "tiny-bert"]) == 2
    assert "valid" in capsys.readouterr().err


def test_every_twin_list_reads_the_registry_table():
    twins = {row.trained: row.untrained for row in models.TWINS}
    assert training.TRAINED == twins and list(training.TRAINED) == list(twins)
    from analysis_lib.training.tasks import TASKS

    assert list(TASKS) == list(twins)
    assert all(TASKS[name].base == twins[name] for name in twins)
    assert set(training.TrainingParams().steps) == set(twins) == set(training.MAIN_METRICS)


def test_extraction_cache_key_of_a_trained_model_never_trains(monkeypatch):
    from analysis_lib import extraction

    name = "tiny-roberta-trained"
    params = _SmallDefaults(seed=21)  # the defaults the key looks up
    monkeypatch.setattr(training, "TrainingParams", lambda: params)

    def boom(*args, **kwargs):
        raise AssertionError("the cache key trained a model")

    monkeypatch.setattr(training, "train", boom)
    monkeypatch.setattr(training, "_fit", boom)
    assert not training.is_trained(name, params)
    key = extraction._weights_key(name, None, 0)
    assert key == f"trained-recipe:{name}:{params.digest(name)}"
    monkeypatch.undo()
    folder = training.train(name, params, progress=False, evaluate_twin=False)
    monkeypatch.setattr(training, "TrainingParams", lambda: params)
    monkeypatch.setattr(training, "train", boom)
    weights = folder / "model.safetensors"
    assert extraction._weights_key(name, None, 0) == models.files_sha256([weights])

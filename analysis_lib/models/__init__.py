"""Transformer models and their artificial-neuron sites.

The package is split by concept; this module re-exports the public names of each:

:mod:`~analysis_lib.models.registry`
    The registered model names (:data:`REGISTRY`, :func:`get_spec`, :func:`model_names`),
    the tiny configs, and :data:`TWINS`, the one table of trained/untrained twins
    (:func:`trained_twin`, :func:`untrained_twin`).
:mod:`~analysis_lib.models.families`
    Architecture families (:data:`FAMILIES`), neuron sites (:data:`SITES`) and hook-site
    discovery (:func:`find_sites`).
:mod:`~analysis_lib.models.weights`
    Where weights are on disk (:func:`weights_location`, :func:`minilm_folder`,
    :func:`smollm2_file`, :func:`hub_folder`) and their digests (:func:`files_sha256`).
:mod:`~analysis_lib.models.preprocessing`
    The offline tokenizers and the image processors.
:mod:`~analysis_lib.models.tiny`
    Tiny models built from a config and a seed (:func:`build_tiny`, :func:`load_tiny`).
:mod:`~analysis_lib.models.loading`
    :func:`load_model` (names, folders, hub ids), :func:`availability`, :func:`describe`.

Kinds of registered models:

``offline``
    Pretrained weights installed with the package's dependencies: ``minilm``
    (all-MiniLM-L6-v2, BERT architecture, safetensors: a sentence-embedding fine-tune of
    MiniLM, not a plain masked language model) and ``smollm2`` (SmolLM2-135M-Instruct, the
    instruction-tuned model, Llama architecture, 4-bit GGUF Q4_1 de-quantised to float32).
``hub``
    Real checkpoints that must already be on disk (this project never downloads at run
    time): ``bert-base-uncased``, ``llama-1-7b``, ``llama-2-7b``, ``llama-3-8b``,
    ``roberta-base``, ``vit-b16``, ``clip-vit-b32``, ``bridgetower``. They are found in
    ``<root>/models/<hub id>`` under the extra data roots or the data home, or in the
    Hugging Face cache. Loading one that is missing raises an error that says how to get it.
``tiny``
    Real architectures from small configs with seeded random weights (``tiny-bert``,
    ``tiny-llama``, ``tiny-roberta``, ``tiny-vit``, ``tiny-clip``, ``tiny-bridgetower``)
    for tests and the offline book. Their tokenizers are the two that exist offline:
    MiniLM's WordPiece (BERT vocabulary) for the bidirectional and multimodal models and
    SmolLM2's byte-level BPE for ``tiny-llama``.
``trained``
    The trained twins of tiny models (:mod:`analysis_lib.training`).

A local folder (config + safetensors or GGUF) or a hub id also loads with an explicit
``family``. ``trust_remote_code`` is never used; pickled (``.bin``) weights load only with
``allow_unsafe_weights=True``.

Neuron sites (see :data:`SITES`): ``ffn_out`` (outputs of the second FFN layer, before the
residual sum), ``ffn_hidden`` (its inputs), ``attn_out`` (outputs of every attention
module's output projection, before the residual sum, in every branch) and
``cross_attn_out`` (BridgeTower's cross-modal attention outputs).
"""

from __future__ import annotations

from .families import (
    BRANCHES,
    FAMILIES,
    MODEL_TYPES,
    SITES,
    Family,
    HookPattern,
    HookSite,
    find_sites,
)
from .loaded import LoadedModel, max_positions
from .loading import availability, describe, is_available, load_folder, load_model
from .preprocessing import (
    CLIP_MEAN,
    CLIP_STD,
    HFImageProcessor,
    SimpleImageProcessor,
    offline_tokenizer,
)
from .registry import (
    BERT_VOCAB,
    BPE_VOCAB,
    REGISTRY,
    TINY,
    TINY_FFN,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_IMAGE,
    TINY_LAYERS,
    TINY_PATCH,
    TRAINED,
    TWINS,
    Branch,
    ModelSpec,
    Twin,
    get_spec,
    is_trained_model,
    model_names,
    tiny_config,
    trained_twin,
    twin,
    untrained_twin,
)
from .tiny import build_tiny, load_tiny
from .weights import (
    files_sha256,
    hub_folder,
    hub_search_folders,
    minilm_folder,
    smollm2_file,
    state_dict_sha256,
    weight_files,
    weights_location,
)

__all__ = [
    "BERT_VOCAB",
    "BPE_VOCAB",
    "BRANCHES",
    "CLIP_MEAN",
    "CLIP_STD",
    "FAMILIES",
    "MODEL_TYPES",
    "REGISTRY",
    "SITES",
    "TINY",
    "TINY_FFN",
    "TINY_HEADS",
    "TINY_HIDDEN",
    "TINY_IMAGE",
    "TINY_LAYERS",
    "TINY_PATCH",
    "TRAINED",
    "TWINS",
    "Branch",
    "Family",
    "HFImageProcessor",
    "HookPattern",
    "HookSite",
    "LoadedModel",
    "ModelSpec",
    "SimpleImageProcessor",
    "Twin",
    "availability",
    "build_tiny",
    "describe",
    "files_sha256",
    "find_sites",
    "get_spec",
    "hub_folder",
    "hub_search_folders",
    "is_available",
    "is_trained_model",
    "load_folder",
    "load_model",
    "load_tiny",
    "max_positions",
    "minilm_folder",
    "model_names",
    "offline_tokenizer",
    "smollm2_file",
    "state_dict_sha256",
    "tiny_config",
    "trained_twin",
    "twin",
    "untrained_twin",
    "weight_files",
    "weights_location",
]

"""Tiny models: real architectures from small configs with seeded random weights.

:func:`build_tiny` builds the bare (trainable) transformers model of a tiny registry entry
(:func:`analysis_lib.models.registry.tiny_config`); :func:`load_tiny` wraps it with its
offline tokenizer and image processor, ready for extraction. Training
(:mod:`analysis_lib.training`) starts every trained model from ``load_tiny(twin)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .families import FAMILIES
from .loaded import LoadedModel
from .preprocessing import CLIP_MEAN, CLIP_STD, SimpleImageProcessor, offline_tokenizer
from .registry import TINY, TINY_IMAGE, get_spec, tiny_config
from .weights import state_dict_sha256


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_tiny(name: str, seed: int = 0):
    """Build a tiny model with random weights drawn with ``seed``, in train mode.

    The global torch RNG is left untouched. Use it to train a tiny model (save with
    ``save_pretrained(folder, safe_serialization=True)`` and load it back with
    ``load_model(folder, family=...)``).

    Parameters
    ----------
    name : str
        A tiny model of the registry (``tiny-*``).
    seed : int
        Seed of the random initialisation.

    Returns
    -------
    transformers.PreTrainedModel

    Raises
    ------
    ValueError
        When ``name`` is not a tiny model.
    """
    import transformers as tf

    spec = get_spec(name)
    if spec.kind != "tiny":
        raise ValueError(f"{name!r} is not a tiny model; tiny models: {sorted(TINY)}")
    config = tiny_config(name)
    cls = getattr(tf, FAMILIES[spec.family].model_class)
    with _seeded(seed):
        return cls(config)


def load_tiny(name: str, seed: int = 0, device: str = "cpu") -> LoadedModel:
    """A tiny model ready for extraction (eval mode), with its offline preprocessing.

    Parameters
    ----------
    name : str
        A tiny model of the registry.
    seed : int
        Seed of the random weights; the loaded name is ``name`` for seed 0 and
        ``name(seed=S)`` otherwise.
    device : str
        Torch device.

    Returns
    -------
    LoadedModel
        ``weights_sha256`` is the digest of the state dict.
    """
    spec = get_spec(name)
    fam = FAMILIES[spec.family]
    module = build_tiny(name, seed)
    tok = offline_tokenizer(fam.tokenizer) if fam.tokenizer else None
    processor = None
    if "vision" in fam.modalities:
        mean_std = (CLIP_MEAN, CLIP_STD) if spec.family != "vit" else ((0.5,) * 3, (0.5,) * 3)
        processor = SimpleImageProcessor(TINY_IMAGE, *mean_std)
    label = name if seed == 0 else f"{name}(seed={seed})"
    return LoadedModel.from_module(
        label, fam, module, tok, processor, state_dict_sha256(module), device
    )

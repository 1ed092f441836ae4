"""A model ready for extraction: module, tokenizer, image processor and weights digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .families import Family


def max_positions(config) -> int:
    """Longest token sequence the text model of a config accepts.

    Parameters
    ----------
    config : transformers.PretrainedConfig
        A model config (its ``text_config`` for multimodal models).

    Returns
    -------
    int
        ``max_position_embeddings`` (512 when absent), minus 2 for RoBERTa-style
        positions that start after the padding index.
    """
    text = getattr(config, "text_config", None) or config
    n = int(getattr(text, "max_position_embeddings", 512) or 512)
    if getattr(text, "model_type", "") in ("roberta", "bridgetower_text_model"):
        n -= 2  # RoBERTa positions start after the padding index
    return n


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
    extra : dict
        Other metadata (e.g. ``extra["training"]`` of trained models).
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

    @classmethod
    def from_module(
        cls,
        name: str,
        family: Family,
        module: Any,
        tokenizer: Any,
        image_processor: Any,
        weights_sha256: str,
        device: str = "cpu",
    ) -> LoadedModel:
        """Put a module in eval mode, float32, on ``device``, and wrap it.

        Parameters
        ----------
        name : str
        family : Family
        module : transformers.PreTrainedModel
        tokenizer : transformers tokenizer or None
        image_processor : callable or None
        weights_sha256 : str
        device : str
            Torch device.

        Returns
        -------
        LoadedModel
            ``max_positions`` is read from ``module.config``.
        """
        import torch

        module.eval()
        module.to(device=device, dtype=torch.float32)
        return cls(
            name=name,
            family=family,
            module=module,
            tokenizer=tokenizer,
            image_processor=image_processor,
            weights_sha256=weights_sha256,
            max_positions=max_positions(module.config),
            device=device,
        )

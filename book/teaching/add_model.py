# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Recipe: add a model family
#
# The pipeline knows a model through four things: its **family** (the transformers class,
# its modalities, whether it is causal), the **hook sites** of the family (regular
# expressions over module names that find the neurons), a **registry entry** (a name the
# command line and the grid accept), and a **test** that fails if any of these breaks. This
# page works through all four on a family the package does not ship, **Qwen2**
# (`Qwen2ForCausalLM`), with a tiny model of random weights built offline from a config,
# so that it runs anywhere in seconds. Every output below was produced when the book was
# built.
#
# | step | where it goes | what it is |
# | --- | --- | --- |
# | 1. family | `FAMILIES` in `analysis_lib/models/families.py` | class name, modalities, causal, default site |
# | 2. hook sites | the family's `sites` | one {class}`~analysis_lib.models.HookPattern` per site |
# | 3. registry entry | `REGISTRY` in `analysis_lib/models/registry.py` | a name for `python -m analysis_lib extract` and the grid |
# | 4. a test | `tests/test_models.py` | the sites are found, extraction gives (time, neuron) |

# %% tags=["remove-cell"]
import tempfile
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import numpy as np
import torch
import transformers as tf
from myst_nb import glue
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()

# %% [markdown]
# ## 1. The family
#
# A {class}`~analysis_lib.models.Family` names the transformers class to instantiate, the
# modalities (`text`, `vision`), whether the model is causal (a decoder: the extraction then
# runs the base model without its LM head and never lets a word see the future), the default
# site, and which offline tokenizer a tiny model of the family reuses (Qwen2's byte-level BPE
# is close to SmolLM2's, so `smollm2`).
#
# ## 2. The hook sites
#
# Print the module names of one small model and write one regular expression per site; its
# group 1 is the layer index. In Qwen2, as in Llama, the second FFN layer of block $i$ is
# `model.layers.i.mlp.down_proj` (site `ffn_out`: its outputs; `ffn_hidden`: its inputs) and
# the attention output projection is `model.layers.i.self_attn.o_proj`.

# %%
from analysis_lib.models import FAMILIES, Family, HookPattern

config = tf.Qwen2Config(
    vocab_size=49152,  # SmolLM2's BPE vocabulary, so its offline tokenizer fits
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=1,
    max_position_embeddings=2048,
    bos_token_id=1,
    eos_token_id=2,
    tie_word_embeddings=True,
)
torch.manual_seed(0)
qwen = tf.Qwen2ForCausalLM(config)
print([n for n, _ in qwen.named_modules() if n.startswith("model.layers.0.")])

block = r"^model\.layers\.(\d+)\."
FAMILIES["qwen2"] = Family(
    name="qwen2",
    model_class="Qwen2ForCausalLM",
    modalities=("text",),
    causal=True,
    default_site="ffn_out",
    sites={
        "ffn_out": (HookPattern("text", block + r"mlp\.down_proj$", "output"),),
        "ffn_hidden": (HookPattern("text", block + r"mlp\.down_proj$", "input"),),
        "attn_out": (HookPattern("text", block + r"self_attn\.o_proj$"),),
    },
    tokenizer="smollm2",
)

# %% [markdown]
# The extraction runs a text model through one forward pass per window of tokens. A causal
# family whose transformers class keeps its blocks under `.model` (Llama, Qwen2, Mistral)
# needs nothing more. A family with another layout needs a branch in
# `analysis_lib.extraction._text_forward` (which part of the model to call), and a family
# whose layers are not `torch.nn.Linear` needs the width rule of
# `find_sites` (in `analysis_lib/models/families.py`): GPT-2, for instance, builds its MLP from
# transformers' `Conv1D`, which `find_sites` does not recognise yet.
#
# Save the model with safetensors weights and a tokenizer, then load it as any local folder:
# {func}`~analysis_lib.models.load_model` refuses pickled weights and never runs remote code.

# %%
from analysis_lib.extraction import extract
from analysis_lib.models import find_sites, load_model, offline_tokenizer

folder = Path(tempfile.mkdtemp(prefix="tiny-qwen2-"))
qwen.save_pretrained(folder)  # model.safetensors + config.json
offline_tokenizer("smollm2").save_pretrained(folder)
loaded = load_model(folder, family="qwen2")
sites = find_sites(loaded, "ffn_out")
for s in sites:
    print(f"layer {s.layer}: {s.module_name} ({s.width} neurons)")
responses = extract(loaded, "default-story", progress=False)
print(dict(responses.sizes))
glue("add_n_sites", len(sites), display=False)
glue("add_n_neurons", int(responses.sizes["neuron"]), display=False)
glue("add_n_time", int(responses.sizes["time"]), display=False)

# %% [markdown]
# The family's `ffn_out` pattern finds {glue:text}`add_n_sites` modules, and the extraction
# gives {glue:text}`add_n_neurons` neurons on {glue:text}`add_n_time` volumes of the default
# story: the same labelled `(time, neuron)` array as for the shipped models, so every later
# stage (dictionary, encoding, networks) runs unchanged.
#
# ## 3. The registry entry
#
# To make the family permanent, add the `Family(...)` above to `FAMILIES` and its
# `model_type` (`"qwen2"`) to `MODEL_TYPES` in `analysis_lib/models/families.py` (so a
# folder is recognised without `family=`), and give a model a name in `REGISTRY` in
# `analysis_lib/models/registry.py`. A pretrained model on the hub:
#
# ```python
# "qwen2.5-0.5b": _hub(
#     "qwen2.5-0.5b",
#     "qwen2",
#     "Qwen/Qwen2.5-0.5B",
#     {"text": _B(24, 896, 4864)},  # layers, hidden size, FFN width
#     "Qwen2.5 0.5B base",
# ),
# ```
#
# and, for a seeded random twin like `tiny-llama`, a `tiny-qwen2` entry in `TINY` with a
# branch in `tiny_config` returning the `Qwen2Config` above. Then
# `python -m analysis_lib models` lists it, `python -m analysis_lib extract --model NAME`
# extracts it, and a grid can name it in `configs/*.yaml`.
#
# ## 4. A test
#
# The test builds the tiny model, checks that every layer is found with the right width,
# and that the extraction gives one z-scored column per neuron. It runs here, on this page;
# in the repository it goes in `tests/test_models.py`.


# %%
def test_qwen2_family(tmp_path: Path) -> None:
    cfg = tf.Qwen2Config(**config.to_dict())
    torch.manual_seed(0)
    tf.Qwen2ForCausalLM(cfg).save_pretrained(tmp_path)
    offline_tokenizer("smollm2").save_pretrained(tmp_path)
    model = load_model(tmp_path, family="qwen2")
    found = find_sites(model, "ffn_out")
    assert [s.layer for s in found] == list(range(cfg.num_hidden_layers))
    assert all(s.width == cfg.hidden_size for s in found)
    assert [s.width for s in find_sites(model, "ffn_hidden")] == [cfg.intermediate_size] * 2
    out = extract(model, "default-story", progress=False)
    assert out.dims == ("time", "neuron")
    assert out.sizes["neuron"] == cfg.num_hidden_layers * cfg.hidden_size
    assert np.allclose(out.mean("time"), 0, atol=1e-6)


test_qwen2_family(Path(tempfile.mkdtemp(prefix="test-qwen2-")))
print("test_qwen2_family passed")

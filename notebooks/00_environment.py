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
# # The environment that built this book
#
# Every page of this book is executed when the book is built. This page records the
# software versions, the data roots and what was available offline on the machine that
# built this copy, so that any number in the book can be traced to its environment.
#
# Re-run it with other parameters:
#
# ```bash
# python -m analysis_lib notebook notebooks/00_environment.py -p show_packages False --out env.ipynb
# ```

# %% tags=["parameters"]
show_packages = True

# %%
from analysis_lib.info import environment_report, format_report

report = environment_report()
print(format_report(report) if show_packages else f"analysis_lib {report['analysis_lib']}")

# %% [markdown]
# ## Data roots
#
# `ANALYSIS_LIB_DATA` is the writable data home (trained weights, generated data).
# `ANALYSIS_LIB_EXTRA_DATA` lists read-only roots where real datasets are found.

# %%
import pandas as pd

roots = pd.DataFrame(
    [{"root": path, "exists": ok} for path, ok in report["extra_roots"].items()]
    or [{"root": "(none configured)", "exists": False}]
)
roots

# %% [markdown]
# ## Compute
#
# The analyses run on the CPU by default; every stage takes a `device` argument.

# %%
import torch

print(
    f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}; "
    f"threads: {torch.get_num_threads()}"
)

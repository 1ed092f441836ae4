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
# # Command-line reference
#
# Every analysis is also a command: `python -m analysis_lib COMMAND`. The help texts
# below are printed by the commands themselves when the book is built, so they are
# always those of this version.

# %% tags=["remove-input"]
import subprocess
import sys

from analysis_lib.cli import _command_modules


def show(*args: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "analysis_lib", *args], capture_output=True, text=True, check=True
    )
    print(out.stdout)


show("--help")

# %% [markdown]
# ## Subcommands

# %% tags=["remove-input"]
for module in _command_modules():
    print("=" * 80)
    show(module.NAME, "--help")

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
# below are printed when the book is built: the first by running the command, the others
# by the same parser in this page's kernel (`analysis_lib.cli.command_help`), so they are
# always those of this version.

# %% tags=["remove-input"]
import subprocess
import sys

from analysis_lib.cli import _command_modules, command_help

out = subprocess.run(
    [sys.executable, "-m", "analysis_lib", "--help"], capture_output=True, text=True, check=True
)
print(out.stdout)
# The parser's own help must be what the command printed (same prog, same width).
assert command_help() == out.stdout, "in-process help differs from the command's"

# %% [markdown]
# ## Subcommands

# %% tags=["remove-input"]
for module in _command_modules():
    print("=" * 80)
    print(command_help(module.NAME))

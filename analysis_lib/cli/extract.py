"""Extract the temporal responses of a model's artificial neurons to a stimulus and write
them as netCDF (variable ``responses``, dims time x neuron), atomically.

The options are the fields of :class:`analysis_lib.pipeline.ExtractParams` (the stage's
single set of defaults); the work is :func:`analysis_lib.pipeline.extract`.

Examples::

    python -m analysis_lib extract --model minilm --stimulus default-story --out r.nc
    python -m analysis_lib extract --model smollm2 --stimulus alice --site ffn_hidden \\
        --out smollm2_alice.nc
    python -m analysis_lib extract --model tiny-clip --stimulus default-movie --out clip.nc
    python -m analysis_lib extract --model ./my-bert --family bert \\
        --stimulus words.TextGrid --tr 2 --n-volumes 300 --out mine.nc
"""

from __future__ import annotations

import argparse

from ..pipeline import ExtractParams
from ._params import add_params_arguments, check_output, params_from_args

NAME = "extract"
HELP = "artificial-neuron responses of a model to a stimulus, on the fMRI clock (netCDF)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_params_arguments(parser, ExtractParams, required=("model", "stimulus"))
    parser.add_argument("--out", required=True, help="output netCDF file")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ..io import write_netcdf
    from ..pipeline import extract

    params = params_from_args(ExtractParams, args)
    out = check_output(args.out)
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    result = extract(params, progress=not args.quiet)
    path = write_netcdf(result, out)
    responses = result["responses"]
    n_time, n_neuron = responses.shape
    print(
        f"wrote {path}: {n_time} volumes x {n_neuron} neurons ({responses.attrs['model']}, "
        f"{responses.attrs['stimulus']}, site {responses['site'].values[0]})"
    )
    return 0

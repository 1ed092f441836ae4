"""Extract the temporal responses of a model's artificial neurons to a stimulus and write
them as netCDF (variable ``responses``, dims time x neuron), atomically.

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

NAME = "extract"
HELP = "artificial-neuron responses of a model to a stimulus, on the fMRI clock (netCDF)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="registered name, local folder or hub id")
    parser.add_argument(
        "--stimulus", required=True, help="default-story, alice, default-movie, or a file/folder"
    )
    parser.add_argument(
        "--site", default=None, help="ffn_out, ffn_hidden, attn_out, cross_attn_out"
    )
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--out", required=True, help="output netCDF file")
    parser.add_argument("--family", default=None, help="architecture family for folders/hub ids")
    parser.add_argument("--context", type=int, default=512, help="tokens per window (stories)")
    parser.add_argument("--stride", type=int, default=None, help="new tokens per window")
    parser.add_argument("--word-pooling", default="mean", choices=["mean", "first", "last"])
    parser.add_argument("--hrf", default="spm", choices=["spm", "glover", "none"])
    parser.add_argument("--oversampling", type=int, default=50)
    parser.add_argument("--no-zscore", action="store_true", help="keep raw amplitudes")
    parser.add_argument("--batch-size", type=int, default=32, help="sequences per pass (movies)")
    parser.add_argument("--seed", type=int, default=0, help="seed of tiny models' weights")
    parser.add_argument(
        "--allow-unsafe-weights",
        action="store_true",
        help="accept pickled (.bin) weights in a local folder; only for trusted sources",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    grid = parser.add_argument_group("stimulus grid (files; overrides for named stimuli)")
    grid.add_argument("--tr", type=float, default=None)
    grid.add_argument("--n-volumes", type=int, default=None)
    grid.add_argument("--t0", type=float, default=None)
    grid.add_argument("--captions", default=None, help="captions TSV (movies)")
    grid.add_argument("--fps", type=float, default=None, help="frame rate of a frames folder")
    grid.add_argument("--frames-per-tr", type=int, default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..extraction import extract
    from ..io import write_netcdf

    if args.threads:
        torch.set_num_threads(args.threads)
    keys = ("tr", "n_volumes", "t0", "captions", "fps", "frames_per_tr")
    grid = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    responses = extract(
        args.model,
        args.stimulus,
        site=args.site,
        device=args.device,
        family=args.family,
        context=args.context,
        stride=args.stride,
        word_pooling=args.word_pooling,
        hrf=args.hrf,
        oversampling=args.oversampling,
        zscore=not args.no_zscore,
        batch_size=args.batch_size,
        seed=args.seed,
        stimulus_kwargs=grid,
        progress=not args.quiet,
        allow_unsafe_weights=args.allow_unsafe_weights,
    )
    path = write_netcdf(responses, args.out)
    n_time, n_neuron = responses.shape
    print(
        f"wrote {path}: {n_time} volumes x {n_neuron} neurons ({responses.attrs['model']}, "
        f"{responses.attrs['stimulus']}, site {responses['site'].values[0]})"
    )
    return 0

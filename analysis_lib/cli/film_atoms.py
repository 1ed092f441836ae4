"""A text model's atoms on the real Partly Cloudy movie data (293 regions, every subject).

The model reads the film's annotated event descriptions on the scan clock (the film has no
dialogue); its atoms are encoded per region and subject, the group maps are matched with
the 8 Shen/Finn networks (Dice, spatial null over parcel centroids, network-level group
test, BH), and their held-out unique variance over the event-type model is reported per
network. Results are cached in the data home (the book page reads the same cache).
Examples::

    python -m analysis_lib film-atoms --model minilm --json
    python -m analysis_lib film-atoms --model tiny-bert --json      # random-weight control
    python -m analysis_lib film-atoms --model minilm --null variogram --n-perm 200 -o fa.nc
"""

from __future__ import annotations

import argparse
import json
import math

NAME = "film-atoms"
HELP = "a text model's atoms on real movie fMRI (Partly Cloudy): networks and unique variance"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..film_atoms import FilmAtomsParams
    from ._params import add_params_arguments

    add_params_arguments(parser, FilmAtomsParams)
    parser.add_argument("-o", "--output", help="also write the result Dataset (netCDF) here")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def summary(ds) -> dict:
    """The results of a film-atoms Dataset as plain JSON-ready data."""
    import numpy as np

    def num(x):
        x = float(x)
        return None if math.isnan(x) else x

    networks = [str(n) for n in ds["network"].values]
    return {
        "model": ds.attrs.get("model"),
        "n_subjects": int(ds.attrs["n_subjects"]),
        "n_texts": int(ds.attrs["n_texts"]),
        "atoms": [
            {
                "atom": int(a),
                "n_significant": int(ds["n_significant"].sel(atom=a)),
                "assignment": str(ds["assignment"].sel(atom=a).values),
                "best_network": networks[int(np.argmax(ds["dice"].sel(atom=a).values))],
                "best_dice": num(ds["dice"].sel(atom=a).max()),
                "best_p_fdr": num(ds["p_fdr"].sel(atom=a).min()),
            }
            for a in ds["atom"].values
        ],
        "unique_variance": {
            n: {
                "dr2": num(ds["dr2_mean"].sel(network=n)),
                "ci95": [
                    num(ds["dr2_ci_low"].sel(network=n)),
                    num(ds["dr2_ci_high"].sel(network=n)),
                ],
                "p_signflip": num(ds["dr2_p"].sel(network=n)),
                "p_holm": num(ds["dr2_p_holm"].sel(network=n)),
            }
            for n in networks
        },
        "params": json.loads(ds.attrs["params"]),
    }


def run(args: argparse.Namespace) -> int:
    from ..film_atoms import FilmAtomsParams, cached_film_atoms
    from ..io import write_netcdf
    from ._params import params_from_args

    params = params_from_args(FilmAtomsParams, args)
    ds = cached_film_atoms(params, progress=not args.json)
    if args.output:
        write_netcdf(ds, args.output)
    if args.json:
        print(json.dumps(summary(ds), indent=2))
    else:
        assigned = [str(a) for a in ds["assignment"].values if str(a) != "none"]
        print(
            f"{params.model}: {ds.attrs['n_subjects']} subjects, {ds.sizes['atom']} atoms, "
            f"{len(assigned)} assigned to a network ({', '.join(assigned) or 'none'})"
        )
    return 0

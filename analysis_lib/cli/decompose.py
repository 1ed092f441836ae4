"""Sparse dictionary learning of AN responses: X (time, neuron) ~ atoms @ loadings.

Reads a responses netCDF (a DataArray ``responses`` with dims time and neuron, as written
by the extraction stage), fits :class:`analysis_lib.decomposition.SparseDictionary` through
:func:`analysis_lib.pipeline.decompose` (options: the fields of
:class:`analysis_lib.pipeline.DecomposeParams`) and writes, atomically, a Dataset with

* ``atoms`` (time, atom): temporal atoms, ordered by explained energy, unit norm;
* ``loadings`` (atom, neuron): sparse loadings, every neuron coordinate of the input kept;
* ``r2`` (neuron): reconstruction R^2 of each normalized neuron (NaN if constant);
* ``subgroup_size`` (atom): number of neurons with a non-zero loading on the atom;
* ``objective`` (iteration): objective trace (last entry: exact final objective);

with the parameters and provenance (input hash) in the attributes.

Example::

    python -m analysis_lib decompose --responses an.nc --n-atoms 64 --alpha 0.1 --out dl.nc
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..pipeline import DecomposeParams
from ._params import add_params_arguments, check_output, params_from_args

NAME = "decompose"
HELP = "sparse dictionary learning of AN responses (atoms, loadings, R^2)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--responses", required=True, type=Path, help="input netCDF")
    add_params_arguments(parser, DecomposeParams)
    parser.add_argument(  # the solver's former name
        "--backend",
        dest="solver",
        choices=["auto", "torch", "spams", "sklearn"],
        default=argparse.SUPPRESS,
        help="former name of --solver",
    )
    parser.add_argument("--variable", default=None, help="data variable (default responses)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--out", required=True, type=Path, help="output netCDF")


def run(args: argparse.Namespace) -> int:
    from ..io import read_netcdf, write_netcdf
    from ..pipeline import decompose

    params = params_from_args(DecomposeParams, args)
    out = check_output(args.out)
    ds = read_netcdf(args.responses)
    if args.variable is not None:
        if args.variable not in ds:
            raise ValueError(
                f"{args.responses}: has no variable {args.variable!r}; it holds "
                f"{sorted(ds.data_vars)}"
            )
        ds = ds[args.variable]
    elif "responses" not in ds and len(ds.data_vars) > 1:
        raise ValueError(
            f"{args.responses}: no variable 'responses'; pass --variable (it holds "
            f"{sorted(ds.data_vars)})"
        )
    result = decompose(
        params, ds, name=str(args.responses), path=str(args.responses), progress=not args.quiet
    )
    if result.attrs["n_constant_neurons"]:
        print(f"{result.attrs['n_constant_neurons']} constant neuron(s) excluded (zero loadings)")
    write_netcdf(result, out)
    print(
        f"wrote {out}: {params.n_atoms} atoms x {result.sizes['neuron']} neurons, "
        f"objective {float(result['objective'].values[-1]):.6g}, {result.attrs['n_iter']} "
        f"passes ({result.attrs['n_refine']} of them L-BFGS evaluations)"
    )
    return 0

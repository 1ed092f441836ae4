"""Sparse dictionary learning of AN responses: X (time, neuron) ~ atoms @ loadings.

Reads a responses netCDF (a DataArray ``responses`` with dims time and neuron, as written
by the extraction stage), fits :class:`analysis_lib.decomposition.SparseDictionary` and
writes, atomically, a Dataset with

* ``atoms`` (time, atom): temporal atoms, ordered by explained energy, unit norm;
* ``loadings`` (atom, neuron): sparse loadings, every neuron coordinate of the input kept;
* ``r2`` (neuron): reconstruction R^2 of each normalized neuron (NaN if constant);
* ``subgroup_size`` (atom): number of neurons with a non-zero loading on the atom;
* ``objective`` (iteration): objective trace (last entry: exact final objective);

with the parameters and provenance (input file hash) in the attributes.

Example::

    python -m analysis_lib decompose --responses an.nc --n-atoms 64 --alpha 0.1 --out dl.nc
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "decompose"
HELP = "sparse dictionary learning of AN responses (atoms, loadings, R^2)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--responses", required=True, type=Path, help="input netCDF")
    parser.add_argument("--n-atoms", type=int, default=64, help="number of atoms K")
    parser.add_argument("--alpha", type=float, default=0.1, help="L1 penalty (SPAMS lambda1)")
    parser.add_argument(
        "--normalize",
        choices=["unit", "zscore", "none"],
        default="unit",
        help="column scaling before fitting (unit = unit L2 norm)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=["auto", "torch", "spams", "sklearn"], default="auto")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument(
        "--max-iter", type=int, default=200, help="maximum passes (epochs + L-BFGS evaluations)"
    )
    parser.add_argument("--tol", type=float, default=1e-4, help="relative objective change")
    parser.add_argument(
        "--refine",
        choices=["lbfgs", "none"],
        default="lbfgs",
        help="torch solver: L-BFGS refinement of the atoms after block coordinate descent",
    )
    parser.add_argument("--variable", default=None, help="data variable (default responses)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--out", required=True, type=Path, help="output netCDF")


def _load_responses(path: Path, variable: str | None):
    from ..io import read_netcdf

    ds = read_netcdf(path)
    if variable is None:
        if "responses" in ds:
            variable = "responses"
        elif len(ds.data_vars) == 1:
            variable = next(iter(ds.data_vars))
        else:
            raise ValueError(
                f"{path}: no variable 'responses'; pass --variable (it holds "
                f"{sorted(ds.data_vars)})"
            )
    if variable not in ds:
        raise ValueError(f"{path}: has no variable {variable!r}; it holds {sorted(ds.data_vars)}")
    da = ds[variable]
    if set(da.dims) != {"time", "neuron"}:
        raise ValueError(f"{path}: {variable!r} has dims {da.dims}, expected (time, neuron)")
    return da.transpose("time", "neuron")


def run(args: argparse.Namespace) -> int:
    from ..decomposition import SparseDictionary, as_time_by_neuron, decomposition_dataset
    from ..io import sha256_file, write_netcdf

    da = _load_responses(args.responses, args.variable)
    as_time_by_neuron(da, name=str(args.responses))  # errors name the file
    params = {
        "n_atoms": args.n_atoms,
        "alpha": args.alpha,
        "normalize": args.normalize,
        "seed": args.seed,
        "backend": args.backend,
        "device": args.device,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "refine": args.refine,
    }
    model = SparseDictionary(**params, verbose=not args.quiet)
    try:
        model.fit(da)
    except ValueError as exc:
        raise ValueError(f"{args.responses}: {exc}") from exc
    if model.n_constant_:
        print(f"{model.n_constant_} constant neuron(s) excluded (zero loadings)")
    ds = decomposition_dataset(model, da, params, sha256_file(args.responses))
    write_netcdf(ds, args.out)
    print(
        f"wrote {args.out}: {args.n_atoms} atoms x {da.sizes['neuron']} neurons, "
        f"objective {model.objective_[-1]:.6g}, {model.n_iter_} passes "
        f"({model.n_refine_} of them L-BFGS evaluations)"
    )
    return 0

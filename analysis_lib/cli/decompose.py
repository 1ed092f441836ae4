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
    parser.add_argument("--max-iter", type=int, default=200, help="maximum epochs")
    parser.add_argument("--tol", type=float, default=1e-4, help="relative objective change")
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


def build_result(model, da, params: dict, input_sha256: str):
    """Dataset of a fitted SparseDictionary, keeping the time and neuron coords of ``da``."""
    import numpy as np
    import xarray as xr

    from ..io import provenance

    K = model.atoms_.shape[1]
    neuron_coords = {
        name: coord.variable for name, coord in da.coords.items() if coord.dims == ("neuron",)
    }
    time_coords = {
        name: coord.variable for name, coord in da.coords.items() if coord.dims == ("time",)
    }
    atom = np.arange(K)
    n_trace = model.objective_.size
    ds = xr.Dataset(
        {
            "atoms": (
                ("time", "atom"),
                model.atoms_,
                {"long_name": "temporal atom (unit L2 norm)", "units": "1"},
            ),
            "loadings": (
                ("atom", "neuron"),
                model.loadings_,
                {
                    "long_name": "sparse loading of neuron on atom",
                    "units": f"normalized response ({params['normalize']})",
                },
            ),
            "r2": (
                ("neuron",),
                model.r2_,
                {"long_name": "reconstruction R^2 of the normalized neuron", "units": "1"},
            ),
            "subgroup_size": (
                ("atom",),
                np.count_nonzero(model.loadings_, axis=1),
                {"long_name": "number of neurons with a non-zero loading", "units": "1"},
            ),
            "explained_energy": (
                ("atom",),
                model.explained_energy_,
                {"long_name": "sum of squares of the atom's rank-one term", "units": "1"},
            ),
            "objective": (
                ("iteration",),
                model.objective_,
                {
                    "long_name": "objective 0.5 ||X - D A||^2 + alpha ||A||_1 (epoch trace; "
                    "last entry exact final)",
                    "units": "1",
                },
            ),
        },
        coords={
            **time_coords,
            **neuron_coords,
            "atom": ("atom", atom),
            "iteration": ("iteration", np.arange(1, n_trace + 1)),
        },
    )
    ds.attrs.update(
        provenance(params, responses=input_sha256),
        n_constant_neurons=int(model.n_constant_),
        n_iter=int(model.n_iter_),
        backend=model.backend_,
        fit_time_s=float(model.fit_time_),
        atom_order="descending explained energy ||d_k||^2 ||a_k||^2",
        sign_convention="each atom's loadings sum to a positive number",
        title="sparse dictionary of AN temporal responses",
    )
    return ds


def run(args: argparse.Namespace) -> int:
    from ..decomposition import SparseDictionary, as_time_by_neuron
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
    }
    model = SparseDictionary(**params, verbose=not args.quiet)
    try:
        model.fit(da)
    except ValueError as exc:
        raise ValueError(f"{args.responses}: {exc}") from exc
    if model.n_constant_:
        print(f"{model.n_constant_} constant neuron(s) excluded (zero loadings)")
    ds = build_result(model, da, params, sha256_file(args.responses))
    write_netcdf(ds, args.out)
    print(
        f"wrote {args.out}: {args.n_atoms} atoms x {da.sizes['neuron']} neurons, "
        f"objective {model.objective_[-1]:.6g}, {model.n_iter_} epochs"
    )
    return 0

"""Run the whole pipeline (extract, decompose, encode, group, correspondence) on the
SIMULATED phantom-story and phantom-null and print how much planted structure is
recovered and how often null overlaps come out significant.

``recovery`` is the share of planted atoms (atoms whose regression weight on a planted
network course is at least --b-min) assigned to one of their planted networks;
``null_significant_fraction`` the share of (atom, network) overlaps with p < 0.05 on
phantom-null (spatial null and network-level test; nominal 0.05). See
analysis_lib.validation.
"""

from __future__ import annotations

import argparse
import json

NAME = "validate"
HELP = "end-to-end validation on the simulated phantoms (recovery, null rate)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--atoms", choices=("model", "oracle"), default="model")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--n-atoms", type=int, default=16)
    parser.add_argument("--alpha", type=float, default=0.1, help="L1 penalty of the atoms")
    parser.add_argument(
        "--correction", default="uncorrected", choices=("fdr", "fdr-param", "fwe", "uncorrected")
    )
    parser.add_argument("--threshold", type=float, default=0.01, help="voxel p threshold")
    parser.add_argument("--n-perm", type=int, default=1000, help="spatial-null maps")
    parser.add_argument("--n-perm-group", type=int, default=1000, help="group sign flips")
    parser.add_argument("--b-min", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--phantom-seed", type=int, default=None, help="seed of the phantoms' noise"
    )
    parser.add_argument("--n-subjects", type=int, default=None, help="phantom subjects")
    parser.add_argument("--stride", type=int, default=None, help="phantom cortical stride")
    parser.add_argument("--snr", type=float, default=None, help="phantom SNR")
    parser.add_argument("--space", choices=("fsLR32k", "MNI152-4mm"), default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..validation import run_validation

    if args.threads:
        torch.set_num_threads(args.threads)
    options = {
        k: getattr(args, k)
        for k in ("n_subjects", "stride", "snr", "space")
        if getattr(args, k) is not None
    }
    result = run_validation(
        atoms=args.atoms,
        model=args.model,
        n_atoms=args.n_atoms,
        alpha=args.alpha,
        correction=args.correction,
        threshold=args.threshold,
        n_perm=args.n_perm,
        n_perm_group=args.n_perm_group,
        b_min=args.b_min,
        seed=args.seed,
        phantom_seed=args.phantom_seed,
        progress=args.progress,
        **options,
    )
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print("SIMULATED data (phantom-story, phantom-null)")
        print(f"atoms                      {result['atoms']}")
        print(
            f"recovery                   {result['recovery']:.3f} "
            f"({result['n_recovered_atoms']} of {result['n_planted_atoms']} planted atoms)"
        )
        print(
            f"recovery_dominant          {result['recovery_dominant']:.3f} "
            f"({result['n_dominant_atoms']} assigned to their largest-|B| network)"
        )
        print(
            f"null_significant_fraction  {result['null_significant_fraction']:.3f} "
            f"(nominal 0.05, tolerance {result['null_tolerance']:.3f}, "
            f"{result['null_n_tests']} tests; spatial null alone "
            f"{result['null_significant_fraction_spatial_only']:.3f})"
        )
        print(f"null_assigned_fraction     {result['null_assigned_fraction']:.3f}")
        print(f"passed                     {result['passed']}")
    return 0

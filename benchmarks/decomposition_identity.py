"""The decomposition subpackage gives bit-identical results to the pre-split module.

Exact command (from the repository root)::

    ANALYSIS_LIB_EXTRA_DATA=../shared/data HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
        .venv/bin/python benchmarks/decomposition_identity.py

``--record`` writes the reference digests instead (run once, at commit ``31e4c51``, before
``analysis_lib/decomposition.py`` was split into ``analysis_lib/decomposition/``); without
it the script recomputes every digest with the current code and compares.

Data: the real AN matrices of ``benchmarks/decomposition_vs_spams.py``, SmolLM2
``ffn_hidden`` x alice (362 x 46,080), and MiniLM (default site) x alice, from
``analysis_lib.extraction.cached_extract``. Their digests are recorded too, so a changed
input is reported as such rather than as a changed solver.

Fits (one torch thread, one BLAS thread; ``verbose=False``):

* ``benchmark``: the ``ours`` fit of ``decomposition_vs_spams.py`` (columns unit-normalized
  first, then ``SparseDictionary(n_atoms=64, alpha=0.1, normalize="none", tol=1e-6,
  max_iter=500)``);
* ``default``: the estimator's defaults (``normalize="unit"``, ``tol=1e-4``,
  ``max_iter=200``, ``n_atoms=64``) on the raw matrix.

Each fit records the SHA-256 of ``atoms_``, ``loadings_``, ``objective_``, ``r2_`` and
``explained_energy_``, and ``n_iter_`` / ``n_refine_``. Output:
``benchmarks/results/decomposition_identity.json`` (``identical`` per array and overall).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
REFERENCE = RESULTS / "decomposition_identity_reference.json"
OUTPUT = RESULTS / "decomposition_identity.json"
MATRICES = {
    "smollm2_ffn_hidden_alice": ("smollm2", "ffn_hidden"),
    "minilm_alice": ("minilm", None),
}
FITTED = ("atoms_", "loadings_", "objective_", "r2_", "explained_energy_")


def _test_helpers():
    sys.path.insert(0, str(ROOT / "tests"))
    import test_decomposition_identity as helpers

    return helpers


def load(model: str, site: str | None) -> np.ndarray:
    """The (time, neuron) float32 matrix of ``model`` x alice."""
    from analysis_lib.extraction import cached_extract

    kw = {"site": site} if site else {}
    da = cached_extract(model, "alice", **kw)
    return da.transpose("time", "neuron").values.astype(np.float32)


def fits(X: np.ndarray) -> dict[str, dict]:
    """Digests of the ``benchmark`` and ``default`` fits of ``X``."""
    from sklearn.exceptions import ConvergenceWarning

    from analysis_lib.decomposition import SparseDictionary, normalize_columns

    h = _test_helpers()
    Xn, constant = normalize_columns(X, "unit", np.float64)
    X32 = np.ascontiguousarray(Xn[:, ~constant], dtype=np.float32)
    configs = {
        "benchmark": (
            X32,
            dict(n_atoms=64, alpha=0.1, normalize="none", tol=1e-6, max_iter=500),
        ),
        "default": (X, dict(n_atoms=64)),
    }
    out = {}
    for name, (data, kw) in configs.items():
        t = time.perf_counter()
        with h.single_threaded(), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            model = SparseDictionary(**kw, n_threads=1, verbose=False).fit(data)
        entry = {attr: h.digest(getattr(model, attr)) for attr in FITTED}
        entry["n_iter_"] = int(model.n_iter_)
        entry["n_refine_"] = int(model.n_refine_)
        entry["final_objective"] = float(model.objective_[-1])
        entry["time_s"] = time.perf_counter() - t
        print(f"  {name}: {entry['time_s']:.1f} s, {model.n_iter_} passes", flush=True)
        out[name] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--record", action="store_true", help="write the reference digests")
    args = parser.parse_args()
    h = _test_helpers()
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "analysis_lib"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    result: dict = {
        "commit": commit,
        "analysis_lib_uncommitted_changes": bool(dirty),
        "fingerprint": h.arithmetic_fingerprint(),
        "matrices": {},
    }
    for key, (model, site) in MATRICES.items():
        X = load(model, site)
        print(f"{key}: {X.shape}", flush=True)
        result["matrices"][key] = {"shape": list(X.shape), "input": h.digest(X), **fits(X)}
    from analysis_lib.io import atomic_write_text

    if args.record:
        atomic_write_text(REFERENCE, json.dumps(result, indent=2))
        print(f"wrote {REFERENCE}")
        return
    ref = json.loads(REFERENCE.read_text())
    comparison = {}
    for key, entry in result["matrices"].items():
        r = ref["matrices"][key]
        comparison[key] = {"input_identical": entry["input"] == r["input"]}
        for fit in ("benchmark", "default"):
            comparison[key][fit] = {
                k: entry[fit][k] == r[fit][k] for k in (*FITTED, "n_iter_", "n_refine_")
            }
    identical = all(
        all(v.values()) if isinstance(v, dict) else v
        for c in comparison.values()
        for v in c.values()
    )
    result.update(
        command="ANALYSIS_LIB_EXTRA_DATA=../shared/data .venv/bin/python "
        "benchmarks/decomposition_identity.py",
        reference_commit=ref["commit"],
        fingerprint_identical=result["fingerprint"] == ref["fingerprint"],
        comparison=comparison,
        identical=identical,
    )
    atomic_write_text(OUTPUT, json.dumps(result, indent=2))
    print(json.dumps(comparison, indent=1))
    print(f"identical to {ref['commit'][:7]}: {identical}; wrote {OUTPUT}")


if __name__ == "__main__":
    main()

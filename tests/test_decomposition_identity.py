"""The decomposition gives bit-identical results to the code it was refactored from.

``analysis_lib/decomposition.py`` (one 1,200-line module) was split into the subpackage
``analysis_lib/decomposition/`` (solver functions, references, estimator, xarray packing).
The split must not change a single bit of any result. The reference digests below are the
SHA-256 of the arrays computed by the code before the split, at commit ``31e4c51`` (main,
"pipeline: shared StageParams core ..."), on this project's development machine image
(``python tests/test_decomposition_identity.py`` prints them). The real-matrix counterpart
(SmolLM2 ``ffn_hidden`` x alice, MiniLM x alice) is ``benchmarks/decomposition_identity.py``.

Bit-identity of float arithmetic depends on the machine's kernels (SIMD width, BLAS), so
the test first checks an arithmetic fingerprint (the digests of a few torch and numpy
products on fixed inputs, also recorded at ``31e4c51``); on a machine whose kernels give
other bits it skips, saying so, instead of failing on a difference that is not the code's.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import warnings
from collections.abc import Iterator

import numpy as np
import pytest


def digest(a) -> str:
    """SHA-256 of an array's dtype, shape and bytes (C order)."""
    a = np.ascontiguousarray(np.asarray(a))
    h = hashlib.sha256()
    h.update(a.dtype.str.encode())
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """One torch thread and one BLAS thread (summation order independent of the machine's
    thread count)."""
    import torch
    from threadpoolctl import threadpool_limits

    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(old_threads)


def arithmetic_fingerprint() -> dict[str, str]:
    """Digests of the kernels the solver relies on, on fixed inputs (single-threaded)."""
    with single_threaded():
        return _fingerprint()


def _fingerprint() -> dict[str, str]:
    import torch

    rng = np.random.default_rng(123)
    a = rng.standard_normal((40, 300)).astype(np.float32)
    b = rng.standard_normal((300, 70)).astype(np.float32)
    g = rng.standard_normal((6, 6))
    with torch.no_grad():
        mm = (torch.from_numpy(a) @ torch.from_numpy(b)).numpy()
        eig = torch.linalg.eigvalsh(torch.from_numpy(g @ g.T)).numpy()
    return {
        "torch_matmul_f32": digest(mm),
        "torch_eigvalsh_f64": digest(eig),
        "numpy_matmul_f64": digest(a.astype(np.float64) @ b.astype(np.float64)),
    }


def problem(n_time=30, n_neuron=240, n_factor=6, seed=0, n_constant=2):
    """Seeded synthetic (time, neuron) matrix: smooth factors, sparse mixing, noise."""
    rng = np.random.default_rng(seed)
    F = np.cumsum(rng.standard_normal((n_time, n_factor)), axis=0)
    W = rng.standard_t(3, size=(n_factor, n_neuron)) * (rng.random((n_factor, n_neuron)) < 0.4)
    X = F @ W + rng.standard_normal((n_time, n_neuron))
    X[:, :n_constant] = 1.5  # constant neurons: excluded from the fit
    return X


def _model(**kw):
    from analysis_lib.decomposition import SparseDictionary

    # the algorithm parameter was called ``backend`` before the split, ``solver`` after
    name = "solver" if "solver" in inspect.signature(SparseDictionary).parameters else "backend"
    if "solver" in kw:
        kw[name] = kw.pop("solver")
    kw.setdefault("verbose", False)
    kw.setdefault("n_threads", 1)
    return SparseDictionary(**kw)


def _fitted(model, prefix: str) -> dict[str, str]:
    out = {
        f"{prefix}.{attr}": digest(getattr(model, attr))
        for attr in ("atoms_", "loadings_", "objective_", "r2_", "explained_energy_")
    }
    out[f"{prefix}.n_iter_"] = str(int(model.n_iter_))
    out[f"{prefix}.n_refine_"] = str(int(model.n_refine_))
    return out


def compute_digests() -> dict[str, str]:
    """Every case of the fixed small problems, as ``{case.array: sha256}``."""
    import xarray as xr
    from sklearn.exceptions import ConvergenceWarning

    from analysis_lib.decomposition import (
        decomposition_dataset,
        normalize_columns,
        reference_codes,
    )

    X = problem()
    X2 = problem(seed=1, n_constant=0)
    out: dict[str, str] = {}
    with single_threaded(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # constant neurons
        lbfgs = _model(n_atoms=5, alpha=0.1, max_iter=100, tol=1e-6).fit(X)
        out.update(_fitted(lbfgs, "lbfgs"))
        plain = _model(
            n_atoms=5,
            alpha=0.2,
            max_iter=40,
            refine="none",
            normalize="zscore",
            batch_size=64,
        ).fit(X)
        out.update(_fitted(plain, "bcd_zscore_blocks"))
        f64 = _model(
            n_atoms=4, alpha=0.05, max_iter=60, dtype="float64", normalize="none", seed=3
        ).fit(X2)
        out.update(_fitted(f64, "float64_none"))
        # many atoms, strong penalty: unused atoms get replaced during the epochs
        sparse = _model(n_atoms=12, alpha=0.6, max_iter=30, batch_size=80).fit(X)
        out.update(_fitted(sparse, "unused_atoms"))
        warm = _model(n_atoms=5, alpha=0.1, max_iter=100, tol=1e-6).fit(X)
        warm.set_params(warm_start=True, max_iter=8).fit(X2)
        out.update(_fitted(warm, "warm_start"))
        out["transform"] = digest(lbfgs.transform(X2))
        out["objective_method"] = repr(float(lbfgs.objective(X2)))
        skl = _model(n_atoms=4, alpha=0.1, max_iter=5, batch_size=50, solver="sklearn")
        out.update(_fitted(skl.fit(X), "sklearn"))
        try:
            import spams  # noqa: F401
        except ImportError:
            pass
        else:
            sp = _model(n_atoms=4, alpha=0.1, max_iter=5, batch_size=50, solver="spams")
            out.update(_fitted(sp.fit(X), "spams"))
        Xn, _ = normalize_columns(X2, "unit", np.float64)
        out["reference_codes"] = digest(reference_codes(Xn, lbfgs.atoms_, 0.1)[0])
        da = xr.DataArray(
            X,
            dims=("time", "neuron"),
            coords={"time": np.arange(X.shape[0]) * 2.0, "layer": ("neuron", X[0] * 0)},
        )
        ds = decomposition_dataset(lbfgs, da, {"normalize": "unit"}, "0" * 64)
        for name in sorted(ds.variables):
            out[f"dataset.{name}"] = digest(ds[name].values)
    return out


# Recorded at commit 31e4c51 (before the split) by `python tests/test_decomposition_identity.py`
REFERENCE_FINGERPRINT: dict[str, str] = {
    "torch_matmul_f32": "7f34210e45b2f5955f7f2a7d0e847c7482157d86eccdb5bbbf4d50ed2e01d115",
    "torch_eigvalsh_f64": "4abc87b404af311749461737390d42330bdb18d681c644d762d88ff8c02bf88e",
    "numpy_matmul_f64": "86c6681b3d73efb15d76fbb37a3560e30e4bbb7b3b960c32f94d5c115db69e6e",
}
REFERENCE_DIGESTS: dict[str, str] = {
    "bcd_zscore_blocks.atoms_": "1afa9ce74326654ad3b19b64df8931931f42ee4217e9f39bef9a900b754bfcad",
    "bcd_zscore_blocks.explained_energy_": "2aa9316644b136abb3c02720f4eced338011a5c327a4c620660bce047b34d84d",
    "bcd_zscore_blocks.loadings_": "57477333d579fde2957ddddf4ec5a50ce00d1754c5ff79c2a0cea9715249542c",
    "bcd_zscore_blocks.n_iter_": "38",
    "bcd_zscore_blocks.n_refine_": "0",
    "bcd_zscore_blocks.objective_": "ffe671d0279c79f0e8f5f9667d25da42854538fedef125a1c60721f916ae458e",
    "bcd_zscore_blocks.r2_": "270f6431a132301b7085870cee5e203de353700bb3df6774e646ab72d314e210",
    "dataset.atom": "63ec22778bda15ddb579a5be6908ff23319631ddb974a158b5d109cc662d4052",
    "dataset.atoms": "0e57ffb432cd92fc5988f82f9e02459c74c2cf497e89211ebe91a825f353657b",
    "dataset.explained_energy": "e5448a53c0b92c66605b2df1a6665010c5f4d1de4e2c673f762091adaee5181a",
    "dataset.iteration": "2b61d0158a1bed7f0d25a00998e10252f2c284323b2679601c55ee0f9100b096",
    "dataset.layer": "9a211fe3d8a83670c8328fa54aa581717dffa354f2975d594f4b9e27dbd4234f",
    "dataset.loadings": "2e59da4a88e33d5c267922c86e8d8d208b8c0f698faeee42be0a5ef7e960c1cc",
    "dataset.objective": "f9c970252a6441b77d33e4a9a0d019adc32b1357e74e5a4f372ac630a0ad81d9",
    "dataset.r2": "254acf0f80ad377ca506a9fc11737350bb0d4956098c79b7e13220d8fd8432c0",
    "dataset.subgroup_size": "4fac0448f3e12d42b4d81a3886f45841adf4d8f12c3e41a5c2f59b402aceb5bf",
    "dataset.time": "1e5efab68b83d8994fba850b3f2d9bf27f25a6ca7f7a07d455a3b88fd49a6830",
    "float64_none.atoms_": "6db71926f905d45518ac858a964e280fba9304193013fc799d266cec654f90cd",
    "float64_none.explained_energy_": "33f40789e707f3f04b7ca7ef6082979b13f56f808dbdb6c0cb93d90143999366",
    "float64_none.loadings_": "296ab4bb1079149a4cc76ea151ea275f876f1e96b7919a917f803cd1b48b7a83",
    "float64_none.n_iter_": "22",
    "float64_none.n_refine_": "16",
    "float64_none.objective_": "8a4322487db6b96bdcaff619a730b40f6c1b1224a699ce07e491074830171655",
    "float64_none.r2_": "b7e95de29df5458bb7899a8a9169170ce1c4c6ae30f77eb15754b6442342a521",
    "lbfgs.atoms_": "0e57ffb432cd92fc5988f82f9e02459c74c2cf497e89211ebe91a825f353657b",
    "lbfgs.explained_energy_": "e5448a53c0b92c66605b2df1a6665010c5f4d1de4e2c673f762091adaee5181a",
    "lbfgs.loadings_": "2e59da4a88e33d5c267922c86e8d8d208b8c0f698faeee42be0a5ef7e960c1cc",
    "lbfgs.n_iter_": "43",
    "lbfgs.n_refine_": "17",
    "lbfgs.objective_": "f9c970252a6441b77d33e4a9a0d019adc32b1357e74e5a4f372ac630a0ad81d9",
    "lbfgs.r2_": "254acf0f80ad377ca506a9fc11737350bb0d4956098c79b7e13220d8fd8432c0",
    "objective_method": "62.436910826122244",
    "reference_codes": "4715f4505a4aa8bbc0faabced5d0d3a19d359cdc31ac4303a0d79cf4c294c853",
    "sklearn.atoms_": "b9498a0dd7253c44a2a49510679c25b0414af3c397f90a5ac9fb11774ed8c3b7",
    "sklearn.explained_energy_": "7e89aaa862d880e60e371ecb2aeed867d6cfb4aa80cc7af6df77f907ff96aa95",
    "sklearn.loadings_": "eea975455481eae455d7bf935b7b3f22d9b0d0664fa674a17cd0b209ad5b2d93",
    "sklearn.n_iter_": "5",
    "sklearn.n_refine_": "0",
    "sklearn.objective_": "ce3293b6406229f6f894563455262cafe8620c95454c3d25f7b62d0b9e3848a6",
    "sklearn.r2_": "edb1b8e6fabb9b4e5b1a61d96c474225a0154ac331e6186d9c1f70c5a6ae3e88",
    "spams.atoms_": "7cfa50527cc4acd384c7471c50c8fa94bed023fdd37758301fbfc88420bab589",
    "spams.explained_energy_": "508a1657f374eb3ec631dab17055852e0e2f87b3ef7e940b8e5f315cf3e48b84",
    "spams.loadings_": "924ab19b3f23c66f0e348ebe1b66cd3ce201607a48950bb439ed044ba56a156b",
    "spams.n_iter_": "5",
    "spams.n_refine_": "0",
    "spams.objective_": "8421da86de8df4137362b2af52fa8b04cd8da6d81a845263cba339885d64c429",
    "spams.r2_": "31b34211ab326db9c3c971f8137389c5a59f73a282a28b2ed92dfe32345885b0",
    "transform": "be1172a0a365d34b461ccc3e2c1aa8bbda141b0dd613ff923249e0e6474711a0",
    "unused_atoms.atoms_": "2f86a1dca8eee3085dba57883a29be4bd59a5788c21c705efc6162bdfcf3855a",
    "unused_atoms.explained_energy_": "a1cb07c74d927615702d6cd0cd61a38059eba2e8e3988d4ff3f38d54f00aec9d",
    "unused_atoms.loadings_": "aabd0a7d1fe2f7547decbaaf9383dc423fc318b820ce496382afcd9591341016",
    "unused_atoms.n_iter_": "8",
    "unused_atoms.n_refine_": "3",
    "unused_atoms.objective_": "7b8d1458cb98d8db9db3589d6e0b480a8b1a01eec6321038e6aff32eef4765ea",
    "unused_atoms.r2_": "931edf74d0e20b2bed0579a37f78ca1f163c8d77d48d952e9b0da4a95f770552",
    "warm_start.atoms_": "1f7524edcb627b3db60fd9c81a690532bd6e35f3e326fa8a53eedeb36d1e5a1c",
    "warm_start.explained_energy_": "63e166bc73093a2361edecbc724d5ba7d1e9fbeaa144dcc3ddde275967a22db4",
    "warm_start.loadings_": "3926e643fa7668503cde19d33a84ddfedac6df07b6241a1d456b914293bdeb6c",
    "warm_start.n_iter_": "8",
    "warm_start.n_refine_": "0",
    "warm_start.objective_": "636c5eac0222ba96e867c9ffcab704f4288873cd54106c07e0dac30868521730",
    "warm_start.r2_": "c8276643197b84414ca5bfe64545e589916358c90034da20d9048f5c8b6e78ae",
}


def test_split_is_bit_identical_to_recorded_reference():
    fingerprint = arithmetic_fingerprint()
    if fingerprint != REFERENCE_FINGERPRINT:
        pytest.skip(
            "this machine's torch/numpy kernels give other bits than the recording machine "
            f"({fingerprint} vs {REFERENCE_FINGERPRINT}); digests cannot be compared here"
        )
    digests = compute_digests()
    spams_keys = {k for k in REFERENCE_DIGESTS if k.startswith("spams.")}
    expected = dict(REFERENCE_DIGESTS)
    if not any(k.startswith("spams.") for k in digests):  # spams not installed
        for k in spams_keys:
            expected.pop(k)
    differ = sorted(k for k in expected if digests.get(k) != expected[k])
    assert not differ, f"results differ from commit 31e4c51 for: {differ}"
    assert set(digests) == set(expected)


if __name__ == "__main__":  # print the digests (to record them)
    import json

    print("REFERENCE_FINGERPRINT =", json.dumps(arithmetic_fingerprint(), indent=4))
    print("REFERENCE_DIGESTS =", json.dumps(compute_digests(), indent=4, sort_keys=True))

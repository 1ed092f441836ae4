"""Feature sets of the comparison, named by short specs (``atoms:minilm:16``...).

=========================  ==============================================================
spec                       feature set (time x n, on the Alice volume times)
=========================  ==============================================================
``authors``                the authors' predictors of Brennan et al. *without* word rate
                           (``rate_conv`` is in the base model)
``timing``                 word length and syllables (centred word events, HRF): timing
                           controls with no language model
``atoms:M[:K]``            the ``K`` atoms (default ``n_atoms``) of a sparse dictionary of
                           model ``M``'s FFN-output responses (centred word activations)
``pcs:M:L``                the first ``n_pcs`` principal components of layer ``L``'s
                           neurons of ``M``
``layers:M``               ``pcs:M:L`` for every layer ``L`` (expands to several sets)
``surprisal:M``            word surprisal and entropy of causal LM ``M`` (centred, HRF)
=========================  ==============================================================

Responses come from :func:`analysis_lib.extraction.cached_extract`, dictionaries and
surprisal from their own caches in the data home, so a second run is fast.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

KINDS = ("authors", "timing", "atoms", "pcs", "layers", "surprisal")


@dataclass(frozen=True)
class FeatureSpec:
    """One parsed feature-set spec."""

    kind: str
    model: str = ""
    k: int | None = None  # atoms K
    layer: int | None = None

    @property
    def name(self) -> str:
        parts = [self.kind, self.model]
        if self.k is not None:
            parts.append(str(self.k))
        if self.layer is not None:
            parts.append(f"L{self.layer}")
        return ":".join(p for p in parts if p)


@dataclass
class FeatureSet:
    """A built feature set: values (time, n) and what it is."""

    name: str
    kind: str
    model: str
    values: np.ndarray
    columns: list[str] = field(default_factory=list)


def parse_specs(text: str | list[str] | tuple[str, ...], n_atoms: int) -> list[FeatureSpec]:
    """Parse comma-separated feature specs.

    Parameters
    ----------
    text : str or sequence of str
        Specs such as ``"authors,atoms:minilm,surprisal:smollm2"`` (or a list of them);
        kinds are those of ``KINDS``.
    n_atoms : int
        Number of atoms for an ``atoms:MODEL`` spec that gives no ``:K``.

    Returns
    -------
    list of FeatureSpec
        One spec per comma-separated entry, in order.

    Raises
    ------
    ValueError
        Naming a bad spec and listing the valid kinds.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for raw in (s.strip() for s in items):
        if not raw:
            continue
        parts = raw.split(":")
        kind = parts[0]
        bad = f"feature set {raw!r}: "
        if kind not in KINDS:
            raise ValueError(bad + f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
        if kind in ("authors", "timing"):
            if len(parts) != 1:
                raise ValueError(bad + f"{kind} takes no model")
            out.append(FeatureSpec(kind))
            continue
        if len(parts) < 2 or not parts[1]:
            raise ValueError(bad + f"{kind} needs a model, e.g. {kind}:minilm")
        model = parts[1]
        if kind == "atoms":
            if len(parts) > 3:
                raise ValueError(bad + "use atoms:MODEL or atoms:MODEL:K")
            k = int(parts[2]) if len(parts) == 3 else n_atoms
            if k < 1:
                raise ValueError(bad + f"K must be >= 1, got {k}")
            out.append(FeatureSpec("atoms", model, k=k))
        elif kind == "pcs":
            if len(parts) != 3:
                raise ValueError(bad + "use pcs:MODEL:LAYER")
            out.append(FeatureSpec("pcs", model, layer=int(parts[2])))
        else:
            if len(parts) != 2:
                raise ValueError(bad + f"use {kind}:MODEL")
            out.append(FeatureSpec(kind, model))
    if not out:
        raise ValueError("no feature set given")
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"feature set {dup[0]!r} given twice")
    return out


def _responses(model: str):
    from ..extraction import cached_extract

    return cached_extract(model, "alice", progress=False)


def _atoms(model: str, k: int, alpha: float, seed: int) -> np.ndarray:
    """Atoms (time, k) of the model's responses, cached in the data home."""
    from ..decomposition import SparseDictionary
    from ..paths import data_home

    responses = _responses(model)
    values = np.ascontiguousarray(responses.values, dtype=np.float32)
    digest = hashlib.sha256(values.tobytes()).hexdigest()[:16]
    path = data_home() / "cache" / "atoms" / f"{model}-k{k}-a{alpha:g}-s{seed}-{digest}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    sd = SparseDictionary(n_atoms=k, alpha=alpha, seed=seed, verbose=False).fit(responses)
    atoms = np.asarray(sd.atoms_, dtype=np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, atoms, allow_pickle=False)
    tmp.replace(path)
    return atoms


def _layer_pcs(model: str, layer: int, n_pcs: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    responses = _responses(model)
    layers = np.asarray(responses["layer"].values)
    if layer not in set(layers.tolist()):
        raise ValueError(f"pcs:{model}:{layer}: no layer {layer}; layers 0..{int(layers.max())}")
    x = responses.values[:, layers == layer].astype(np.float64)
    n = min(n_pcs, *x.shape)
    return PCA(n_components=n, svd_solver="full").fit_transform(x)


def n_layers(model: str) -> int:
    """Layers of a registered model (without loading it)."""
    from ..models import get_spec

    return get_spec(model).branches["text"].layers


def expand(specs: list[FeatureSpec]) -> list[FeatureSpec]:
    """Replace each ``layers:M`` by ``pcs:M:L`` for every layer."""
    out = []
    for s in specs:
        if s.kind == "layers":
            out += [FeatureSpec("pcs", s.model, layer=i) for i in range(n_layers(s.model))]
        else:
            out.append(s)
    return out


def _causal(model: str) -> bool:
    from ..models import FAMILIES, get_spec

    return bool(model) and FAMILIES[get_spec(model).family].causal


def warm(specs: list[FeatureSpec]) -> None:
    """Fill the caches of causal LMs whose neurons are used in one pass over Alice.

    A causal model that gives atoms or layer PCs also gives its perplexity (and often
    surprisal regressors): :func:`analysis_lib.surprisal.cached_story_pass` computes the
    responses and the word surprisal from the same forward passes, whatever the order of
    the feature sets.

    Parameters
    ----------
    specs : list of FeatureSpec
        The feature sets about to be built (tiny models at seed 0, as :func:`_responses`).

    Returns
    -------
    None
    """
    from ..surprisal import cached_story_pass

    for model in dict.fromkeys(s.model for s in specs if s.kind in ("atoms", "pcs", "layers")):
        if _causal(model):
            cached_story_pass(model, "alice")


def build(spec: FeatureSpec, *, alpha: float = 0.1, n_pcs: int = 8, seed: int = 0) -> FeatureSet:
    """Build one feature set on the Alice volume times.

    Parameters
    ----------
    spec : FeatureSpec
        What to build (kind, model, K or layer).
    alpha : float, default 0.1
        Sparsity penalty of the dictionary learning (``atoms`` specs).
    n_pcs : int, default 8
        Principal components per layer (``pcs`` and ``layers`` specs).
    seed : int, default 0
        Seed of the decomposition.

    Returns
    -------
    FeatureSet
        The regressors, shape (n_volumes, n_features), with their spec and labels.
    """
    from ..datasets import alice

    if spec.kind == "authors":
        pred = alice.predictors()
        cols = [c for c in alice.PREDICTOR_COLUMNS if c != "rate_conv"]
        return FeatureSet(spec.name, "authors", "", pred.sel(predictor=cols).values, cols)
    if spec.kind == "timing":
        from ..word_timing import timing_features

        t = timing_features("alice", ("length", "syllables"))
        return FeatureSet(spec.name, "timing", "", t.values, list(t["feature"].values))
    if spec.kind == "atoms":
        a = _atoms(spec.model, spec.k, alpha, seed)
        return FeatureSet(
            spec.name, "atoms", spec.model, a, [f"atom{i}" for i in range(a.shape[1])]
        )
    if spec.kind == "pcs":
        p = _layer_pcs(spec.model, spec.layer, n_pcs)
        return FeatureSet(spec.name, "pcs", spec.model, p, [f"pc{i}" for i in range(p.shape[1])])
    if spec.kind == "surprisal":
        from ..surprisal import cached_surprisal, surprisal_features

        f = surprisal_features(cached_surprisal(spec.model, "alice"), "alice")
        return FeatureSet(spec.name, "surprisal", spec.model, f.values, ["surprisal", "entropy"])
    raise ValueError(f"cannot build {spec.name!r}")  # pragma: no cover (parse_specs refuses)


def perplexity(model: str) -> float:
    """Per-word perplexity of a causal LM on Alice (NaN for a non-causal model)."""
    from ..surprisal import cached_surprisal

    if not _causal(model):
        return float("nan")
    return float(cached_surprisal(model, "alice").attrs["perplexity"])

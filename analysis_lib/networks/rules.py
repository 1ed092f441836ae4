"""The significant-set rules with their tuned effect bounds (one place for every stage).

:data:`TUNED_RULES` holds the bound of each rule with an effect-size bound, chosen on the
tuning seeds 0-4 of the content phantom only, by the criterion stated in
``benchmarks/validate_tune.py`` (fixed before it ran; record
``benchmarks/results/validate_tune.json``): ``"network"`` is the best bound of the
subject-level network test, ``"network-shift"`` the record's ``chosen`` (family, bound)
over all families, i.e. the calibrated rule. Frozen here; the held-out seeds never entered
either choice (``tests/test_validation_content.py`` checks these values against the
record). :data:`CALIBRATED_RULE` is what the book's grid, the ``film-atoms`` stage and
``validate`` run.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import false_discovery_control

TUNED_RULES = {
    "network": {"rule": "network", "min_r": 0.03},
    "network-shift": {"rule": "network-shift", "shift_fit": "marginal", "min_r": 0.16},
}
#: The calibrated rule (settings of :class:`analysis_lib.pipeline.NetworksParams`).
CALIBRATED_RULE = TUNED_RULES["network-shift"]

#: Assignment of an atom that has no significant network.
NONE = "none"


def decide(
    p: np.ndarray,
    dice: np.ndarray,
    effect: np.ndarray | None,
    names,
    *,
    alpha: float,
    min_r: float = 0.0,
    tested: bool = True,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The significant set and the assignment of each atom (one definition for every stage).

    A pair (atom, network) is significant when its Benjamini-Hochberg adjusted p value
    (over all pairs) is below ``alpha`` and, when ``effect`` is given and ``min_r > 0``,
    ``|effect| >= min_r``. Each atom is assigned to the network with the largest Dice among
    its significant pairs; ties (e.g. Dice 0 under the network-level rules) are broken by
    the larger ``|effect|``, then by the first network. An atom without a significant pair
    is assigned :data:`NONE`.

    Parameters
    ----------
    p : ndarray, shape (n_atoms, n_networks)
        p value of each pair.
    dice : ndarray, shape (n_atoms, n_networks)
        Dice overlap of each pair (the assignment's first key).
    effect : ndarray of shape (n_atoms, n_networks) or None
        Effect size of the rule's test (network-mean r, shift-test b); NaN counts as 0.
    names : sequence of str, length n_networks
        Network names.
    alpha : float
        Level of the adjusted p values.
    min_r : float, default 0
        Effect-size bound (the tuned bounds are :data:`TUNED_RULES`).
    tested : bool, default True
        False when no test ran (the spatial rule without permutations): nothing is
        significant and the adjusted p values are NaN.

    Returns
    -------
    p_fdr : ndarray, shape (n_atoms, n_networks)
    significant : ndarray of bool, shape (n_atoms, n_networks)
    assignment : list of str, length n_atoms
    """
    p = np.asarray(p, dtype=float)
    dice = np.asarray(dice, dtype=float)
    if p.shape != dice.shape or (effect is not None and np.shape(effect) != p.shape):
        raise ValueError(
            f"decide: p {p.shape}, dice {dice.shape} and effect "
            f"{None if effect is None else np.shape(effect)} must have one shape"
        )
    if not tested:
        p_fdr = np.full(p.shape, np.nan)
        significant = np.zeros(p.shape, bool)
    else:
        p_fdr = false_discovery_control(p.ravel(), method="bh").reshape(p.shape)
        significant = p_fdr < alpha
        if effect is not None and min_r > 0:
            significant &= np.abs(np.nan_to_num(effect)) >= min_r
    tie = np.abs(np.nan_to_num(effect)) if effect is not None else np.zeros(p.shape)
    names = list(names)
    assignment = []
    for a in range(p.shape[0]):
        ok = np.flatnonzero(significant[a])
        if ok.size:  # lexsort: last key first; the largest Dice, |effect|, first index
            best = ok[np.lexsort((-ok, tie[a, ok], dice[a, ok]))[-1]]
            assignment.append(str(names[best]))
        else:
            assignment.append(NONE)
    return p_fdr, significant, assignment

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

TUNED_RULES = {
    "network": {"rule": "network", "min_r": 0.03},
    "network-shift": {"rule": "network-shift", "shift_fit": "marginal", "min_r": 0.16},
}
#: The calibrated rule (settings of :class:`analysis_lib.pipeline.NetworksParams`).
CALIBRATED_RULE = TUNED_RULES["network-shift"]

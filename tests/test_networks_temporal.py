"""The network-level test with a temporal null (analysis_lib.networks.temporal)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis_lib.encoding.design import build_design
from analysis_lib.networks.temporal import network_courses, network_shift_test


def _smooth(rng, n_time, n, width=4.0):
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(rng.standard_normal((n_time, n)), width, axis=0)


def _scene(seed=0, n_time=300, n_sub=8, n_net=6, n_atom=20, effect=0.0):
    """A response shared by every subject (the stimulus) plus independent noise; the
    atoms are unrelated to it except atom 0, which drives network 0 with ``effect``."""
    rng = np.random.default_rng(seed)
    shared = _smooth(rng, n_time, n_net)
    atoms = _smooth(rng, n_time, n_atom)
    shared[:, 0] += effect * atoms[:, 0] / atoms[:, 0].std()
    courses = [shared + 0.7 * _smooth(rng, n_time, n_net) for _ in range(n_sub)]
    nuis = build_design(
        atoms, [str(i) for i in range(n_atom)], None, 1.5 * np.arange(n_time)
    ).nuisance
    return atoms, courses, nuis


def test_shift_null_holds_its_level_where_the_subject_test_does_not():
    """Unrelated atoms, a shared response: the subject-level t test of the subject
    coefficients rejects far more than 5 % (every subject shares the chance correlation);
    the temporal null stays near the nominal rate."""
    rates_t, rates_shift = [], []
    for seed in range(6):
        atoms, courses, nuis = _scene(seed)
        res = network_shift_test(atoms, courses, nuis, n_shift=200, seed=seed)
        rates_shift.append((res["p"] < 0.05).mean())
        # the subject-level test on the same correlations
        z = (atoms - atoms.mean(0)) / atoms.std(0)
        per = np.stack([z.T @ ((c - c.mean(0)) / c.std(0)) / len(z) for c in courses])
        rates_t.append((stats.ttest_1samp(per, 0.0, axis=0).pvalue < 0.05).mean())
    assert np.mean(rates_t) > 0.3, rates_t
    assert 0.01 <= np.mean(rates_shift) <= 0.09, rates_shift


def test_shift_null_finds_a_planted_atom_and_known_answer():
    atoms, courses, nuis = _scene(1, effect=1.0)
    res = network_shift_test(atoms, courses, nuis, n_shift=200, seed=0)
    assert res["p"][0, 0] < 0.01 and res["p"][0, 0] == res["p"].min()
    assert res["b"][0, 0] > 0.3

    # known answer (marginal): the subject mean of corr(residualised atom, residualised course)
    def resid(x):
        return x - nuis @ np.linalg.lstsq(nuis, x, rcond=None)[0]

    ref = np.mean([np.corrcoef(resid(atoms[:, 3]), resid(c[:, 2]))[0, 1] for c in courses])
    assert res["b"][3, 2] == pytest.approx(ref, abs=1e-10)
    joint = network_shift_test(atoms, courses, nuis, n_shift=50, seed=0, fit="joint")
    assert joint["p"][0, 0] < 0.01


def test_network_courses_and_errors():
    bold = np.arange(12.0).reshape(3, 4)
    labels = np.array([1, 1, 2, 0])
    out = network_courses(bold, labels, np.array([1, 2, 3]))
    np.testing.assert_allclose(out[:, 0], bold[:, :2].mean(1))
    np.testing.assert_allclose(out[:, 1], bold[:, 2])
    assert np.isnan(out[:, 2]).all()
    atoms, courses, nuis = _scene(0, n_time=120)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        network_shift_test(atoms, courses[:1], nuis)
    with pytest.raises(ValueError, match="share the scan clock"):
        network_shift_test(atoms, [courses[0], courses[1][:-1]], nuis)
    with pytest.raises(ValueError, match="fit must be"):
        network_shift_test(atoms, courses, nuis, fit="both")

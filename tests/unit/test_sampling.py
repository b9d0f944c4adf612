"""`sim.sampling.Sampler` draws exactly what the duration specs of `sim.distributions` draw: the
model's inner loop uses the samplers, every other part the specs, and common random numbers
and the compiled build's equality with the Python source both rest on their being the same."""
import numpy as np
import pytest
from pydantic import TypeAdapter

from sim.distributions import Duration
from sim.sampling import Sampler, sampler

SPECS = [
    {"dist": "lognormal", "median_days": 1.5, "sigma": 0.8},
    {"dist": "lognormal", "median_days": 320.0, "sigma": 0.345},
    {"dist": "exponential", "mean_days": 150.0},
    {"dist": "gamma", "shape": 2.5, "mean_days": 40.0},
    {"dist": "weibull", "shape": 0.7, "scale_days": 300.0},
    {"dist": "fixed", "days": 14.0},
    {"dist": "empirical", "times_days": [10.0, 50.0, 200.0, 400.0], "survival": [0.9, 0.5, 0.1, 0.0]},
]
U = np.concatenate([np.random.default_rng(7).random(2000), [0.0, 1e-300, 1e-17, 1e-16, 0.5, 1 - 1e-16, 1 - 2**-53]])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["dist"])
def test_a_sampler_draws_the_same_numbers_as_its_spec(spec):
    d = TypeAdapter(Duration).validate_python(spec)
    s = Sampler(d)
    for elapsed in (0.0, 3.0, 90.0):
        for scale in (1.0, 0.7):
            got = [s.sample(float(u), elapsed, scale) for u in U]
            want = [d.sample(float(u), elapsed, scale) for u in U]
            assert got == want, (spec, elapsed, scale)  # to the last digit
    assert [s.sample(float(u)) for u in U[:50]] == [d.sample(float(u)) for u in U[:50]]


def test_no_duration_has_no_sampler():
    assert sampler(None) is None

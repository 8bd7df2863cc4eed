"""Fixtures shared by the test modules."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator, so every failure reproduces."""
    return np.random.default_rng(20261126)

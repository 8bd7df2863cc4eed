"""Fixtures and settings shared by the test modules."""

import os

import numpy as np
import pytest
from hypothesis import settings

# Local runs explore new random examples each time (and remember failures in .hypothesis/);
# CI (CI=true) draws a fixed sequence, so a landing never depends on the luck of the draw.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def rng():
    """A seeded generator, so every failure reproduces."""
    return np.random.default_rng(20261126)

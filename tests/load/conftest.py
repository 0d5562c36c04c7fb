"""The ``faultkit_load`` fixture for these tests (a project would import it the same way)."""

from faultkit.load.fixture import faultkit_load  # noqa: F401

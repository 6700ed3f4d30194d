from tests.simulator.conftest import small_world  # noqa: F401  (the same small world)

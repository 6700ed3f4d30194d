# The same small world and the extra similarity kind as the simulator's tests.
from tests.simulator.conftest import extra_kind, small_world  # noqa: F401

from tests.recommenders.conftest import _one_torch_thread  # noqa: F401  (tiny models: one thread)

import pytest

from recommenders.torch_threads import one_torch_thread


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Every module here fits small response models (recommenders.torch_threads)."""
    with one_torch_thread():
        yield

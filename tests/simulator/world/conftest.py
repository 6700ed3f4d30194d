import pytest

from tests.torch_threads import one_torch_thread


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Every module here fits small response models (tests.torch_threads)."""
    with one_torch_thread():
        yield

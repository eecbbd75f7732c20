"""Test-session set-up shared by every test directory.

Keras 3 (a test oracle only) picks its backend at import time, so the torch backend is chosen
here, before any test module imports keras. Nothing is seeded globally: tests seed what they use.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch  # noqa: E402

# The suite runs as 2 pytest-xdist workers on a 2-core machine: one torch thread per worker
# avoids oversubscribing the cores (results do not depend on the thread count).
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tiny tensors (the thread pool only adds overhead there and
    oversubscribes shared cores); the previous count comes back afterwards. Use with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def fresh_names():
    """Keras' automatic layer names from 1 again, and torch seeded, before each test (as a fresh
    Keras session); use with ``pytestmark = pytest.mark.usefixtures("fresh_names")``."""
    import importlib.util

    from lstmkit import keras

    keras.backend.clear_session()
    if importlib.util.find_spec("keras") is not None:  # the oracle's names restart too
        import keras as real_keras

        real_keras.backend.clear_session()
    torch.manual_seed(0)

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

"""Test-session set-up shared by every test directory.

Keras 3 (a test oracle only) picks its backend at import time, so the torch backend is chosen
here, before any test module imports keras. Nothing is seeded globally: tests seed what they use.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

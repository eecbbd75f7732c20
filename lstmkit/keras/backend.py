"""``lstmkit.keras.backend``: the few backend functions Keras code calls."""

from lstmkit.keras.engine.layer import clear_session

__all__ = ["clear_session", "backend"]


def backend() -> str:
    """The numerical backend: always torch."""
    return "torch"

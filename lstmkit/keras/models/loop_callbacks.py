"""Which callbacks a ``fit``/``evaluate``/``predict`` run calls, and what the loop (fit_loop.py)
takes from them: the ``CallbackList`` with its ``History``, the batch hooks some callback
implements (the others are never called, so their logs are never computed), whether a
``ProgbarLogger`` draws the bar instead of the loop, and the first epoch (which
``BackupAndRestore`` may have restored in ``on_train_begin``)."""

from __future__ import annotations

from typing import Any

from lstmkit.keras.models.strategy import LOCAL, Strategy

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
                "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")


def callback_list(model: Any, callbacks: Any, params: dict[str, Any], add_history: bool,
                  strategy: Strategy = LOCAL) -> tuple[Any, Any, set[str]]:
    """The CallbackList for a run (with a History for fit) of the callbacks this process runs
    (``strategy.rank_callbacks``), the History, and the batch hooks that some callback implements
    (the others are never called). The hooks are those of all the callbacks, also the ones this
    process leaves out: a batch hook's logs may need a sum over the processes, which every
    process must then take part in."""
    if not callbacks and not add_history:
        return _NO_CALLBACKS, None, set()
    params = dict(params)
    from lstmkit.keras import callbacks as cb_module

    if isinstance(callbacks, cb_module.CallbackList):
        callbacks.set_model(model)
        callbacks.set_params(params)
        history = next((cb for cb in callbacks.callbacks if isinstance(cb, cb_module.History)), None)
        return _for_this_rank(callbacks, strategy, model, params), history, _active_hooks(callbacks)
    user = list(callbacks or [])
    for cb in user:
        if not isinstance(cb, cb_module.Callback):
            raise TypeError(f"callbacks must be lstmkit.keras.callbacks.Callback instances, got "
                            f"{type(cb).__name__}")
    history = None
    if add_history:
        history = next((cb for cb in user if isinstance(cb, cb_module.History)), None)
        if history is None:
            history = cb_module.History()
            user.append(history)
    cbs = cb_module.CallbackList(user, model=model, params=params)
    return _for_this_rank(cbs, strategy, model, params), history, _active_hooks(cbs)


def _for_this_rank(cbs: Any, strategy: Strategy, model: Any, params: dict[str, Any]) -> Any:
    """``cbs``, or a new list of the callbacks the strategy keeps on this process."""
    kept = strategy.rank_callbacks(cbs.callbacks)
    if [id(cb) for cb in kept] == [id(cb) for cb in cbs.callbacks]:
        return cbs
    from lstmkit.keras.callbacks import CallbackList

    return CallbackList(kept, model=model, params=params)


def _active_hooks(cbs: Any) -> set[str]:
    """The batch hooks some callback of the list implements (CallbackList tracks them)."""
    active = getattr(cbs, "_active", None)
    return {h for h, on in active.items() if on} if isinstance(active, dict) else set(_BATCH_HOOKS)


class _NoCallbacks:
    """Stands in for a CallbackList when there are no callbacks (evaluate/predict without any)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("on_"):
            return _ignore
        raise AttributeError(name)


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


_NO_CALLBACKS = _NoCallbacks()


def verbosity(verbose: Any) -> int:
    """The level of a ``verbose`` argument ("auto" is 1). Callbacks get the argument itself in
    ``params["verbose"]``, as in Keras."""
    from lstmkit.keras.models.training import _verbosity as level

    return level(verbose)


def has_progbar_logger(cbs: Any) -> bool:
    """Whether the callbacks hold a ``ProgbarLogger``: then it draws the bar, not the loop."""
    from lstmkit.keras.callbacks.progbar_logger import ProgbarLogger

    return any(isinstance(cb, ProgbarLogger) for cb in getattr(cbs, "callbacks", ()))


def start_epoch(model: Any, initial_epoch: int) -> int:
    """The first epoch to run: the one a callback restored in ``on_train_begin`` (``BackupAndRestore``
    sets ``model._initial_epoch``, as in Keras), else ``initial_epoch``. The restored epoch is used
    once, so a later ``fit`` of the same model starts where it is told to."""
    restored = getattr(model, "_initial_epoch", None)
    model._initial_epoch = None
    return int(restored) if restored is not None else initial_epoch

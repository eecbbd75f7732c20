"""Keras callbacks on lstmkit (``lstmkit.keras.callbacks``, as ``tensorflow.keras.callbacks``).

From the model they use only ``model.stop_training``, ``model.optimizer.learning_rate``,
``model.get_weights()`` / ``set_weights()`` and ``model.save()`` / ``save_weights()``.
"""

from lstmkit.keras.callbacks.base import Callback, CallbackList, History, pythonify_logs
from lstmkit.keras.callbacks.checkpoint import ModelCheckpoint
from lstmkit.keras.callbacks.monitor import EarlyStopping, MonitorCallback, ReduceLROnPlateau
from lstmkit.keras.callbacks.simple import CSVLogger, LambdaCallback, LearningRateScheduler, TerminateOnNaN, TimeBudget

__all__ = ["TimeBudget", "Callback", "CallbackList", "History", "EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint",
           "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback", "MonitorCallback",
           "pythonify_logs"]

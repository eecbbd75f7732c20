"""Keras callbacks on lstmkit (``lstmkit.keras.callbacks``, as ``tensorflow.keras.callbacks``).

From the model they use only ``model.stop_training``, ``model.optimizer`` (its learning rate,
iterations and state dict), ``model.get_weights()`` / ``set_weights()``, ``model.layers`` and
``model.save()`` / ``save_weights()``; the package never imports lstmkit.keras.models (which
imports it). ``TensorBoard`` needs the ``tensorboard`` package (``pip install 'lstmkit[tb]'``).
"""

from lstmkit.keras.callbacks.backup import BackupAndRestore
from lstmkit.keras.callbacks.base import Callback, CallbackList, History, pythonify_logs
from lstmkit.keras.callbacks.checkpoint import ModelCheckpoint
from lstmkit.keras.callbacks.monitor import EarlyStopping, MonitorCallback, ReduceLROnPlateau
from lstmkit.keras.callbacks.progbar_logger import ProgbarLogger
from lstmkit.keras.callbacks.simple import CSVLogger, LambdaCallback, LearningRateScheduler, TerminateOnNaN, TimeBudget
from lstmkit.keras.callbacks.tensorboard import TensorBoard

__all__ = ["TimeBudget", "Callback", "CallbackList", "History", "EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint",
           "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback", "MonitorCallback",
           "pythonify_logs", "BackupAndRestore", "ProgbarLogger", "TensorBoard"]

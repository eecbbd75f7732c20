"""Look inside slide 11's model: train the LSTM + Attention forecaster on sunspots with a
validation split and a CSVLogger, then draw its attention weights (PNG and page), its training
curves and its LSTM's gate saturation, and name the cell that best tracks the solar cycle.

    python examples/inside_attention_model.py            # writes runs/inside/*.png, *.html
    LSTMKIT_EXAMPLE_EPOCHS=2 python examples/inside_attention_model.py

The same views from the command line: ``lstmkit viz attention --model runs/inside/model.keras
--input runs/inside/x.npy``, ``lstmkit viz history --history runs/inside/log.csv``.
"""

import os
from pathlib import Path

import numpy as np
import torch

from lstmkit.data import load_sunspots
from lstmkit.keras.callbacks import CSVLogger
from lstmkit.keras.layers import LSTM, Attention, Concatenate, Dense, Input
from lstmkit.keras.models import Model
from lstmkit.keras.utils import set_random_seed
from lstmkit.viz import (
    attention_scores,
    gate_saturation,
    plot_attention,
    plot_history,
    plot_saturation,
    rank_cells,
    record,
    write_attention_page,
)

OUT = Path(os.environ.get("LSTMKIT_EXAMPLE_OUT", "runs/inside"))
OUT.mkdir(parents=True, exist_ok=True)
set_random_seed(0)

series = load_sunspots().values
series = (series - series.mean()) / series.std()
sequence_length = 20
windows = np.stack([series[i:i + sequence_length + 1] for i in range(len(series) - sequence_length)])
X, y = windows[:, :-1, None].astype("float32"), windows[:, 1:, None].astype("float32")  # (N, 20, 1) each

inputs = Input(shape=(sequence_length, 1))
lstm_output = LSTM(64, return_sequences=True, name="lstm")(inputs)
attention = Attention(name="attention")([lstm_output, lstm_output])
output = Dense(1)(Concatenate()([lstm_output, attention]))
model = Model(inputs=inputs, outputs=output)
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 30))
history = model.fit(X, y, epochs=EPOCHS, batch_size=32, validation_split=0.2, verbose=0,
    callbacks=[CSVLogger(str(OUT / "log.csv"))])
model.save(OUT / "model.keras")
np.save(OUT / "x.npy", X[-8:])

# attention: which past years each year's prediction looks at (rows: queries, columns: keys)
years = [str(y) for y in range(1700, 1700 + len(series))]
(scores,) = attention_scores(model, X[-8:])
labels = [years[len(X) - 8 + k + t] for k in range(8) for t in range(sequence_length)]
plot_attention(OUT / "attention.png", scores["scores"][-1], query_labels=labels[-sequence_length:],
               key_labels=labels[-sequence_length:], title="slide 11's attention over the last 20 years")
write_attention_page(OUT / "attention.html", [scores], title="slide 11: attention weights")
plot_history(OUT / "history.png", history, title="slide 11's model on sunspots")

# the LSTM inside: gate saturation and the cell that tracks the (normalised) sunspot number
traces = record(model, torch.from_numpy(X[-200:]))
plot_saturation(OUT / "gates.png", gate_saturation(traces), title="slide 11's LSTM: gate saturation")
cells = np.tanh(traces[0]["c"][:, -1])  # (200, 64): each window's last step
best = rank_cells(cells, {"sunspots": X[-200:, -1, 0].astype(np.float64)}, top=1)[0]
print(f"final val_mae {history.history['val_mae'][-1]:.3f}; cell {best.unit} tracks the sunspot number "
      f"(r = {best.correlation:.2f}); plots and pages in {OUT}/")

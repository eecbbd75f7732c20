"""The LSTM cell of the slide deck "Understanding LSTM Networks in Python", slides 2-5, in NumPy.

Read this file first. It is the same cell as ``torch.nn.LSTMCell`` (and as the ``"lstm"``
variant of :func:`lstmkit.cells.lstm.lstm_step`), written the way the slides write it: one
weight matrix per gate, inputs multiplied on the left (``x @ W``), everything float64.

Shapes: ``B`` batch size, ``I`` input features, ``H`` hidden units.

* ``x`` (B, I): the input at this time step.
* ``h`` (B, H): the hidden state, i.e. the previous step's output.
* ``c`` (B, H): the cell state, the LSTM's long-term memory.
* ``W_k`` (I, H), ``U_k`` (H, H), ``b_k`` (H,) for each gate ``k`` in ``f, i, c, o``.

The cell state is updated additively (``c = f * c + i * c_candidate``), which is why
gradients can flow across many steps without vanishing: the forget gate decides how much of
the old memory survives, the input gate how much new information is written, and the output
gate how much of the memory is shown to the rest of the network.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid, tanh

#: Keys of the weight dictionary used by :func:`lstm_cell`.
SLIDE_WEIGHT_KEYS: tuple[str, ...] = tuple(
    f"{kind}_{gate}" for kind in ("W", "U", "b") for gate in ("i", "f", "c", "o")
)


def forget_gate(
    x: np.ndarray, h: np.ndarray, W_f: np.ndarray, U_f: np.ndarray, b_f: np.ndarray
) -> np.ndarray:
    """Slide 3: how much of each unit of the previous cell state to keep.

    Returns values in (0, 1), one per cell unit: 0 means "forget this entirely", 1 means
    "keep it as it is". It looks at the current input and the previous hidden state.
    """
    return sigmoid(x @ W_f + h @ U_f + b_f)  # (B, H)


def input_gate(
    x: np.ndarray,
    h: np.ndarray,
    W_i: np.ndarray,
    U_i: np.ndarray,
    b_i: np.ndarray,
    W_c: np.ndarray,
    U_c: np.ndarray,
    b_c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Slide 4: what new information to write into the cell state.

    Two parts: ``i`` (a sigmoid, in (0, 1)) chooses *which* units to update and by how much,
    and ``c_candidate`` (a tanh, in (-1, 1)) proposes the new values. The cell adds
    ``i * c_candidate`` to its memory.
    """
    i = sigmoid(x @ W_i + h @ U_i + b_i)  # (B, H)
    c_candidate = tanh(x @ W_c + h @ U_c + b_c)  # (B, H)
    return i, c_candidate


def output_gate(
    x: np.ndarray, h: np.ndarray, c: np.ndarray, W_o: np.ndarray, U_o: np.ndarray, b_o: np.ndarray
) -> np.ndarray:
    """Slide 5: what part of the (already updated) cell state to output as the new hidden state.

    ``o`` (a sigmoid) selects units; the cell state is squashed with tanh first, so the output
    is ``o * tanh(c)``, in (-1, 1). ``c`` must be the *new* cell state of this step.
    """
    o = sigmoid(x @ W_o + h @ U_o + b_o)  # (B, H)
    return o * tanh(c)  # (B, H)


def lstm_cell(
    x: np.ndarray, h: np.ndarray, c: np.ndarray, weights: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Slide 2: one LSTM step. Returns the new hidden state and the new cell state, both (B, H).

    ``weights`` holds ``W_i, W_f, W_c, W_o`` (I, H), ``U_i, U_f, U_c, U_o`` (H, H) and
    ``b_i, b_f, b_c, b_o`` (H,); :func:`slide_weights_from_torch` builds it from a torch LSTM.
    """
    missing = [key for key in SLIDE_WEIGHT_KEYS if key not in weights]
    if missing:
        raise ValueError(f"weights is missing {missing}; expected the keys {list(SLIDE_WEIGHT_KEYS)}")
    w = {key: np.asarray(weights[key], dtype=np.float64) for key in SLIDE_WEIGHT_KEYS}
    x = np.asarray(x, dtype=np.float64)  # (B, I)
    h = np.asarray(h, dtype=np.float64)  # (B, H)
    c = np.asarray(c, dtype=np.float64)  # (B, H)

    f = forget_gate(x, h, w["W_f"], w["U_f"], w["b_f"])  # (B, H)
    i, c_candidate = input_gate(x, h, w["W_i"], w["U_i"], w["b_i"], w["W_c"], w["U_c"], w["b_c"])

    c = f * c + i * c_candidate  # (B, H): keep some old memory, write some new
    h = output_gate(x, h, c, w["W_o"], w["U_o"], w["b_o"])  # (B, H)
    return h, c


def slide_weights_from_torch(
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias_ih: np.ndarray | None = None,
    bias_hh: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Convert torch.nn.LSTM / LSTMCell weights to the slides' per-gate weights.

    torch stacks the four gates' weights as rows ``i|f|g|o`` of ``weight_ih`` (4H, I) and
    ``weight_hh`` (4H, H) and multiplies them on the right (``W @ x``); the slides keep one
    matrix per gate and multiply on the left (``x @ W``), so each block is transposed. torch's
    ``g`` (cell candidate) is the slides' ``c``. torch has two biases that are always added
    together, so ``b = bias_ih + bias_hh`` (a missing bias counts as zeros).

    Pass NumPy arrays (e.g. ``param.detach().numpy()``).
    """
    weight_ih = np.asarray(weight_ih, dtype=np.float64)
    weight_hh = np.asarray(weight_hh, dtype=np.float64)
    if weight_ih.ndim != 2 or weight_ih.shape[0] % 4 != 0:
        raise ValueError(f"weight_ih must have shape (4*hidden, input), got {weight_ih.shape}")
    hidden = weight_ih.shape[0] // 4
    if weight_hh.shape != (4 * hidden, hidden):
        raise ValueError(
            f"weight_hh must have shape (4*hidden, hidden) = {(4 * hidden, hidden)}, got {weight_hh.shape}"
            " (LSTMs with proj_size have no slide form)"
        )
    bias = np.zeros(4 * hidden)  # (4H,)
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None:
            b = np.asarray(b, dtype=np.float64)
            if b.shape != (4 * hidden,):
                raise ValueError(f"{name} must have shape {(4 * hidden,)}, got {b.shape}")
            bias = bias + b

    weights = {}
    for k, gate in enumerate(("i", "f", "c", "o")):  # torch row order; "c" is torch's "g"
        rows = slice(k * hidden, (k + 1) * hidden)
        weights[f"W_{gate}"] = weight_ih[rows].T.copy()  # (I, H)
        weights[f"U_{gate}"] = weight_hh[rows].T.copy()  # (H, H)
        weights[f"b_{gate}"] = bias[rows].copy()  # (H,)
    return weights

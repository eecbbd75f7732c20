"""``lstmkit export onnx CHECKPOINT OUT``: each app's checkpoint (tiny, built in a tmp folder) as
an ONNX file that ONNX Runtime runs like the app's own network (1e-5), at another batch (and, but
for forecast's fixed lookback, another length) than the export's example."""

from __future__ import annotations

import numpy as np
import pytest
import torch

ort = pytest.importorskip("onnxruntime")

from lstmkit.cli import main  # noqa: E402

TOL = 1e-5


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _export(tmp_path, ckpt) -> object:
    out = tmp_path / "out.onnx"
    assert main(["export", "onnx", str(ckpt), str(out)]) == 0
    assert out.is_file() and not list(tmp_path.glob(".*.part"))
    return _session(out)


def test_forecast(tmp_path) -> None:
    from lstmkit.apps.forecast.model import Forecaster

    t = np.arange(60)
    series = 10 + 5 * np.sin(2 * np.pi * t / 11)
    fc = Forecaster(lookback=6, horizon=3, units=4, epochs=1, patience=1, paths=5, seed=0).fit(series, validation=8)
    fc.save(tmp_path / "fc")
    session = _export(tmp_path, tmp_path / "fc")
    x = np.random.default_rng(0).normal(size=(5, 6, 1)).astype("float32")  # batch 5 (the example had 2)
    want = np.asarray(fc.model_.predict(x, verbose=0))
    np.testing.assert_allclose(session.run(None, {"window": x})[0], want, rtol=TOL, atol=TOL)


def test_sentiment(tmp_path) -> None:
    from lstmkit.apps.sentiment.model import SentimentClassifier, SentimentConfig
    from lstmkit.apps.sentiment.training import predict_logits

    texts = ["a good film", "bad and dull", "really good fun", "dull plot, bad acting", "good", "bad"] * 3
    labels = [1, 0, 1, 0, 1, 0] * 3
    config = SentimentConfig(num_words=30, maxlen=20, embed_dim=4, units=4, epochs=1, batch_size=8, members=2)
    clf = SentimentClassifier(config, ["neg", "pos"])
    clf.fit(texts, labels, texts[:4], labels[:4], verbose=0)
    clf.save(tmp_path / "st")
    session = _export(tmp_path, tmp_path / "st")
    ids = np.array([[5, 3, 2, 9, 4, 7, 2, 3, 8, 6, 2], [4, 2, 6, 0, 0, 0, 0, 0, 0, 0, 0], [3] * 11], dtype=np.int64)
    lengths = np.array([11, 3, 11], dtype=np.int64)  # batch 3 and length 11 (the example: 2 x 8)
    got = session.run(None, {"ids": ids, "lengths": lengths})[0]
    want = np.mean([predict_logits(net, [row[:n] for row, n in zip(ids, lengths)]) for net in clf.model], axis=0)
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


def test_textgen(tmp_path) -> None:
    from lstmkit.apps.textgen.model import TextGenConfig, TextGenerator
    from lstmkit.apps.textgen.vocab import Vocab

    text = "to be, or not to be: that is the question.\n" * 10
    config = TextGenConfig(layers=2, units=8, embed_dim=4, seq_len=10, batch_size=4)
    generator = TextGenerator(Vocab.from_text(text), config, seed=0)
    generator.fit(text, steps=2, verbose=0)
    generator.save(tmp_path / "tg")
    session = _export(tmp_path, tmp_path / "tg")
    assert "LSTM" in {n.op_type for n in __import__("onnx").load(tmp_path / "out.onnx").graph.node}
    ids = torch.from_numpy(generator.vocab.encode(text[:39]).reshape(3, 13))
    with torch.no_grad(), generator.model.score_kernels():
        logits, (h, c) = generator.model.eval()(ids)
    for g, w in zip(session.run(None, {"ids": ids.numpy()}), (logits, h, c)):
        np.testing.assert_allclose(g, w.numpy(), rtol=TOL, atol=TOL)


def test_not_a_checkpoint(tmp_path, capsys) -> None:
    assert main(["export", "onnx", str(tmp_path / "nothing"), str(tmp_path / "o.onnx")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err

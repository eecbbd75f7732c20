"""The sentiment classifier (a seed ensemble of BiLSTMs): a tiny fit, length-bucketed batches equal
to fixed 200-wide padding, pooling blind to padding, save/load giving identical probabilities,
determinism for a seed, the time budget, and the TF-IDF baseline."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.sentiment.batches import length_batches
from lstmkit.apps.sentiment.data import load_rotten, split_data, subsample
from lstmkit.apps.sentiment.model import SentimentClassifier, SentimentConfig

TINY = SentimentConfig(num_words=300, maxlen=200, embed_dim=8, units=8, epochs=2, batch_size=32, members=2,
                       patience=5)


@pytest.fixture(scope="module")
def split():
    return split_data(subsample(load_rotten(), 300, seed=0), seed=0, val_frac=0.2, test_frac=0.2)


@pytest.fixture(scope="module")
def trained(split):
    clf = SentimentClassifier(TINY, split.train.classes)
    clf.fit(split.train.texts, split.train.labels, split.val.texts, split.val.labels, seed=0, verbose=0)
    return clf


def test_fit_predict_and_evaluate(trained, split) -> None:
    proba = trained.predict_proba(split.test.texts)
    assert proba.shape == (len(split.test),)
    assert np.all((proba > 0) & (proba < 1))
    labels = trained.predict(split.test.texts)
    assert set(labels) <= {"rotten", "fresh"}
    assert labels == [("fresh" if p >= 0.5 else "rotten") for p in proba]
    metrics = trained.evaluate(split.test.texts, split.test.labels)
    assert metrics["n"] == len(split.test) and 0 <= metrics["accuracy"] <= 1
    assert trained.info["epochs_run"] == [2, 2] and trained.info["members_trained"] == 2
    assert all(set(m) >= {"loss", "val_loss", "val_accuracy", "best_epoch"} for m in trained.history["members"])
    assert trained.predict_proba([]).shape == (0,)


def test_length_batches_give_the_same_outputs_as_fixed_padding(trained, split) -> None:
    import torch

    from lstmkit.apps.sentiment.tokenizer import pad

    texts = split.test.texts[:40]
    seqs = trained.encoder.encode(texts)
    ids = torch.as_tensor(pad(seqs, 200), dtype=torch.int64)  # (40, 200), post-padded
    lengths = torch.as_tensor([len(s) for s in seqs])
    with torch.no_grad():
        fixed = torch.stack([net(ids, lengths) for net in trained.model]).mean(0).double().numpy()
    np.testing.assert_allclose(trained.predict_logits(texts, batch_size=7), fixed, rtol=1e-5, atol=1e-5)


def test_length_batches_cover_every_row_once_and_reshuffle() -> None:
    lengths = np.asarray([k % 9 + 1 for k in range(100)])
    rng = np.random.default_rng(1)
    first = [b.tolist() for b in length_batches(lengths, 8, rng)]
    assert sorted(i for b in first for i in b) == list(range(100))
    assert [b.tolist() for b in length_batches(lengths, 8, rng)] != first
    ordered = [len_ for b in length_batches(lengths, 8) for len_ in lengths[b]]
    assert ordered == sorted(ordered)


def test_pooling_ignores_padding() -> None:
    import torch

    from lstmkit.apps.sentiment.net import SentimentNet

    torch.manual_seed(0)
    net = SentimentNet(50, 6, 5).eval()
    ids = torch.tensor([[3, 4, 5, 0, 0, 0, 0]])
    with torch.no_grad():
        long = net(ids, torch.tensor([3]))
        short = net(ids[:, :3], torch.tensor([3]))
    torch.testing.assert_close(long, short, rtol=1e-5, atol=1e-6)


def test_save_load_round_trip_gives_identical_probabilities(trained, split, tmp_path) -> None:
    trained.save(tmp_path / "ckpt")
    loaded = SentimentClassifier.load(tmp_path / "ckpt")
    texts = split.test.texts + ["an unseen qwertyuiop word", "!!!"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), trained.predict_proba(texts))
    assert loaded.classes == trained.classes and loaded.config == trained.config
    assert loaded.encoder.vocab == trained.encoder.vocab


def test_same_seed_same_model(split) -> None:
    def run(seed: int) -> np.ndarray:
        config = SentimentConfig(num_words=200, embed_dim=4, units=4, epochs=1, members=2)
        clf = SentimentClassifier(config, split.train.classes)
        clf.fit(split.train.texts, split.train.labels, split.val.texts, split.val.labels, seed=seed, verbose=0)
        return clf.predict_proba(split.test.texts)

    first = run(5)
    np.testing.assert_array_equal(first, run(5))
    assert not np.array_equal(first, run(6))


def test_time_budget_stops_training(split) -> None:
    config = SentimentConfig(num_words=200, embed_dim=4, units=4, epochs=50, members=3, patience=50)
    clf = SentimentClassifier(config, split.train.classes)
    clf.fit(split.train.texts, split.train.labels, split.val.texts, split.val.labels, verbose=0, time_budget_s=1e-9)
    assert clf.info["stopped_by_time_budget"] and clf.info["epochs_run"] == [1] and clf.info["members_trained"] == 1


def test_fit_without_validation_texts_says_so(split) -> None:
    with pytest.raises(ValueError, match="validation texts"):
        SentimentClassifier(TINY).fit(split.train.texts, split.train.labels, [], [], verbose=0)


def test_unfitted_classifier_says_so() -> None:
    with pytest.raises(RuntimeError, match="not trained"):
        SentimentClassifier().predict_proba(["good"])


def test_tfidf_baseline_runs_and_is_tuned_on_validation(split) -> None:
    pytest.importorskip("sklearn")
    from lstmkit.apps.sentiment.baseline import TfidfLogReg

    base = TfidfLogReg(c_grid=(1.0, 4.0)).fit(split.train.texts, split.train.labels, split.val.texts,
                                              split.val.labels)
    assert base.chosen["C"] in (1.0, 4.0) and base.chosen["ngram_range"] in ([1, 1], [1, 2])
    proba = base.predict_proba(split.test.texts)
    assert proba.shape == (len(split.test),) and np.all((proba >= 0) & (proba <= 1))
    assert base.evaluate(split.test.texts, split.test.labels)["n"] == len(split.test)

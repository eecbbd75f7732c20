"""The sentiment network: word vectors -> bidirectional lstmkit LSTM -> concat pooling -> one logit.

Why concat pooling (ULMFiT, Howard & Ruder 2018): a snippet's verdict can sit anywhere in it ("a
dull first hour, then a triumph"), so the classifier sees the final states of both directions AND
the mean and the max of every step's output, not only the last state. Why word dropout (Gal &
Ghahramani 2016; Merity et al. 2018): with ~10k training snippets the model memorises individual
words; dropping whole word types from a batch (the same word gone everywhere in it) forces it to
use the rest of the sentence.
"""

from __future__ import annotations

import torch
from torch import nn

from lstmkit.nn import LSTM

__all__ = ["SentimentNet", "masked_pool", "word_dropout"]


def word_dropout(ids: torch.Tensor, rate: float, vocab: int) -> torch.Tensor | None:
    """A (vocab,) 0/1 keep-mask scaled by 1/(1-rate), one draw per word TYPE for this batch (so a
    dropped word is gone from every text of the batch), or None when ``rate`` is 0."""
    if rate <= 0:
        return None
    keep = torch.rand(vocab, device=ids.device) >= rate
    return keep.to(torch.float32) / (1.0 - rate)


def masked_pool(out: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and max over each row's real steps of ``out`` (B, T, F); padded steps ignored."""
    T = out.shape[1]
    mask = (torch.arange(T, device=out.device)[None, :] < lengths[:, None])[..., None]  # (B, T, 1)
    mean = (out * mask).sum(1) / lengths[:, None].to(out.dtype)  # (B, F)
    top = out.masked_fill(~mask, float("-inf")).amax(1)  # (B, F)
    return mean, top


class SentimentNet(nn.Module):
    """Embedding(vocab, embed_dim) -> (Bi)LSTM(units) -> [last, mean, max] -> dropout -> Linear -> logit."""

    def __init__(self, vocab: int, embed_dim: int, units: int, bidirectional: bool = True,
                 embed_dropout: float = 0.3, word_dropout: float = 0.1, output_dropout: float = 0.4):
        super().__init__()
        self.vocab, self.units = int(vocab), int(units)
        self.directions = 2 if bidirectional else 1
        self.embed_dropout, self.word_drop, self.output_dropout = embed_dropout, word_dropout, output_dropout
        self.embedding = nn.Embedding(vocab, embed_dim, padding_idx=0)
        with torch.no_grad():  # Keras' uniform(+-0.05): torch's N(0, 1) word vectors are far too large to learn from
            self.embedding.weight.uniform_(-0.05, 0.05)
            self.embedding.weight[0].zero_()
        self.rnn = LSTM(embed_dim, units, batch_first=True, bidirectional=bidirectional, forget_bias=1.0)
        self.head = nn.Linear(3 * self.directions * units, 1)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, E) word vectors, with word and (per-feature, per-text) dropout in training."""
        x = self.embedding(ids)  # (B, T, E)
        if self.training:
            keep = word_dropout(ids, self.word_drop, self.vocab)
            if keep is not None:
                x = x * keep[ids][..., None]
            if self.embed_dropout > 0:  # one mask per text, shared over its steps (variational)
                mask = torch.rand(x.shape[0], 1, x.shape[2]) >= self.embed_dropout
                x = x * mask / (1.0 - self.embed_dropout)
        return x

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) post-padded ids and (B,) lengths -> (B,) logits of P(class 1)."""
        return self.classify(self.embed(ids), lengths)

    def classify(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, E) word vectors -> (B,) logits (``forward`` after the embedding)."""
        out, (h_n, _) = self.rnn(x, lengths=lengths)  # (B, T, D*H), (D, B, H)
        last = h_n.transpose(0, 1).reshape(x.shape[0], -1)  # (B, D*H): forward at its end, backward at step 0
        mean, top = masked_pool(out, lengths)
        z = torch.cat([last, mean, top], dim=1)  # (B, 3*D*H)
        z = nn.functional.dropout(z, self.output_dropout, self.training)
        return self.head(z).squeeze(1)

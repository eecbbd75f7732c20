"""The demo's verdict: the LSTM against the best of its baselines, per judged metric."""

from __future__ import annotations

import pytest

from lstmkit.apps.demo import _summary, verdict


def test_forecast_verdict_takes_the_lowest_error_among_the_baselines():
    result = {"metrics": {"lstm": {"mae": 11.0}, "naive": {"mae": 24.0}, "arima": {"mae": 13.8},
                          "mlp": {"mae": 11.5}}}
    [v] = verdict("forecast", result)
    assert (v["best_baseline"], v["best_value"], v["won"]) == ("lag MLP", 11.5, True)
    result["metrics"]["mlp"]["mae"] = 10.9
    assert verdict("forecast", result)[0]["won"] is False


def test_sentiment_verdict_judges_accuracy_and_auc_higher_is_better():
    result = {"metrics": {"lstm": {"accuracy": 0.80, "roc_auc": 0.86},
                          "tfidf_logreg": {"accuracy": 0.77, "roc_auc": 0.87}, "nblr": {"accuracy": 0.79,
                                                                                        "roc_auc": 0.85}}}
    acc, auc = verdict("sentiment", result)
    assert (acc["best_baseline"], acc["won"]) == ("NB-LR", True)
    assert (auc["best_baseline"], auc["won"]) == ("TF-IDF + LR", False)
    lines = _summary("sentiment", result, [acc, auc])
    assert any("LOSES to the best baseline, TF-IDF + LR 0.870" in line for line in lines)


def test_textgen_verdict_reads_the_bpc_dict():
    [v] = verdict("textgen", {"bpc": {"lstm": 2.15, "ngram3": 2.93, "ngram5": 2.22, "ngram7": 2.11}})
    assert (v["best_baseline"], v["won"]) == ("7-gram", False)


@pytest.mark.parametrize("result", [{}, {"bpc": {"lstm": 2.0}}, {"bpc": {"ngram5": 2.2}}])
def test_missing_numbers_give_no_verdict(result):
    assert verdict("textgen", result)[0]["won"] is None

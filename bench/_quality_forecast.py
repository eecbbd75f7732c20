"""Quality rows of ``lstmkit forecast``: the LSTM against naive, seasonal naive, ARIMA, SARIMA and the
validation-tuned lag MLP, on each data set's fixed held-out test part.

Every run is ``lstmkit forecast train --data <name> --seed <s>`` with the preset's defaults (the
app's ``pipeline.train_run``; nothing here is tuned, and the test part is only scored). Rows:

- sunspots, one-step MAE over the last 30 years (seeds 0-4): < 12.0 and below every baseline;
- sunspots, 11-step MAE averaged over every test origin: below ARIMA and SARIMA;
- CO2 (monthly Mauna Loa), one-step MAE over the last 5 years: below SARIMA.

Baselines that do not depend on the LSTM's seed (naive, ARIMA, SARIMA) are the same at every
seed; the lag MLP takes the seed too and is averaged like the LSTM.

    python bench/_quality_forecast.py                 # seeds 0-4, both data sets
    python bench/_quality_forecast.py --seeds 0 --data sunspots
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SEEDS = [0, 1, 2, 3, 4]
DATASETS = ("sunspots", "co2")
NAMES = {"naive": "naive", "seasonal_naive": "seasonal naive", "arima": "ARIMA", "sarima": "SARIMA",
         "mlp": "lag MLP"}


def train_seed(data: str, seed: int) -> dict[str, Any]:
    """One default training run; its one-step and multi-step MAE per method, and the seconds."""
    from lstmkit.apps.forecast.pipeline import json_ready, train_run

    options = {"lookback": None, "horizon": None, "test": None, "validation": None, "scaling": None, "seed": seed}
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lstmkit-forecast-") as out:
        run = train_run({"data": data}, options, out, verbose=0, plot=False, log=lambda *_: None)
    result = json_ready(run.result)
    one = {k: v["mae"] for k, v in result["one_step"].items() if isinstance(v, dict)}
    multi = {k: v["mae"] for k, v in result["multi_step"].items() if isinstance(v, dict)}
    return {"one_step": one, "multi_step": multi, "horizon": result["multi_step"]["horizon"],
            "seconds": round(time.perf_counter() - tic, 1), "orders": {k: result.get(f"{k}_order") for k in
                                                                       ("arima", "sarima")},
            "mlp_setting": result.get("mlp_setting")}


def _row(data: str, metric: str, floor: str, protocol: str, results: dict[int, dict[str, Any]],
         against: tuple[str, ...], ceiling: float | None = None) -> dict[str, Any]:
    """A table row: the LSTM's mean, std and per-seed MAE; each baseline's mean; met or not."""
    lstm = {str(s): round(r[protocol]["lstm"], 4) for s, r in results.items()}
    values = list(lstm.values())
    mean = statistics.fmean(values)
    present = [k for k in NAMES if all(k in r[protocol] for r in results.values())]
    baselines = {NAMES[k]: round(statistics.fmean(r[protocol][k] for r in results.values()), 4) for k in present}
    judged = {NAMES[k]: baselines[NAMES[k]] for k in against if k in present}
    best = min(judged, key=judged.get)
    met = all(mean < v for v in judged.values()) and (ceiling is None or mean < ceiling)
    return {"app": "forecast", "metric": metric, "floor": floor, "lstm_mean": round(mean, 4),
            "lstm_std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0, "per_seed": lstm,
            "baselines": baselines, "best_baseline": best, "met": bool(met),
            "seconds": {str(s): r["seconds"] for s, r in results.items()}}


def run(seeds: list[int] | None = None, log: Callable[..., Any] = print,
        datasets: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    """The app's rows, JSON-ready, as ``bench/quality.py`` expects."""
    seeds = list(DEFAULT_SEEDS if seeds is None else seeds)
    if not seeds:
        raise ValueError("seeds is empty: expected at least one seed, e.g. [0]")
    started, rows = time.perf_counter(), []
    for data in datasets:
        results = {}
        for seed in seeds:
            results[seed] = r = train_seed(data, seed)
            log(f"forecast {data} seed {seed}: one-step MAE " + ", ".join(
                f"{NAMES.get(k, 'LSTM')} {v:.3f}" for k, v in r["one_step"].items())
                + f"; {r['horizon']}-step MAE " + ", ".join(
                f"{NAMES.get(k, 'LSTM')} {v:.3f}" for k, v in r["multi_step"].items()) + f" ({r['seconds']:.0f} s)")
        if data == "sunspots":
            rows.append(_row(data, "sunspots one-step MAE, last 30 years (1979-2008)",
                             "< 12.0 and below every baseline", "one_step", results, tuple(NAMES), ceiling=12.0))
            h = next(iter(results.values()))["horizon"]
            rows.append(_row(data, f"sunspots {h}-step MAE from every test origin", "below ARIMA and SARIMA",
                             "multi_step", results, ("arima", "sarima")))
        else:
            rows.append(_row(data, "CO2 one-step MAE (ppm), last 5 years", "below SARIMA", "one_step", results,
                             ("sarima",)))
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    import json

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)),
                   help="comma-separated seeds (default: %(default)s)")
    p.add_argument("--data", default=",".join(DATASETS), help="comma-separated data sets (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        p.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    datasets = tuple(d.strip() for d in args.data.split(",") if d.strip())
    if not datasets or any(d not in DATASETS for d in datasets):
        p.error(f"--data takes a comma-separated subset of {', '.join(DATASETS)}, got {args.data!r}")
    print(json.dumps(run(seeds, datasets=datasets), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

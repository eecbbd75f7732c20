"""The benchmark harness (bench/_harness.py) and suite (bench/suite.py): ordering, arithmetic, file
handling and one tiny end-to-end run. No timing is asserted: these run on loaded CI machines.

``bench/`` holds scripts run as ``python bench/x.py``, not a package, so the suite is loaded by path.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

import lstmkit.nn

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def _load_suite():
    name = "lstmkit_bench_suite"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCH_DIR / "suite.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file executes
        spec.loader.exec_module(module)
    return sys.modules[name]


suite = _load_suite()
H = suite.H
R = suite.R
TINY = suite.Shape(6, 2, 3, 4)


# ---------------------------------------------------------------------------------------------- runner
def test_interleaved_order_alternates_direction():
    assert H.interleaved_order(["A", "B", "C", "D"], 3) == [
        ["A", "B", "C", "D"], ["D", "C", "B", "A"], ["A", "B", "C", "D"]]
    assert H.interleaved_order(["A"], 0) == []


def test_run_interleaved_order_warmup_and_caps():
    log: list[str] = []
    ticks = iter(range(1000))

    def bench(name: str, cap: int | None = None) -> H.Bench:
        return H.Bench(run=lambda: log.append(name), prepare=lambda: log.append(name.lower()), max_repeats=cap)

    times = H.run_interleaved({"A": bench("A"), "B": bench("B"), "C": bench("C", cap=1)}, repeats=3, warmup=1,
                              clock=lambda: float(next(ticks)))
    runs = [x for x in log if x.isupper()]
    # warm-up round (forward), then timed rounds reversed, forward, reversed; C stops after 1 timed round
    assert runs == ["A", "B", "C", "C", "B", "A", "A", "B", "B", "A"]
    assert all(log[i] == log[i + 1].lower() for i in range(0, len(log), 2))  # prepare right before each run
    assert [len(times[k]) for k in "ABC"] == [3, 3, 1]
    assert all(t == 1000.0 for ts in times.values() for t in ts)  # one clock tick = 1 s = 1000 ms


def test_measure_statuses_errors_and_slow_limits():
    def broken() -> H.Bench:
        raise RuntimeError("no kernel | for this")

    res = H.measure("t", {
        "ok": lambda: H.Bench(lambda: None),
        "few": lambda: H.Bench(lambda: None, few_repeats_ms=0.0),
        "slow": lambda: H.Bench(lambda: None, skip_ms=0.0),
        "broken": broken,
        "absent": "not built",
    }, repeats=7, warmup=0)
    assert res["ok"]["status"] == "ok" and len(res["ok"]["times_ms"]) == 7
    assert len(res["few"]["times_ms"]) == 5
    assert res["slow"]["status"].startswith("skipped: one call takes")
    assert res["broken"]["status"] == "error: RuntimeError: no kernel | for this"
    assert res["absent"] == {"status": "not built"}
    assert "/" in R.cell(res["broken"]["status"]) and "|" not in R.cell(res["broken"]["status"])


# ---------------------------------------------------------------------------------------------- arithmetic
def test_median_ratio_gflops_and_peak():
    assert H.median([3.0, 1.0, 2.0]) == 2.0
    assert H.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError):
        H.median([])
    assert H.ratio(10.0, 4.0) == 2.5
    assert H.ratio(None, 4.0) is None and H.ratio(1.0, None) is None and H.ratio(1.0, 0.0) is None
    assert H.gflops(3e9, 1000.0) == pytest.approx(3.0)
    assert H.gflops(1e9, 2.0) == pytest.approx(500.0)
    assert H.gflops(1e9, None) is None
    assert H.pct_of_peak(50.0, 200.0) == pytest.approx(25.0)
    assert H.pct_of_peak(None, 200.0) is None and H.pct_of_peak(1.0, None) is None


def test_flop_counts():
    T, B, I, Hd = 2, 3, 4, 5
    fwd_lstm = 2 * T * B * 4 * Hd * (I + Hd)
    assert H.rnn_flops("LSTM", "inference", T, B, I, Hd) == fwd_lstm
    assert H.rnn_flops("LSTM", "training", T, B, I, Hd) == 3 * fwd_lstm
    assert H.rnn_flops("GRU", "training", T, B, I, Hd) == 3 * 2 * T * B * 3 * Hd * (I + Hd)
    with pytest.raises(ValueError):
        H.rnn_flops("RNN", "training", T, B, I, Hd)
    with pytest.raises(ValueError):
        H.rnn_flops("LSTM", "eval", T, B, I, Hd)
    # fastrnns LSTM training: 3 * 2*100*64*2048*1024 FLOP
    assert H.rnn_flops("LSTM", "training", *suite.SHAPES["fastrnns"]) == 3 * 2 * 100 * 64 * 2048 * 1024


@pytest.mark.parametrize(("mode", "shape", "floor"), [
    ("training", "forecast", 1.5), ("training", "sentiment", 1.4), ("training", "char-rnn", 0.97),
    ("training", "latency", 0.97), ("inference", "latency", 2.0), ("inference", "forecast", 0.97),
    ("inference", "deepbench-s", 0.97), ("training", "tiny", 0.97)])
def test_issue_18_floors(mode, shape, floor):
    assert suite.floor_for(mode, shape) == floor
    assert suite.targets_for(mode, shape, floor, 10.0)["ratio_pass"] is True
    assert suite.targets_for(mode, shape, floor - 0.01, 10.0)["ratio_pass"] is False
    assert suite.BF16_TARGET == 2.5 and not hasattr(suite, "PEAK_TARGETS")


def test_targets_for_needs_share_of_the_physical_peak():
    # torch.nn at 40% of the physical peak: a 1.5x floor needs 60% of it
    t = suite.targets_for("training", "forecast", 1.2, 40.0)
    assert t == {"min_ratio": 1.5, "ratio_pass": False, "needs_pct_peak": pytest.approx(60.0),
                 "needs_over_90": False}
    assert R._target_cell(t) == ">= 1.50x: FAIL (needs 60% of the physical fp32 peak)"
    # torch.nn at 50%: a 2x floor needs 100%, beyond what the FMA units allow
    t = suite.targets_for("inference", "latency", 1.9, 50.0)
    assert t["needs_over_90"] is True and t["needs_pct_peak"] == pytest.approx(100.0)
    assert R._target_cell(t).endswith("(needs 100% of the physical fp32 peak; needs > 90% of the physical peak)")
    assert suite.targets_for("training", "forecast", None, 40.0)["ratio_pass"] is None
    t = suite.targets_for("training", "char-rnn", 0.5, None)  # no peak: no share, no mark
    assert t["needs_pct_peak"] is None and t["needs_over_90"] is None
    assert R._target_cell(t) == ">= 0.97x: FAIL"
    assert R._target_cell(suite.targets_for("training", "char-rnn", 1.0, 95.0)) == ">= 0.97x: PASS"
    assert R._target_cell(None) == ""


def test_bf16_floor_judged_by_the_largest_bf16_bound():
    shape = suite.Shape(10, 4, 8, 16)
    flop = H.rnn_flops("LSTM", "training", *shape)
    nn_ms = flop / 10e9 * 1e3  # torch.nn at 10 GFLOP/s, bf16 at 20: a 2.5x floor needs 25 GFLOP/s
    ctx = suite.Context(5, 0, True, None, "", peak_gflops=50.0, bf16_peak_gflops=26.0, bf16_bound_gflops=26.0)
    s = suite.bf16_scores(shape, nn_ms, nn_ms / 2, ctx)
    assert s["ratio_vs_torch"] == pytest.approx(2.0) and s["target_pass"] is False
    assert s["gflops"] == pytest.approx(20.0) and s["pct_peak"] == pytest.approx(40.0)
    assert s["pct_bf16_peak"] == pytest.approx(100 * 20 / 26)
    t = s["target"]
    assert t["needs_pct_peak"] == pytest.approx(50.0) and t["needs_pct_bf16_peak"] == pytest.approx(2500 / 26)
    assert t["needs_over_90"] is True  # 96% of the bf16 bound, though only 50% of the fp32 peak
    assert "needs 50% of the physical fp32 peak, 96% of the bf16 dot peak; needs > 90%" in R._target_cell(t)
    no_bf16 = suite.bf16_scores(shape, nn_ms, nn_ms / 3, suite.Context(5, 0, True, None, "", 50.0, None, 50.0))
    assert no_bf16["target_pass"] is True and no_bf16["pct_bf16_peak"] is None
    assert no_bf16["target"]["needs_over_90"] is False  # judged by the fp32 peak: 50%
    # AMX: the bf16 GEMM runs far above the dot-product peak, so it is the bound
    assert H.bf16_bound({"fp32": 200.0, "bf16": 100.0}, {"gflops": 800.0}) == 800.0
    assert H.bf16_bound({"fp32": 200.0, "bf16": None}, {"error": "x"}) == 200.0
    assert H.bf16_bound({"fp32": None, "bf16": None}, {}) is None


def test_physical_peak_per_core_threads_and_fallbacks():
    calls = []

    def fake(seconds, threads):
        calls.append((seconds, threads))
        return 100.0 * threads, 0.0

    p = H.physical_peak(4, 0.05, measure=fake)
    assert calls == [(0.05, 1), (0.05, 4)]
    assert p["available"] and (p["fp32_per_core"], p["fp32"]) == (100.0, 400.0)
    assert p["bf16_per_core"] is None and p["bf16"] is None  # 0.0: the CPU has no bf16 dot product
    assert H.physical_peak(1, 0.05, measure=lambda s, t: (80.0, 160.0))["bf16"] == 160.0

    def unbuilt(seconds, threads):
        raise RuntimeError("lstmkit: the fused library is not built")

    p = H.physical_peak(2, measure=unbuilt)
    assert not p["available"] and "not built" in p["error"]
    assert not H.physical_peak(2, measure=lambda s, t: (0.0, 0.0))["available"]
    gemm = {"gflops": 123.0}
    y = H.yardstick_for(p, gemm)
    assert y["fallback"] and y["fp32"] == 123.0 and y["bf16"] is None and "not built" in y["why"]
    y = H.yardstick_for(H.physical_peak(2, measure=fake), gemm)
    assert not y["fallback"] and y["fp32"] == 200.0


def test_physical_peak_measures_when_built():
    try:
        from lstmkit.kernels import stream  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"lstmkit.kernels.stream: {exc}")
    p = H.physical_peak(1, 0.01)
    if not p["available"]:
        pytest.skip(p["error"])
    assert p["fp32_per_core"] > 0 and p["fp32"] == p["fp32_per_core"]


def test_gemm_peak_reports_positive_throughput():
    peak = H.gemm_peak(torch.float32, n=32, repeats=5)
    assert peak["repeats"] == 5 and peak["gflops"] > 0 and peak["median_ms"] > 0
    assert H.gemm_peak(torch.float32, n=32, slow_ms=0.0)["repeats"] == 1


# ---------------------------------------------------------------------------------------------- files
SECTION = f"{R.BEGIN_MARKER}\nnew table\n{R.END_MARKER}\n"


def test_replace_section_keeps_the_rest():
    doc = f"# Title\n\nintro\n\n{R.BEGIN_MARKER}\nold\nrows\n{R.END_MARKER}\n\n## Later\ntail\n"
    out = R.replace_section(doc, SECTION)
    assert out == f"# Title\n\nintro\n\n{R.BEGIN_MARKER}\nnew table\n{R.END_MARKER}\n\n## Later\ntail\n"
    assert R.replace_section(out, SECTION) == out  # idempotent


def test_replace_section_appends_when_absent():
    assert R.replace_section("# T\nbody\n", SECTION) == "# T\nbody\n\n" + SECTION
    assert R.replace_section("# T\nbody", SECTION) == "# T\nbody\n\n" + SECTION
    assert R.replace_section("# T\n\n", SECTION) == "# T\n\n" + SECTION
    assert R.replace_section("", SECTION) == SECTION


@pytest.mark.parametrize("doc", [f"a\n{R.BEGIN_MARKER}\nb\n", f"a\n{R.END_MARKER}\nb\n",
                                 f"{R.END_MARKER}\nx\n{R.BEGIN_MARKER}\n", SECTION + SECTION])
def test_replace_section_refuses_broken_markers(doc):
    with pytest.raises(ValueError):
        R.replace_section(doc, SECTION)


def test_update_markdown_rewrites_only_the_section(tmp_path):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# B\n\nhand-written\n")
    R.update_markdown(md, SECTION)
    R.update_markdown(md, SECTION.replace("new table", "newer"))
    assert md.read_text() == f"# B\n\nhand-written\n\n{R.BEGIN_MARKER}\nnewer\n{R.END_MARKER}\n"


def test_write_json_atomic(tmp_path):
    path = tmp_path / "sub" / "suite.json"
    R.write_json_atomic(path, {"a": [1, 2.5, None]})
    assert json.loads(path.read_text()) == {"a": [1, 2.5, None]}
    with pytest.raises(ValueError):  # NaN is not JSON: refused, and the old file is intact
        R.write_json_atomic(path, {"a": math.nan})
    assert json.loads(path.read_text()) == {"a": [1, 2.5, None]}
    assert [p.name for p in path.parent.iterdir()] == ["suite.json"]  # no temp file left behind


def test_cli_arguments():
    args = suite.parse_args(["--quick"])
    assert (args.repeats, args.warmup, args.only) == (5, 1, ["forecast", "latency", "char-rnn"])
    assert suite.parse_args(["--only", "fastrnns, latency"]).only == ["fastrnns", "latency"]
    for bad in (["--repeats", "3"], ["--only", "nope"], ["--threads", "0"]):
        with pytest.raises(SystemExit):
            suite.parse_args(bad)


# ---------------------------------------------------------------------------------------------- end to end
@pytest.fixture(autouse=True)
def _restore_threads():
    """The suite sets torch's thread count (1 here: tiny shapes, and no OpenMP barriers to wait on under
    load); put back what the test session had."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_suite_end_to_end_tiny(tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "SHAPES", {"tiny": TINY})
    monkeypatch.setattr(suite, "VARIANT_SHAPES", ("tiny",))
    monkeypatch.setattr(suite, "BF16_SHAPES", ("tiny",))
    monkeypatch.setattr(suite, "GEMM_N", 64)
    monkeypatch.setattr(suite, "PEAK_SECONDS", 0.01)
    json_path, md = tmp_path / "results" / "suite.json", tmp_path / "BENCHMARKS.md"
    md.write_text("# Benchmarks\n\nkeep me\n")
    argv = ["--no-keras", "--repeats", "5", "--warmup", "0", "--threads", "1",
            "--json", str(json_path), "--markdown", str(md)]
    assert suite.main(argv) == 0
    result = json.loads(json_path.read_text())
    assert {"machine", "settings", "physical_peak", "yardstick", "gemm_peak", "flop_model", "main", "variants",
            "bf16"} <= set(result)
    assert {"date", "cpu", "cores", "threads", "cpu_flags", "torch", "fused_kernels", "command"} <= set(
        result["machine"])
    assert "--no-keras" in result["machine"]["command"]
    assert result["gemm_peak"]["fp32"]["gflops"] > 0
    main = result["main"]
    assert len(main) == 2 * 2 * 5  # families x modes x implementations
    assert result["targets"]["min_ratio_every_shape"] == 0.97 and result["targets"]["impl"] == "lstmkit auto"
    floored = [r for r in main if r["target"] is not None]
    assert {r["impl"] for r in floored} == {"lstmkit auto"} and len(floored) == 4
    assert all(r["target"]["min_ratio"] == 0.97 and r["target"]["ratio_pass"] is not None for r in floored)
    assert next(r for r in main if r["impl"] == "lstmkit auto")["status"] == "ok"
    measured = [r for r in main if r["status"] == "ok"]
    assert {r["impl"] for r in measured} >= {"lstmkit auto", "lstmkit torch loop", "torch.nn.LSTM", "torch.nn.GRU"}
    assert all(r["median_ms"] > 0 and r["min_ms"] > 0 and len(r["times_ms"]) == 5 for r in measured)
    assert all(r["ratio_vs_torch"] > 0 and r["gflops"] > 0 for r in measured)
    assert all(r["median_ms"] is None for r in main if r["status"] != "ok")
    assert next(r for r in main if r["impl"] == "Keras 3")["status"] == "skipped (--no-keras)"
    assert len(result["variants"]) == len(suite.LSTM_CONFIGS) + len(suite.GRU_CONFIGS)
    assert all(v["loop_ms"] > 0 for v in result["variants"])
    text = md.read_text()
    assert text.startswith("# Benchmarks\n\nkeep me\n\n" + R.BEGIN_MARKER) and text.endswith(R.END_MARKER + "\n")
    assert "| tiny (6, 2, 3, 4) | torch.nn.LSTM |" in text and "| tiny (6, 2, 3, 4) | lstmkit auto |" in text
    assert "GEMM peak (64x64" in text
    if result["yardstick"]["fallback"]:
        assert "Physical peak: not measured" in text and "(the yardstick of this run)" in text
    else:
        phys = result["physical_peak"]
        assert phys["fp32_per_core"] > 0 and phys["fp32"] > 0 and phys["threads"] == 1
        assert result["yardstick"]["fp32"] == phys["fp32"]
        assert "GFLOP/s per core" in text and "(information only)" in text and "% fp32 peak" in text


def _fake_fused(cls):
    """An lstmkit class whose backend="fused" runs the reference loop, accepts matmul_precision,
    and refuses variant="fgr" (to check that a refused config lands in its cell)."""

    class Fake(cls):
        def __init__(self, *args, backend="auto", matmul_precision=None, **kwargs):
            if backend == "fused" and kwargs.get("variant") == "fgr":
                raise ValueError("fgr is not fused")
            super().__init__(*args, backend="reference" if backend == "fused" else backend, **kwargs)

    return Fake


def test_suite_with_a_fused_backend(monkeypatch):
    monkeypatch.setattr(suite, "fused_status", lambda: (True, "available"))
    monkeypatch.setattr(lstmkit.nn, "LSTM", _fake_fused(lstmkit.nn.LSTM))
    monkeypatch.setattr(lstmkit.nn, "GRU", _fake_fused(lstmkit.nn.GRU))
    keep = ("plain", "fgr", "masks (lengths=)", "bidirectional")
    monkeypatch.setattr(suite, "LSTM_CONFIGS", tuple(c for c in suite.LSTM_CONFIGS if c.name in keep))
    monkeypatch.setattr(suite, "GRU_CONFIGS", suite.GRU_CONFIGS[:1])
    result = suite.run_suite(shapes={"tiny": TINY}, modes=("training",), repeats=5, warmup=0, keras=False,
                             threads=1, variant_shapes=("tiny",), bf16_shapes=("tiny",),
                             gemm_n=32, peak_seconds=0.01)
    fused = [r for r in result["main"] if r["impl"] == "lstmkit fused"]
    assert len(fused) == 2 and all(r["status"] == "ok" and r["median_ms"] > 0 for r in fused)
    rows = {(v["family"], v["config"]): v for v in result["variants"]}
    assert rows[("LSTM", "plain")]["rel_plain"] == 1.0
    assert rows[("LSTM", "fgr")]["fused_status"] == "error: ValueError: fgr is not fused"
    assert rows[("LSTM", "fgr")]["loop_ms"] > 0 and rows[("LSTM", "fgr")]["pass"] is None
    bi = rows[("LSTM", "bidirectional")]
    assert bi["per_layer_direction"] and bi["rel_plain"] > 0 and bi["speedup"] > 0
    assert result["bf16"]["status"] == "measured"
    (b,) = result["bf16"]["rows"]
    # the fake runs fp32 on every path: reference loop (fused) vs backend="auto" differ by rounding only
    assert b["bf16_ms"] > 0 and b["fused_bf16_ms"] > 0 and b["bf16_path"]
    assert b["max_abs_diff_output"] < 1e-5 and b["max_abs_diff_weight_grad"] < 1e-5
    assert b["target_pass"] == (b["ratio_vs_torch"] >= suite.BF16_TARGET)
    section = R.render_section(result)
    bf16_part = section.split("### bf16 matmul mode")[1]
    assert ">= 2.50x: " in bf16_part and "% bf16 dot peak" in bf16_part
    assert all(r["target"] is None for r in result["main"] if r["impl"] == "lstmkit fused")
    assert "fgr is not fused" in section and "per layer-direction" in section and "max abs diff" in section


def test_fallback_yardstick_and_failed_floor_list(monkeypatch):
    """Without the physical peak the GEMM peak is the yardstick and the output says so; an impossible
    floor is listed with the share of that peak it would need and the > 90% mark."""
    monkeypatch.setattr(H, "physical_peak", lambda threads, seconds: {
        "available": False, "error": "RuntimeError: lstmkit: not built", "threads": threads})
    monkeypatch.setattr(suite, "AUTO_FLOOR", 1000.0)
    result = suite.run_suite(shapes={"tiny": TINY}, families=("LSTM",), modes=("inference",), repeats=5,
                             warmup=0, keras=False, threads=1, variant_shapes=(), bf16_shapes=(), gemm_n=16)
    assert result["yardstick"]["fallback"] and result["yardstick"]["fp32"] == result["gemm_peak"]["fp32"]["gflops"]
    assert result["gemm_peak"]["role"].startswith("the yardstick")
    (auto,) = [r for r in result["main"] if r["impl"] == "lstmkit auto"]
    assert auto["target"]["ratio_pass"] is False and auto["target"]["needs_over_90"] is True
    text = R.render_section(result)
    assert "Physical peak: not measured (RuntimeError: lstmkit: not built)" in text
    assert "% GEMM peak" in text and "(the yardstick of this run)" in text
    failed = text.split("Failed floors:")[1].split("###")[0]
    assert "- LSTM inference tiny (lstmkit auto):" in failed
    assert "< 1000.0x; needs" in failed and "of the fp32 GEMM peak; needs > 90% of the GEMM peak" in failed
    assert "Floors in this run: 0 PASS, 1 FAIL, 0 not measured." in text

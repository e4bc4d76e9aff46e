"""The benchmarks' plumbing on minimal sizes: result fields, JSON, the results.md table. No timing thresholds.

Timings on a shared machine are not test material; what must hold is that every benchmark produces its figures
with their targets and the machine description, and that the page shows each figure with its target and verdict.
"""
import json
import os
import subprocess
import sys

import pytest

import shared_run
from benchmarks import (catalog, gc_overhead, input_autotune, input_headroom, layer_timing, machine, models,
                        one_replica_strategy, paired_timing, pipeline_vs_keras, process_memory, report, results,
                        run_all, speedups, thread_settings, training_efficiency, transform_materialization, whole_run)

MACHINE_FIELDS = {"cpu_count", "processor", "memory_gib", "gpus", "python", "tensorflow", "platform"}


def _example_results():
    met = results.Figure(key="a", label="ratio that met", value=1.01, unit="x", spread="IQR 1.00-1.02",
                         target=results.Target("<=", 1.02))
    missed = results.Figure(key="b", label="ratio that missed", value=0.5, unit="x",
                            target=results.Target(">=", 0.9), likely_cause_if_missed="decoding in epoch 1")
    informational = results.Figure(key="c", label="seconds without a target", value=12.0, unit="s")
    not_measured = results.Figure(key="d", label="needs a GPU", value=None, unit="x", spread="no GPU")
    table = results.Table(title="per component", columns=["component", "seconds"], rows=[["Trainer", "3.0"]])
    good = results.BenchmarkResult(name="gc_overhead", title="GC overhead", description="Why and how.",
                                   preset="smoke", parameters={"pairs": 2}, figures=[met, missed],
                                   machine={"cpu_count": 2, "gpus": []}, finished_at="2026-11-21T00:00:00+00:00",
                                   peak_rss_mib=100.0)
    other = results.BenchmarkResult(name="whole_run", title="Whole run", description="End to end.", preset="smoke",
                                    parameters={}, figures=[informational, not_measured], tables=[table],
                                    peak_rss_mib=50.0)
    failed = results.BenchmarkResult(name="speedups", title="Candidate speed-ups", description="", preset="smoke",
                                     parameters={}, figures=[], error="exit status 1; log x: boom")
    return [good, other, failed]


def test_report_shows_every_figure_with_its_target_and_verdict():
    page = report.render(_example_results(), preset="smoke", json_paths={"gc_overhead": "results/gc_overhead.json"})
    summary = page.split("## Summary")[1].split("## Targets missed")[0]
    assert "| GC overhead | ratio that met | 1.010x (IQR 1.00-1.02) | <= 1.02 | met |" in summary
    assert "| GC overhead | ratio that missed | 0.500x | >= 0.9 | **MISSED** |" in summary
    assert "| Whole run | seconds without a target | 12 s | none | no target |" in summary
    assert "| Whole run | needs a GPU | not measured (no GPU) | none | no target |" in summary
    assert "| Candidate speed-ups | (benchmark failed: see below) | n/a |  | **FAILED** |" in summary
    misses = page.split("## Targets missed")[1].split("## Method")[0]
    assert "ratio that missed** measured 0.500x, target >= 0.9. Likely cause: decoding in epoch 1" in misses
    assert "Candidate speed-ups** did not finish: exit status 1; log x: boom" in misses
    assert "ratio that met" not in misses
    assert "| Trainer | 3.0 |" in page and "`results/gc_overhead.json`" in page
    assert "smoke preset" in page and "No GPU was available" in page


def test_report_says_so_when_nothing_missed():
    result = _example_results()[1]
    assert "None: every figure with a target met it" in report.render([result], preset="full", json_paths={})


def test_report_of_a_partial_rerun_says_which_figures_are_new():
    page = report.render(_example_results(), preset="full", json_paths={}, total_seconds=600, rerun=["whole_run"])
    assert ("this invocation re-ran Whole run (10 min), the other figures are from the last run of the same preset"
            in page)
    assert "min in all" not in page and "Finished 2026-11-21T00:00:00+00:00." in page


def test_result_json_round_trip_keeps_figures_targets_and_tables(tmp_path):
    original = _example_results()[:2]
    for result in original:
        path = str(tmp_path / f"{result.name}.json")
        results.write_json(result, path)
        assert results.read_json(path) == result
    stored = json.loads((tmp_path / "gc_overhead.json").read_text())
    assert [figure["met"] for figure in stored["figures"]] == [True, False]
    assert stored["figures"][0]["target"] == {"comparison": "<=", "threshold": 1.02}


def test_interleaved_pairs_alternate_which_side_goes_first():
    calls = []
    paired = paired_timing.interleaved_pairs(lambda: calls.append("a"), lambda: calls.append("b"), pairs=4,
                                             warmup_pairs=1)
    assert "".join(calls) == "ab" + "ab" + "ba" + "ab" + "ba"
    assert len(paired.a_seconds) == len(paired.b_seconds) == len(paired.ratios) == 4


def test_spread_is_median_and_quartiles():
    spread = paired_timing.Spread.of([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (spread.median, spread.lower_quartile, spread.upper_quartile, spread.count) == (3.0, 2.0, 4.0, 5)
    with pytest.raises(ValueError, match="empty"):
        paired_timing.Spread.of([])


_AMD_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 avx fma avx2 bmi2

processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 avx fma avx2 bmi2
"""
_INTEL_CPUINFO = """processor\t: 0
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu avx avx2 avx512f avx512bw amx_bf16 amx_tile
"""
_ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes
"""


@pytest.mark.parametrize("cpuinfo, expected", [
    (_AMD_CPUINFO, "AMD EPYC 7B13 (AVX2)"),
    (_INTEL_CPUINFO, "Intel(R) Xeon(R) Processor (AVX-512, AMX)"),
])
def test_processor_description_names_the_model_and_its_widest_vector_extension(cpuinfo, expected):
    assert machine.describe_processor(cpuinfo) == expected


def test_processor_description_without_a_model_name_falls_back_to_the_architecture(monkeypatch):
    monkeypatch.setattr(machine.platform, "processor", lambda: "")
    monkeypatch.setattr(machine.platform, "machine", lambda: "aarch64")
    assert machine.describe_processor(_ARM_CPUINFO) == "aarch64 (NEON)"
    assert machine.describe_processor(None) == "aarch64"


@pytest.mark.parametrize("ratios, higher_is_faster, expected", [
    ([0.90, 0.95, 0.97, 0.96], False, "faster"),  # seconds: three quarters at least 2% below 1
    ([0.90, 0.97, 0.99, 1.00], False, "no clear difference"),  # upper quartile 0.9925: not 2% below 1
    ([1.05, 1.10, 1.03, 1.04], False, "slower"),
    ([1.05, 1.10, 1.03, 1.04], True, "faster"),  # images/s: above 1 is faster
    ([0.91, 1.22, 1.14, 0.98], True, "no clear difference"),  # the Intel Xeon's inter-op rounds (README)
    ([0.80, 0.85, 0.90, 0.82], True, "slower"),
])
def test_speed_verdict_needs_three_quarters_of_the_ratios_two_percent_on_one_side(ratios, higher_is_faster,
                                                                                    expected):
    spread = paired_timing.Spread.of(ratios)
    assert paired_timing.speed_verdict(spread, higher_is_faster=higher_is_faster) == expected


def test_process_tree_memory_counts_children():
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"]) as child:
        try:
            assert child.pid in process_memory.descendants(os.getpid())
            assert process_memory.tree_resident_bytes(os.getpid()) > process_memory.resident_bytes(os.getpid())
        finally:
            child.kill()


def test_every_benchmark_has_the_three_presets_and_a_title():
    for module in (gc_overhead, pipeline_vs_keras, input_headroom, input_autotune, one_replica_strategy, whole_run,
                   speedups, transform_materialization, training_efficiency, thread_settings):
        assert set(module.PRESETS) == set(results.PRESETS)
        assert module.TITLE == catalog.TITLES[module.NAME]


def _check_result(result: results.BenchmarkResult, expected_keys):
    assert [figure.key for figure in result.figures] == expected_keys
    assert MACHINE_FIELDS <= set(result.machine)
    assert result.preset == "smoke" and result.description and result.finished_at
    page = report.render([result], preset="smoke", json_paths={})
    for figure in result.figures:
        row = f"| {result.title} | {figure.label} | {report.format_value(figure)}"
        assert row in page
        if figure.target:
            assert f"| {figure.target.describe()} | {report.verdict(figure)} |" in page


def test_training_flop_count_matches_the_seed_cnn_worked_out_by_hand():
    """At 96 px: conv outputs 94, 45, 20, 8, 2 (3x3 valid convs, each followed by a 2x2 pool), then 64 -> 512 -> 1."""
    model = models.trainer_model(method="baseline", image_size=96, seed=0)
    rows = training_efficiency.layer_flops(model)
    by_hand = [2 * 3 * 3 * 3 * 16 * 94 * 94, 2 * 3 * 3 * 16 * 32 * 45 * 45, 2 * 3 * 3 * 32 * 64 * 20 * 20,
               2 * 3 * 3 * 64 * 64 * 8 * 8, 2 * 3 * 3 * 64 * 64 * 2 * 2, 2 * 64 * 512, 2 * 512 * 1]
    assert [row["forward_flops"] for row in rows] == by_hand
    assert training_efficiency.training_flops_per_image(rows) == 3 * sum(by_hand) - by_hand[0]


def test_efficiency_ceiling_puts_the_compute_layers_at_peak_and_keeps_the_rest_of_the_step():
    """Convs 3 s and pooling 1 s alone: pooling keeps 1/4 of an 8 s step (2 s); 200 GFLOP at 100 GFLOP/s is 2 s."""
    rows = [{"layer": "conv", "seconds": 3.0, "computes_flops": True},
            {"layer": "pool", "seconds": 1.0, "computes_flops": False}]
    assert layer_timing.efficiency_ceiling(rows, step_seconds=8.0, training_flops=200e9,
                                           peak_flops_per_second=100e9) == pytest.approx(2 / (2 + 2))


@pytest.mark.bench_smoke
def test_training_efficiency_smoke(tmp_path):
    result = training_efficiency.measure(training_efficiency.PRESETS["smoke"], "smoke", str(tmp_path))
    _check_result(result, ["gflops_over_matmul_peak", "matmul_peak_gflops", "training_gflops_per_image",
                           "ceiling_with_convolutions_at_peak"])
    ratio, peak, _, ceiling = (figure.value for figure in result.figures)
    assert 0 < ratio and peak > 0 and 0 < ceiling < 1
    timed = [row["kind"] for row in result.details["layer_seconds"]]
    model = models.trainer_model(method="baseline", image_size=96, seed=0)
    assert timed == [type(layer).__name__ for layer in model.layers[1:]]  # every layer but the input, in order
    assert all(row["seconds"] > 0 for row in result.details["layer_seconds"])
    assert ratio == pytest.approx(result.details["training_gflops_rounds"][0] / result.details["peak_gflops_rounds"][0])


@pytest.mark.bench_smoke
def test_gc_overhead_smoke(tmp_path):
    result = gc_overhead.measure(gc_overhead.PRESETS["smoke"], "smoke", str(tmp_path))
    _check_result(result, ["tf_keras_step_time_ratio", "tf_keras_update_estimate", "keras3_step_time_ratio",
                           "keras3_update_estimate"])
    assert all(figure.target == gc_overhead.TARGET and figure.value > 0 for figure in result.figures)
    for version in ("tf_keras", "keras3"):
        assert result.details[version]["optimizer"].startswith("GC_")
        assert len(result.details[version]["gc_update_seconds"]) == gc_overhead.PRESETS["smoke"].update_pairs


@pytest.mark.bench_smoke
def test_input_autotune_smoke(tmp_path):
    settings = input_autotune.PRESETS["smoke"]
    result = input_autotune.measure(settings, "smoke", str(tmp_path))
    _check_result(result, ["fit_time_ratio", "outside_epochs_seconds_on", "outside_epochs_seconds_off",
                           "in_epochs_ratio"])
    for side in input_autotune.SIDES:
        fits = result.details[side]
        assert len(fits) == settings.pairs and all(0 < fit["in_epochs"] < fit["total"] for fit in fits)


@pytest.mark.bench_smoke
def test_one_replica_strategy_smoke(tmp_path):
    settings = one_replica_strategy.PRESETS["smoke"]
    result = one_replica_strategy.measure(settings, "smoke", str(tmp_path))
    _check_result(result, ["fit_time_ratio", "outside_epochs_seconds_mirrored", "outside_epochs_seconds_default"])
    assert all(len(result.details[side]) == settings.pairs for side in one_replica_strategy.SIDES)


@pytest.mark.bench_smoke
def test_input_headroom_smoke(tmp_path):
    result = input_headroom.measure(input_headroom.PRESETS["smoke"], "smoke", str(tmp_path))
    _check_result(result, ["warm_headroom", "cold_headroom"])
    assert result.figures[0].target == input_headroom.WARM_TARGET and result.figures[1].target is None


@pytest.mark.bench_smoke
def test_pipeline_vs_keras_smoke(tmp_path):
    settings = pipeline_vs_keras.PRESETS["smoke"]
    result = pipeline_vs_keras.measure(settings, "smoke", str(tmp_path))
    _check_result(result, ["whole_fit_ratio", "first_epoch_ratio", "later_epochs_ratio"])
    assert len(result.details["trainer_epoch_seconds"]) == len(result.details["bare_epoch_seconds"]) == settings.epochs


@pytest.mark.bench_smoke
def test_run_all_writes_json_and_results_page_for_a_subprocess_benchmark(tmp_path):
    """The mirrored benchmark needs its own interpreter (logical devices); run_all is how it gets one."""
    ran = run_all.run(["mirrored_strategy"], "smoke", str(tmp_path))
    assert not ran[0].error, ran[0].error
    stored = results.read_json(str(tmp_path / "results" / "mirrored_strategy.json"))
    _check_result(stored, ["identical_results", "largest_difference", "step_time_ratio"])
    assert stored.details["initial_weights_equal"]
    assert stored.figures[0].met, stored.figures[0].spread  # two replicas train what one does, up to rounding
    distances = stored.details["distance_from_float64"]
    assert distances["half_batches_control"] > 10 * distances["one_replica"]  # the check can tell a wrong split
    page = (tmp_path / "results.md").read_text()
    assert "| MirroredStrategy |" in page and "this invocation re-ran MirroredStrategy" in page


@pytest.mark.e2e
def test_whole_run_reads_component_times_from_ml_metadata(first_run):
    """The benchmark's figures from the session's shared run, which whole_run's own launcher started."""
    result = whole_run.summarize(shared_run.SETTINGS, "smoke", first_run.nodes, first_run.process,
                                 synthesis_seconds=0.0)
    _check_result(result, ["run_seconds", "run_over_training", "peak_tree_memory"])
    component_seconds = result.details["component_seconds"]
    assert set(component_seconds) == shared_run.EXPECTED_NODES
    assert 0 < sum(component_seconds.values()) < first_run.process.seconds
    assert result.figures[0].value == first_run.process.seconds and first_run.process.peak_tree_mib > 100
    training = sum(sum(record) for record in result.details["epoch_seconds"].values())
    assert result.figures[1].value == pytest.approx(first_run.process.seconds / training)
    assert {row[0] for row in result.tables[0].rows} >= {"Transform", *shared_run.TRAINER_IDS.values(),
                                                        *shared_run.EVALUATOR_IDS.values()}


@pytest.mark.bench_smoke
def test_speedups_smoke_prices_moving_augmentation_out_and_xla_without_it(tmp_path):
    result = speedups.measure(speedups.PRESETS["smoke"], "smoke", str(tmp_path))
    _check_result(result, ["xla_update_step", "xla_train_step", "augmentation_in_tf_data", "xla_without_augmentation",
                           "mixed_precision"])
    figures = {figure.key: figure for figure in result.figures}
    # Without the random augmentation XLA's CPU backend compiles the whole step, so both are measured here.
    assert figures["augmentation_in_tf_data"].value > 0 and figures["xla_without_augmentation"].value > 0
    assert "the Trainer uses it: no" in figures["xla_without_augmentation"].spread

"""`gc-tfx run`: synthesize data when none is given, run the pipeline, print the comparison, write the report.

Failures become one paragraph naming the component and the cause; the full log is in --verbose output.
"""
import sys
import time
from typing import Optional

from cli import console_progress, disk_space, end_summary
from cli.errors import UserError
from cli.latest_run import RunNotFinished, write_local_report
from local_runner import OutputLayout, run_locally
from pipeline.experiment import ExperimentConfig
from report.run_results import ResultsError


def _default_data(layout: OutputLayout, image_size: int, seed: int) -> str:
    from datasets import synthetic

    print(f"No --data given: drawing the default synthetic dataset into {layout.default_data_dir} ...")
    summary = synthetic.write_synthetic_dataset(layout.default_data_dir, image_size=image_size, seed=seed)
    print(f"  {synthetic.describe(summary)}")
    return layout.default_data_dir


def _failure_paragraph(component: Optional[str], error: BaseException, layout: OutputLayout) -> str:
    where = f"component {component}" if component else "the pipeline before any component ran"
    if disk_space.is_out_of_space(error):  # the resume advice is part of the sentence
        return f"{where} failed: {disk_space.out_of_space_sentence(layout.root)}"
    cause = str(error).strip() or type(error).__name__
    return (f"{where} failed: {cause}\n"
            f"Artifacts and ML Metadata are in {layout.root}; rerun the same command to resume from the cache "
            f"once the cause is fixed, or add --verbose to see every component's log.")


def run(*, data: Optional[str], output: str, experiment: ExperimentConfig, beam_workers: Optional[int],
        enable_cache: bool, verbose: bool) -> int:
    """Runs the whole pipeline locally; returns the process exit code. `beam_workers` None: chosen by data size.
    The caller has checked that `data` is a folder and holds the output folder (cli.output_lock)."""
    layout = OutputLayout(output)
    training = experiment.training
    try:
        data_root = data if data is not None else _default_data(layout, training.image_size, training.seed)
    except ValueError as error:
        raise UserError(str(error)) from error

    print(f"Running the gc-tfx pipeline on {data_root} ({training.epochs} epochs, batch {training.batch_size}, "
          f"{training.image_size} px); output in {layout.root}")
    component_progress = console_progress.follow_components(sys.stdout)
    started = time.monotonic()
    try:
        run_locally(data_root=data_root, layout=layout, experiment=experiment, enable_cache=enable_cache,
                    beam_workers=beam_workers)
    except Exception as error:  # a component's own exception: turned into a paragraph, not a stack trace
        if verbose:
            raise
        raise UserError(_failure_paragraph(component_progress.running_component, error, layout)) from error
    print(f"Pipeline finished in {time.monotonic() - started:.0f} s.\n")
    try:
        results, report = write_local_report(layout.root)
    except (RunNotFinished, ResultsError) as error:
        if disk_space.is_out_of_space(error):
            raise  # said as a full disk by the command (cli.main), not as unreadable results
        raise UserError(f"The pipeline finished, but its results could not be read: {error}") from error
    print(end_summary.format_summary(results))
    print(f"\nReport (open it in a browser): {report.page}")
    return 0

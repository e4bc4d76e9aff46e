"""A run's review: its artifacts read into one `RunResults` (`run_results`), rendered as the standalone HTML page
(`page`, a Jinja2 template), `summary.json` (`build`) and what the Kubeflow UI shows (`kfp_outputs`).

The pipeline's Review step and `gc-tfx report` both use it, so there is one report. Importing the package loads
none of its modules.
"""

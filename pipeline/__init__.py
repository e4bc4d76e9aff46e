"""The gc-tfx pipeline definition: `create_pipeline`, the Evaluator config, the experiment config and the schema.

Runners (local_runner, kubeflow) compute every path and pass it in; nothing here imports a runner.
"""

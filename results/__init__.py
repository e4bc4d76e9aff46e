"""The results model: typed records of what a run did (ingestion, training, the study and the selection), the
statistics behind the verdict, and the ids every room names them by. Pure Python, pydantic, NumPy and SciPy: no TFX
or TensorFlow, so readers (the CLI's end summary, the report, scripts) stay light."""

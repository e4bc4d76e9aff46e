"""The results model: typed records of what a run did (ingestion, the study and the selection) and the statistics
behind the verdict. Pure Python, pydantic, NumPy and SciPy, and the lowest room: it imports no other of ours, and
TensorFlow only to read a record from gs:// or s3://, so readers (the CLI's end summary, the report, scripts) stay
light."""

"""The curated schema of the ingested tf.Examples, for ImportSchemaGen(schema_file=SCHEMA_FILE)."""
import os

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema.pbtxt")

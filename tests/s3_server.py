"""A local S3 server (moto's server mode) standing in for Kubeflow's MinIO: one bucket, loopback, a free port.

`environment()` is what a task needs to reach it, for both S3 clients a TFX task uses: TensorFlow's s3 filesystem
(tensorflow_io: S3_ENDPOINT, S3_USE_HTTPS, S3_VERIFY_SSL) and Beam's (boto3: AWS_ENDPOINT_URL), with AWS
credentials and region, as kubeflow/README.md tells a user to set them for MinIO.
"""
import contextlib
import logging
import os
from typing import Dict, Iterator

import boto3
from moto.server import ThreadedMotoServer

BUCKET = "gc-tfx-test"
_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "gc-tfx-test", "AWS_SECRET_ACCESS_KEY": "gc-tfx-test-secret",
                "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}


class S3Server:
    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def environment(self) -> Dict[str, str]:
        return {**_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint, "S3_ENDPOINT": self.endpoint,
                "S3_USE_HTTPS": "0", "S3_VERIFY_SSL": "0"}

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=_CREDENTIALS["AWS_REGION"],
                            aws_access_key_id=_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def upload_folder(self, folder: str, prefix: str) -> int:
        """Uploads every file below `folder` to s3://BUCKET/prefix/...; returns how many."""
        client, count = self.client(), 0
        for directory, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(directory, name)
                key = "/".join([prefix, os.path.relpath(path, folder).replace(os.sep, "/")])
                client.upload_file(path, BUCKET, key)
                count += 1
        return count

    def keys(self, prefix: str = "") -> list:
        paginator = self.client().get_paginator("list_objects_v2")
        return [item["Key"] for page in paginator.paginate(Bucket=BUCKET, Prefix=prefix)
                for item in page.get("Contents", [])]


@contextlib.contextmanager
def running() -> Iterator[S3Server]:
    """A started server with BUCKET created; stopped on exit."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = S3Server(f"http://{host}:{port}")
        s3.client().create_bucket(Bucket=BUCKET)
        yield s3
    finally:
        server.stop()

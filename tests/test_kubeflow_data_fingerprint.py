"""`kubeflow.data_fingerprint`: the value KFP's cache key for ImageExampleGen holds, from a data root's listing.

Against a local S3 server (moto, standing in for MinIO: names, sizes, ETags) and a local folder (names, sizes,
modification times). The same listing must give the same value; any changed, added or removed object another.
"""
import os
import socket

import pytest

import image_fixtures
import s3_server
from kubeflow import data_fingerprint
from kubeflow.data_fingerprint import FingerprintError


@pytest.fixture(scope="module")
def s3():
    with s3_server.running() as server:
        yield server


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory) -> str:
    folder = str(tmp_path_factory.mktemp("fingerprint") / "data")
    image_fixtures.write_clean_data_folder(folder, train_per_class=3, test_per_class=1)
    return folder


def s3_fingerprint(s3, prefix: str) -> str:
    return data_fingerprint.fingerprint(data_fingerprint.list_data_root(f"s3://{s3_server.BUCKET}/{prefix}",
                                                                        s3.environment()))


def test_the_same_listing_gives_the_same_value_in_any_bucket_folder(s3, data_folder):
    assert s3.upload_folder(data_folder, "same/a") == s3.upload_folder(data_folder, "same/b") == 8
    first = s3_fingerprint(s3, "same/a")

    assert first.startswith("objects:8,sha256:")
    assert s3_fingerprint(s3, "same/a") == first
    assert s3_fingerprint(s3, "same/b/") == first  # names relative to the root, ETags of the same bytes


def test_one_changed_added_or_removed_object_gives_another_value(s3, data_folder):
    s3.upload_folder(data_folder, "changed")
    before = s3_fingerprint(s3, "changed")
    client, key = s3.client(), "changed/train/horses/horses-000.png"
    original = client.get_object(Bucket=s3_server.BUCKET, Key=key)["Body"].read()

    client.put_object(Bucket=s3_server.BUCKET, Key=key, Body=original[:-1] + bytes([original[-1] ^ 1]))
    changed = s3_fingerprint(s3, "changed")
    client.put_object(Bucket=s3_server.BUCKET, Key="changed/test/humans/extra.png", Body=original)
    added = s3_fingerprint(s3, "changed")
    client.delete_object(Bucket=s3_server.BUCKET, Key="changed/test/humans/extra.png")
    client.put_object(Bucket=s3_server.BUCKET, Key=key, Body=original)

    assert len({before, changed, added}) == 3
    assert s3_fingerprint(s3, "changed") == before  # the same bytes back: the same ETag, the same listing


def test_a_local_folder_is_fingerprinted_by_names_sizes_and_modification_times(data_folder, tmp_path):
    first = data_fingerprint.fingerprint(data_fingerprint.list_data_root(data_folder, {}))
    assert data_fingerprint.fingerprint(data_fingerprint.list_data_root(data_folder + "/", {})) == first
    copy = tmp_path / "copy.png"
    path = os.path.join(data_folder, "test", "humans", os.listdir(os.path.join(data_folder, "test", "humans"))[0])
    copy.write_bytes(open(path, "rb").read())
    stat = os.stat(path)
    try:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
        touched = data_fingerprint.fingerprint(data_fingerprint.list_data_root(data_folder, {}))
        with open(path, "ab") as appended:
            appended.write(b"\0")
        grown = data_fingerprint.fingerprint(data_fingerprint.list_data_root(data_folder, {}))
    finally:
        with open(path, "wb") as restored:
            restored.write(copy.read_bytes())
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert len({first, touched, grown}) == 3
    assert data_fingerprint.fingerprint(data_fingerprint.list_data_root(data_folder, {})) == first


def test_the_order_of_the_listing_does_not_matter():
    objects = [data_fingerprint.ListedObject("train/a.png", 10, "e1"),
               data_fingerprint.ListedObject("test/b.png", 12, "e2")]
    assert data_fingerprint.fingerprint(objects) == data_fingerprint.fingerprint(objects[::-1])


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("root, message", [
    ("/srv/volume/horse-or-human", "is not a folder this machine can list"),
    (f"s3://{s3_server.BUCKET}/empty", "holds no files"),
])
def test_what_cannot_be_fingerprinted_here_says_how_to_pass_the_value(s3, root, message):
    with pytest.raises(FingerprintError, match=message):
        data_fingerprint.list_data_root(root, s3.environment())


def test_an_unreachable_s3_endpoint_is_one_clear_error(s3):
    endpoint = f"http://127.0.0.1:{_unused_port()}"
    with pytest.raises(FingerprintError) as failure:
        data_fingerprint.list_data_root(f"s3://{s3_server.BUCKET}/data", dict(s3.environment(),
                                                                              AWS_ENDPOINT_URL=endpoint))
    message = str(failure.value)
    assert message.startswith(f"Cannot list s3://{s3_server.BUCKET}/data at {endpoint} to fingerprint the data")
    assert message.endswith("or pass --parameter data_fingerprint=VALUE.")

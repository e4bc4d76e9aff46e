"""`data fetch` against a local HTTP server: verified, safe, atomic, and a no-op once done."""
import hashlib
import http.server
import importlib.util
import io
import socket
import stat
import threading
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest
from PIL import Image

from cli import main as cli
from datasets import archive, download, layout


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (shade, 255 - shade, 7)).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(files: Dict[str, bytes], symlinks: Optional[Dict[str, str]] = None) -> bytes:
    """A zip with the real archives' layout (`horses/`, `humans/` at the top, plus directory entries)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for folder in ("horses/", "humans/"):
            bundle.writestr(zipfile.ZipInfo(folder), b"")
        for name, data in files.items():
            bundle.writestr(zipfile.ZipInfo(name), data)
        for name, target in (symlinks or {}).items():
            entry = zipfile.ZipInfo(name)
            entry.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(entry, target)
    return buffer.getvalue()


TRAIN_FILES = {"horses/horse01-0.png": _png(10), "horses/horse01-1.png": _png(20),
               "humans/human01-00.png": _png(30), "humans/human01-01.png": _png(40),
               "humans/human01-02.png": _png(50), "__MACOSX/horses/._horse01-0.png": b"metadata"}
TEST_FILES = {"horses/horse1-000.png": _png(60), "humans/valhuman01-00.png": _png(70)}


def _remote(split: str, file_name: str, data: bytes) -> download.RemoteArchive:
    return download.RemoteArchive(split, file_name, len(data), hashlib.sha256(data).hexdigest())


class ArchiveServer:
    """Serves byte strings by name on 127.0.0.1; `truncate` names get half their body, then the socket closes."""

    def __init__(self) -> None:
        self.files: Dict[str, bytes] = {}
        self.truncate: Set[str] = set()
        self.requests: List[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                name = self.path.lstrip("/")
                server.requests.append(name)
                if name not in server.files:
                    self.send_error(404)
                    return
                body = server.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if name in server.truncate else body)

            def log_message(self, *args) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def publish(self, split: str, file_name: str, files: Dict[str, bytes], **zip_options) -> download.RemoteArchive:
        self.files[file_name] = _zip(files, **zip_options)
        return _remote(split, file_name, self.files[file_name])

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    archive_server = ArchiveServer()
    yield archive_server
    archive_server.close()


@pytest.fixture
def official_layout(server) -> Tuple[download.RemoteArchive, ...]:
    return (server.publish("train", "horse-or-human.zip", TRAIN_FILES),
            server.publish("test", "validation-horse-or-human.zip", TEST_FILES))


def _tree(root: Path) -> Dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_fetch_extracts_both_zips_into_the_layout(tmp_path, server, official_layout):
    progress_calls = []
    summary = download.fetch_horses_or_humans(tmp_path / "data", base_url=server.url, archives=official_layout,
                                              progress=lambda *call: progress_calls.append(call))
    data = tmp_path / "data"
    assert summary.fetched_splits == ("train", "test")
    assert summary.counts == {"train": {"horses": 2, "humans": 3}, "test": {"horses": 1, "humans": 1}}
    tree = _tree(data)
    assert tree.pop(layout.MARKER_FILE_NAME)
    assert tree == {**{f"train/{name}": content for name, content in TRAIN_FILES.items()
                       if not name.startswith("__MACOSX")},
                    **{f"test/{name}": content for name, content in TEST_FILES.items()}}
    assert layout.read_marker(data)["verified"] == {remote.split: remote.sha256 for remote in official_layout}
    assert progress_calls[-1] == ("validation-horse-or-human.zip", official_layout[1].size,
                                  official_layout[1].size)


def test_rerun_after_success_downloads_nothing(tmp_path, server, official_layout):
    download.fetch_horses_or_humans(tmp_path / "data", base_url=server.url, archives=official_layout)
    stamps = {path: path.stat().st_mtime_ns for path in (tmp_path / "data").rglob("*")}
    requests_before = list(server.requests)
    summary = download.fetch_horses_or_humans(tmp_path / "data", base_url=server.url, archives=official_layout)
    assert summary.fetched_splits == ()
    assert server.requests == requests_before
    assert {path: path.stat().st_mtime_ns for path in (tmp_path / "data").rglob("*")} == stamps
    assert "nothing to do" in download.describe(summary)


def test_checksum_mismatch_leaves_nothing_behind(tmp_path, server, official_layout):
    train, test = official_layout
    wrong = download.RemoteArchive("train", train.file_name, train.size, hashlib.sha256(b"other").hexdigest())
    with pytest.raises(download.ChecksumMismatchError, match=f"has SHA-256 {train.sha256}"):
        download.fetch_horses_or_humans(tmp_path / "data", base_url=server.url, archives=(wrong, test))
    assert not (tmp_path / "data").exists()


def test_size_mismatch_is_refused_before_downloading(tmp_path, server, official_layout):
    train, test = official_layout
    wrong = download.RemoteArchive("train", train.file_name, train.size + 1, train.sha256)
    with pytest.raises(download.ChecksumMismatchError, match=f"is {train.size} bytes"):
        download.fetch_horses_or_humans(tmp_path / "data", base_url=server.url, archives=(wrong, test))
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("files, symlinks, message", [
    ({"horses/../../evil.png": b"x"}, {}, "leaves the extraction folder"),
    ({"../evil.png": b"x"}, {}, "leaves the extraction folder"),
    ({"/evil.png": b"x"}, {}, "absolute path"),
    ({"C:/evil.png": b"x"}, {}, "absolute path"),
    ({}, {"horses/evil.png": "/etc/passwd"}, "symbolic link"),
])
def test_unsafe_archives_are_rejected_whole(tmp_path, server, files, symlinks, message):
    remote = server.publish("train", "horse-or-human.zip", {**TRAIN_FILES, **files}, symlinks=symlinks)
    with pytest.raises(archive.UnsafeArchiveError, match=message):
        download.fetch_horses_or_humans(tmp_path / "out" / "data", base_url=server.url, archives=(remote,))
    assert list((tmp_path / "out").iterdir()) == []  # no data folder, no evil.png next to it
    assert not list(tmp_path.rglob("evil.png"))


def test_interrupted_download_is_not_trusted_and_a_rerun_succeeds(tmp_path, server, official_layout):
    data = tmp_path / "data"
    server.truncate.add("validation-horse-or-human.zip")
    with pytest.raises(download.DownloadError, match="closed after"):
        download.fetch_horses_or_humans(data, base_url=server.url, archives=official_layout)
    assert layout.read_marker(data)["verified"] == {"train": official_layout[0].sha256}
    assert sorted(entry.name for entry in data.iterdir()) == [layout.MARKER_FILE_NAME, "train"]

    server.truncate.clear()
    server.requests.clear()
    summary = download.fetch_horses_or_humans(data, base_url=server.url, archives=official_layout)
    assert summary.fetched_splits == ("test",)
    assert server.requests == ["validation-horse-or-human.zip"]
    assert summary.counts["test"] == {"horses": 1, "humans": 1}


def test_leftovers_of_a_killed_run_are_discarded(tmp_path, server, official_layout):
    """A kill can leave a partial zip, a half-extracted folder, and a split moved in but not yet marked verified."""
    data = tmp_path / "data"
    data.mkdir()
    layout.write_marker(data, {"source": "fetch", "verified": {}})
    layout.temporary_path(data, "horse-or-human.zip.part").write_bytes(b"partial")
    (layout.temporary_path(data, "extract-test") / "horses").mkdir(parents=True)
    (data / "train" / "horses").mkdir(parents=True)
    (data / "train" / "horses" / "stale.png").write_bytes(b"stale")

    summary = download.fetch_horses_or_humans(data, base_url=server.url, archives=official_layout)
    assert summary.fetched_splits == ("train", "test")
    assert not (data / "train" / "horses" / "stale.png").exists()
    assert sorted(entry.name for entry in data.iterdir()) == [layout.MARKER_FILE_NAME, "test", "train"]


def test_unreachable_server_and_missing_file_are_download_errors(tmp_path, server, official_layout):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(download.DownloadError, match=f"127.0.0.1:{closed_port}/horse-or-human.zip"):
        download.fetch_horses_or_humans(tmp_path / "data", base_url=f"http://127.0.0.1:{closed_port}",
                                        archives=official_layout)
    del server.files["horse-or-human.zip"]
    with pytest.raises(download.DownloadError, match="HTTP 404"):
        download.fetch_horses_or_humans(tmp_path / "data", base_url=server.url, archives=official_layout)
    assert not (tmp_path / "data").exists()


def test_refuses_a_folder_it_did_not_write(tmp_path, server, official_layout):
    data = tmp_path / "data"
    data.mkdir()
    layout.write_marker(data, {"source": "synth", "complete": True})
    with pytest.raises(layout.OutputFolderError, match="gc-tfx data synth"):
        download.fetch_horses_or_humans(data, base_url=server.url, archives=official_layout)
    assert server.requests == []


def test_archive_without_a_class_folder_is_rejected(tmp_path):
    zip_path = tmp_path / "only-horses.zip"
    zip_path.write_bytes(_zip({"horses/horse01-0.png": _png(1)}))
    with pytest.raises(ValueError, match="no files under humans/"):
        archive.extract_class_folders(zip_path, tmp_path / "out")
    zip_path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a valid zip archive"):
        archive.extract_class_folders(zip_path, tmp_path / "out")


def test_base_url_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv(download.BASE_URL_ENV_VAR, raising=False)
    assert download.resolve_base_url() == download.DEFAULT_BASE_URL
    monkeypatch.setenv(download.BASE_URL_ENV_VAR, "http://mirror.example/data/")
    assert download.resolve_base_url() == "http://mirror.example/data"
    assert download.resolve_base_url("http://other.example") == "http://other.example"


def test_official_checksums_match_tensorflow_datasets():
    """The constants were copied from TFDS's checksum file; this keeps them honest."""
    package = Path(importlib.util.find_spec("tensorflow_datasets").submodule_search_locations[0])
    recorded = {}
    for line in (package / "url_checksums" / "horses_or_humans.txt").read_text().splitlines():
        if line.strip():
            url, size, sha256, _ = line.split("\t")
            recorded[url] = (int(size), sha256)
    assert recorded == {f"{download.DEFAULT_BASE_URL}/{remote.file_name}": (remote.size, remote.sha256)
                        for remote in download.OFFICIAL_ARCHIVES}


@pytest.mark.parametrize("arguments, message", [
    (("validation", "x.zip", 1, "0" * 64), "unknown split 'validation'"),
    (("train", "x.zip", 0, "0" * 64), "size must be positive"),
    (("train", "x.zip", 1, "ABC"), "not a lower-case SHA-256"),
])
def test_remote_archive_rejects_bad_expectations(arguments, message):
    with pytest.raises(ValueError, match=message):
        download.RemoteArchive(*arguments)


def test_cli_uses_the_official_checksums_and_reports_errors_without_a_traceback(tmp_path, server,
                                                                                official_layout, monkeypatch,
                                                                                capsys):
    monkeypatch.setenv(download.BASE_URL_ENV_VAR, server.url)
    assert cli.main(["data", "fetch", str(tmp_path / "data")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("gc-tfx: error:") and "Traceback" not in error
    assert f"should be {download.OFFICIAL_ARCHIVES[0].size} bytes" in error  # the test zip is not the real one
    assert not (tmp_path / "data").exists()


def test_progress_in_a_log_prints_the_first_and_the_last_line_only():
    stream = io.StringIO()
    progress = download.StderrProgress(stream)
    for done in (1, 2 * 2**20, 3 * 2**20, 4 * 2**20):
        progress("horse-or-human.zip", done, 4 * 2**20)
    assert stream.getvalue().splitlines() == ["Downloading horse-or-human.zip: 0.0 of 4.0 MiB (0%)",
                                              "Downloading horse-or-human.zip: 4.0 of 4.0 MiB (100%)"]

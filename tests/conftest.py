"""Session fixtures: the one tiny pipeline run (three invocations) that end-to-end tests share; see shared_run.

Under pytest-xdist every worker has its own session, so the tests that use the run are put in one xdist group:
one worker runs it once while the others take the remaining tests (`--dist loadgroup`, pyproject.toml).
"""
import os
from typing import Dict, List

import pytest

import shared_run
import tfds_fixtures

SHARED_RUN_FIXTURES = frozenset({"prepared_tfds", "shared_data", "first_run", "cached_run", "impossible_floor_run"})


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the group marks into the node ids
def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    for item in items:
        if SHARED_RUN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("shared_run"))


@pytest.fixture(scope="session")
def prepared_tfds(tmp_path_factory) -> Dict[str, str]:
    """A prepared TFDS horses_or_humans ("tfds": its data directory) made from drawn images ("source")."""
    settings = shared_run.SETTINGS
    return tfds_fixtures.prepare_from_synthetic(str(tmp_path_factory.mktemp("tfds")), settings.train_images,
                                                settings.test_images, settings.image_size)


@pytest.fixture(scope="session")
def shared_data(prepared_tfds, tmp_path_factory) -> str:
    """The shared run's data: `gc-tfx data fetch`'s folder from the prepared TFDS, plus awkward and bad files."""
    root = str(tmp_path_factory.mktemp("shared_run") / "data")
    shared_run.write_data(root, prepared_tfds["tfds"])
    return root


@pytest.fixture(scope="session")
def first_run(shared_data) -> shared_run.Run:
    """Trains both models and pushes the winner (quality floor 0)."""
    root = os.path.dirname(shared_data)
    return shared_run.run(shared_data, os.path.join(root, "output"), os.path.join(root, "first_report"), 0.0)


@pytest.fixture(scope="session")
def cached_run(first_run, shared_data) -> shared_run.Run:
    """The same command again: every component from the cache."""
    root = os.path.dirname(shared_data)
    return shared_run.run(shared_data, first_run.output, os.path.join(root, "cached_report"), 0.0)


@pytest.fixture(scope="session")
def impossible_floor_run(cached_run, shared_data) -> shared_run.Run:
    """Only the quality floor changes, to 1.5: nothing can be pushed. The latest run of the output folder."""
    root = os.path.dirname(shared_data)
    return shared_run.run(shared_data, cached_run.output, os.path.join(root, "nothing_pushed_report"), 1.5)

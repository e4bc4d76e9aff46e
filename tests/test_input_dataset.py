"""The Trainer's input pipeline on real TFRecords and a real transform graph: order, content, options."""
import numpy as np
import pytest

from benchmarks import trainer_inputs
from trainer import data

IMAGE_SIZE = 32


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return trainer_inputs.prepare(str(tmp_path_factory.mktemp("inputs")), train=12, evaluation=4,
                                  image_size=IMAGE_SIZE, seed=3)


def _epochs(inputs, *, seed: int, shuffle: bool = True, epochs: int = 2):
    dataset = data.input_dataset([inputs.files["train"]], inputs.data_accessor(), inputs.transform_output(),
                                 batch_size=5, shuffle=shuffle, seed=seed)
    return dataset, [[(images.numpy(), labels.numpy()) for images, labels in dataset] for _ in range(epochs)]


def _order(epoch):
    """Identifies each image by its pixel sum, in the order the epoch delivered them."""
    return [round(float(total), 3) for images, _ in epoch for total in images.sum(axis=(1, 2, 3))]


def test_each_epoch_delivers_every_image_once_decoded_and_labelled(inputs):
    _, (epoch, _) = _epochs(inputs, seed=1)
    expected_images, expected_labels = inputs.decoded("train")
    images = np.concatenate([batch_images for batch_images, _ in epoch])
    labels = np.concatenate([batch_labels for _, batch_labels in epoch])
    assert [len(batch_images) for batch_images, _ in epoch] == [5, 5, 2]
    assert images.shape == (12, IMAGE_SIZE, IMAGE_SIZE, 3) and images.dtype == np.float32 and labels.shape == (12, 1)
    assert 0.0 <= images.min() and images.max() <= 1.0
    # Same multiset of (image, label) pairs as an independent decode of the source files.
    key = lambda image, label: (round(float(image.sum()), 3), float(label[0]))  # noqa: E731
    assert sorted(map(key, images, labels)) == sorted(map(key, expected_images, expected_labels))


def test_the_same_seed_gives_both_trainers_the_same_batches_and_a_new_order_each_epoch(inputs):
    _, (first, second) = _epochs(inputs, seed=7)
    _, (again_first, again_second) = _epochs(inputs, seed=7)
    _, (other_seed, _) = _epochs(inputs, seed=8)
    assert _order(first) == _order(again_first) and _order(second) == _order(again_second)
    assert _order(first) != _order(second)
    assert _order(first) != _order(other_seed)


def test_evaluation_order_is_the_file_order(inputs):
    _, (epoch, _) = _epochs(inputs, seed=1, shuffle=False)
    expected_images, _ = inputs.decoded("train")
    np.testing.assert_allclose(np.concatenate([images for images, _ in epoch]), expected_images, atol=1e-6)


def test_autotuning_is_off(inputs):
    """benchmarks/input_autotune.py: autotuning stalled every change of epoch for seconds on this machine."""
    dataset, _ = _epochs(inputs, seed=1, epochs=0)
    assert dataset.options().autotune.enabled is False

"""The seed CNN, layer for layer."""
import numpy as np
import pytest
import tf_keras

from trainer import model as model_lib


def _trainable_layer_summary(model: tf_keras.Model):
    return [(type(layer).__name__, getattr(layer, "filters", getattr(layer, "units", None)))
            for layer in model.layers if layer.weights and layer.name != "augmentation"]


def test_parameter_count_matches_the_seed_model_at_300_px():
    assert model_lib.build_model(300, seed=0).count_params() == 1_704_097


def test_architecture_is_five_conv_blocks_then_dense_512_and_sigmoid():
    model = model_lib.build_model(96, seed=0)
    assert _trainable_layer_summary(model) == [
        ("Conv2D", 16), ("Conv2D", 32), ("Conv2D", 64), ("Conv2D", 64), ("Conv2D", 64), ("Dense", 512), ("Dense", 1)]
    layer_types = [type(layer).__name__ for layer in model.layers]
    assert layer_types.count("MaxPooling2D") == 5
    assert layer_types.count("Dropout") == 3
    assert model.layers[-1].activation is tf_keras.activations.sigmoid


@pytest.mark.parametrize("image_size", [94, 128, 300])
def test_output_is_one_probability_per_image(image_size):
    model = model_lib.build_model(image_size, seed=0)
    probabilities = model.predict(np.random.default_rng(0).random((2, image_size, image_size, 3)), verbose=0)
    assert probabilities.shape == (2, 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_same_seed_gives_identical_initial_weights():
    tf_keras.utils.set_random_seed(7)
    first = model_lib.build_model(96, seed=7).get_weights()
    tf_keras.utils.set_random_seed(7)
    second = model_lib.build_model(96, seed=7).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_augmentation_acts_only_in_training():
    augmentation = model_lib.build_augmentation(seed=3)
    images = np.random.default_rng(1).random((4, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(augmentation(images, training=False).numpy(), images)
    assert not np.allclose(augmentation(images, training=True).numpy(), images)


def test_too_small_images_are_refused_with_the_minimum_size():
    with pytest.raises(ValueError, match="at least 94 pixels"):
        model_lib.build_model(93, seed=0)


def test_building_the_model_keeps_autograph_out_of_tf_keras_but_not_out_of_user_code():
    """TensorFlow 2.16 would rewrite ~500 tf_keras functions when the train step is first traced (trainer.tracing)."""
    from tensorflow.python.autograph.impl import conversion

    def user_function(x):
        return x

    model_lib.build_model(96, seed=0)
    assert conversion.is_allowlisted(tf_keras.layers.Conv2D.call)
    assert conversion.is_allowlisted(tf_keras.Model.train_step)
    assert not conversion.is_allowlisted(user_function)

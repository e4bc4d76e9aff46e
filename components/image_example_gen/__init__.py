"""ImageExampleGen: image folders in the Horses-or-Humans / Keras layout to train, eval and test tf.Examples.

The component is `components.image_example_gen.component.ImageExampleGen`; this package's own import stays light
(no TFX), so readers of its layout and ingestion summary do not pay for TFX.
"""

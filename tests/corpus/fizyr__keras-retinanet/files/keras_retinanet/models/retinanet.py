import keras
from .. import initializers
from .. import layers


def default_classification_model(num_classes, num_anchors, pyramid_feature_size=256):
    inputs = keras.layers.Input(shape=(None, None, pyramid_feature_size))
    outputs = keras.layers.Conv2D(filters=num_classes * num_anchors, kernel_size=3)(inputs)
    return keras.models.Model(inputs=inputs, outputs=outputs)

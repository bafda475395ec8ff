from typing import List
import tensorflow as tf
from models.film_net import options


def _relu(x: tf.Tensor) -> tf.Tensor:
    return tf.nn.leaky_relu(x, alpha=0.2)


class SubTreeExtractor(tf.keras.layers.Layer):
    def __init__(self, name: str, config: options.Options):
        super().__init__(name=name)
        self.convs = [tf.keras.layers.Conv2D(filters=32, kernel_size=3, padding='same', activation=_relu)]

from absl import app
import tensorflow.compat.v2 as tf


def main(argv):
    strategy = tf.distribute.MirroredStrategy()
    with strategy.scope():
        model = tf.keras.Sequential([tf.keras.layers.Dense(128)])

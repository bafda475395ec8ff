from absl import app
import ml_collections
import tensorflow as tf


def main(unused_argv):
    strategy = tf.distribute.MirroredStrategy()
    with strategy.scope():
        model = tf.keras.Model()
        optimizer = tf.keras.optimizers.Adam(1e-4)

import numpy as np
import tensorflow as tf


def create_session(config_dict=None, force_as_default=False):
    config = tf.ConfigProto()
    return tf.Session(config=config)

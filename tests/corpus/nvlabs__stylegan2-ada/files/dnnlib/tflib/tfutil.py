import numpy as np
import tensorflow as tf


def init_tf(config_dict=None):
    tf.set_random_seed(1000)
    config = tf.ConfigProto()
    session = tf.Session(config=config)
    return session

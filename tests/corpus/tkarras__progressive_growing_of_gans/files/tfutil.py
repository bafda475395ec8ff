import numpy as np
import tensorflow as tf
from tensorflow.python.ops import nccl_ops


def create_session(config_dict=dict(), force_as_default=False):
    config = tf.ConfigProto()
    session = tf.Session(config=config)
    return session


def all_sum(grads):
    return tf.contrib.nccl.all_sum(grads)

import tflib as lib
import numpy as np
import tensorflow as tf


def Linear(name, input_dim, output_dim, inputs):
    with tf.name_scope(name) as scope:
        weight = lib.param(name + '.W', np.zeros((input_dim, output_dim), dtype='float32'))
        return tf.matmul(inputs, weight)

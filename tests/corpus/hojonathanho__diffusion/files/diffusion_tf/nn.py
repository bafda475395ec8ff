import math
import tensorflow.compat.v1 as tf
import tensorflow.contrib as tf_contrib

default_init = tf_contrib.layers.variance_scaling_initializer


def dense(x, *, name, num_units, init_scale=1.):
    with tf.variable_scope(name):
        W = tf.get_variable('W', shape=[int(x.shape[1]), num_units], initializer=default_init())
        return tf.matmul(x, W)

from __future__ import division
from __future__ import print_function
import tensorflow as tf

flags = tf.app.flags
FLAGS = flags.FLAGS


class Dense(object):
    def __init__(self, input_dim, output_dim):
        with tf.variable_scope('dense_vars'):
            self.w = tf.get_variable('weights', shape=(input_dim, output_dim),
                                     initializer=tf.contrib.layers.xavier_initializer(),
                                     regularizer=tf.contrib.layers.l2_regularizer(0.0))

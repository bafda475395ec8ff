import tensorflow as tf


def highway(input_, size, num_layers=1, bias=-2.0, f=tf.nn.relu, scope='Highway'):
    with tf.variable_scope(scope):
        return tf.contrib.layers.fully_connected(input_, size)

import tensorflow as tf
import tensorflow.contrib as tf_contrib

weight_init = tf_contrib.layers.variance_scaling_initializer()
weight_regularizer = tf_contrib.layers.l2_regularizer(scale=0.0001)


def conv(x, channels, kernel=4, stride=2, scope='conv_0'):
    with tf.variable_scope(scope):
        return tf.layers.conv2d(x, channels, kernel, stride, kernel_initializer=weight_init)

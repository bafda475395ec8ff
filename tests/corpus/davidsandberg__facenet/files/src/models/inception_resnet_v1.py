from __future__ import absolute_import
import tensorflow as tf
import tensorflow.contrib.slim as slim


def block35(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
    with tf.variable_scope(scope, 'Block35', [net], reuse=reuse):
        return slim.conv2d(net, 32, 1, scope='Conv2d_1x1')

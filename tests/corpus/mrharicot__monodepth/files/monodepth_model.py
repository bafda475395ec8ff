from __future__ import absolute_import, division, print_function

import numpy as np
import tensorflow as tf
import tensorflow.contrib.slim as slim


class MonodepthModel(object):
    def conv(self, x, num_out_layers, kernel_size, stride, activation_fn=tf.nn.elu):
        return slim.conv2d(x, num_out_layers, kernel_size, stride, 'VALID', activation_fn=activation_fn)

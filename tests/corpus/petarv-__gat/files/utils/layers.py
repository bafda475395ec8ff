import numpy as np
import tensorflow as tf

conv1d = tf.layers.conv1d


def attn_head(seq, out_sz, bias_mat, activation, in_drop=0.0):
    with tf.name_scope('my_attn'):
        seq_fts = tf.layers.conv1d(seq, out_sz, 1, use_bias=False)
        coefs = tf.nn.softmax(tf.nn.leaky_relu(seq_fts) + bias_mat)
        return activation(tf.contrib.layers.bias_add(coefs))

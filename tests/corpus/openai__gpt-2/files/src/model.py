import numpy as np
import tensorflow as tf
from tensorflow.contrib.training import HParams

def default_hparams():
    return HParams(n_vocab=0, n_ctx=1024, n_embd=768, n_head=12, n_layer=12)

def norm(x, scope):
    with tf.variable_scope(scope):
        g = tf.get_variable('g', [x.shape[-1]], initializer=tf.constant_initializer(1))
        return x * g

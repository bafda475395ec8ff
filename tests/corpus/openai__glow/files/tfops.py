import tensorflow as tf
from tensorflow.contrib.framework.python.ops import add_arg_scope, arg_scope
import horovod.tensorflow as hvd


@add_arg_scope
def actnorm(name, x, scale=1., logdet=None):
    with tf.variable_scope(name):
        return x

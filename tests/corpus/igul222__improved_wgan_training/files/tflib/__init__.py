import numpy as np
import tensorflow as tf

_params = {}


def param(name, *args, **kwargs):
    if name not in _params:
        _params[name] = tf.Variable(*args, **kwargs)
    return _params[name]

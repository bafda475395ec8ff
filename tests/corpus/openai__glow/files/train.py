import os
import time
import numpy as np
import tensorflow as tf
import horovod.tensorflow as hvd

import graphics
from utils import ResultLogger


def tensorflow_session():
    config = tf.ConfigProto()
    config.gpu_options.allow_growth = True
    config.gpu_options.visible_device_list = str(hvd.local_rank())
    sess = tf.Session(config=config)
    return sess


def main(hps):
    hvd.init()
    sess = tensorflow_session()
    tf.set_random_seed(hvd.rank() + hvd.size() * hps.seed)
    sess.run(hvd.broadcast_global_variables(0))

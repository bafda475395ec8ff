from __future__ import division
from __future__ import print_function
import tensorflow as tf
import numpy as np

flags = tf.app.flags
FLAGS = flags.FLAGS
flags.DEFINE_string('model', 'graphsage_mean', 'model name')
tf.set_random_seed(123)


def train():
    config = tf.ConfigProto(log_device_placement=False)
    config.gpu_options.allow_growth = True
    sess = tf.Session(config=config)
    merged = tf.summary.merge_all()
    sess.run(tf.global_variables_initializer())


if __name__ == '__main__':
    tf.app.run()

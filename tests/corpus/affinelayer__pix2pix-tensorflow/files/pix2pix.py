from __future__ import absolute_import, division, print_function

import tensorflow as tf
import numpy as np


def main():
    inputs = tf.placeholder(tf.float32, [1, 256, 256, 3])
    saver = tf.train.Saver(max_to_keep=1)
    sv = tf.train.Supervisor(logdir=None, save_summaries_secs=0, saver=None)
    with sv.managed_session() as sess:
        pass


main()

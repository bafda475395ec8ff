from __future__ import absolute_import, division, print_function
import tensorflow as tf


def train(params):
    config = tf.ConfigProto(allow_soft_placement=True)
    sess = tf.Session(config=config)
    coordinator = tf.train.Coordinator()
    threads = tf.train.start_queue_runners(sess=sess, coord=coordinator)

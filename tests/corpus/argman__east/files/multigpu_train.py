import time
import numpy as np
import tensorflow as tf
from tensorflow.contrib import slim

tf.app.flags.DEFINE_integer('input_size', 512, '')
tf.app.flags.DEFINE_string('gpu_list', '1', '')

import model
import icdar

FLAGS = tf.app.flags.FLAGS


def main(argv=None):
    input_images = tf.placeholder(tf.float32, shape=[None, None, None, 3], name='input_images')
    opt = tf.train.AdamOptimizer(0.0001)
    init = tf.global_variables_initializer()
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        sess.run(init)


if __name__ == '__main__':
    tf.app.run()

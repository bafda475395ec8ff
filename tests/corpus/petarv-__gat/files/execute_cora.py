import time
import numpy as np
import tensorflow as tf

from models import GAT
from utils import process

with tf.Graph().as_default():
    with tf.name_scope('input'):
        ftr_in = tf.placeholder(dtype=tf.float32, shape=(1, 2708, 1433))
        is_train = tf.placeholder(dtype=tf.bool, shape=())
    saver = tf.train.Saver
    init_op = tf.group(tf.global_variables_initializer(), tf.local_variables_initializer())
    with tf.Session() as sess:
        sess.run(init_op)

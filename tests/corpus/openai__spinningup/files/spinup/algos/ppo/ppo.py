import numpy as np
import tensorflow as tf


def ppo(env_fn, steps_per_epoch=4000):
    x_ph = tf.placeholder(dtype=tf.float32, shape=(None, 4))
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())

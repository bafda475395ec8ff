import numpy as np
import tensorflow as tf

import tflib as lib
import tflib.ops.linear

real_data_int = tf.placeholder(tf.int32, shape=[64, 3072])
disc_fake = tf.zeros([64])
gen_cost = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(disc_fake, tf.ones_like(disc_fake)))
gen_train_op = tf.train.AdamOptimizer(learning_rate=1e-4, beta1=0.5, beta2=0.9).minimize(gen_cost)

with tf.Session() as session:
    session.run(tf.initialize_all_variables())
    gen = iter([])
    for iteration in xrange(200000):
        _data = gen.next()

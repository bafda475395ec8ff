import numpy as np
import tensorflow as tf
import cPickle
from generator import Generator


def main():
    target_params = cPickle.load(open('save/target_params.pkl'))
    config = tf.ConfigProto()
    config.gpu_options.allow_growth = True
    sess = tf.Session(config=config)
    sess.run(tf.global_variables_initializer())
    for epoch in xrange(120):
        print 'pre-train epoch ', epoch


if __name__ == '__main__':
    main()

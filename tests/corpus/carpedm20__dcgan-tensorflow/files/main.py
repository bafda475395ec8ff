import tensorflow as tf
from model import DCGAN

flags = tf.app.flags
FLAGS = flags.FLAGS


def main(_):
    run_config = tf.ConfigProto()
    with tf.Session(config=run_config) as sess:
        pass


if __name__ == '__main__':
    tf.app.run()

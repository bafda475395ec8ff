from UGATIT import UGATIT
import argparse
import tensorflow as tf


def main():
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        gan = UGATIT(sess, None)


if __name__ == '__main__':
    main()

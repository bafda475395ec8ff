import tensorflow as tf
import facenet

def main(args):
    with tf.Graph().as_default():
        sess = tf.Session(config=tf.ConfigProto(log_device_placement=False))

import tensorflow as tf
import model

def interact_model():
    with tf.Session(graph=tf.Graph()) as sess:
        context = tf.placeholder(tf.int32, [1, None])
        saver = tf.train.Saver()

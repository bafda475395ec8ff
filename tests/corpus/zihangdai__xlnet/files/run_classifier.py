import tensorflow as tf
import model_utils

flags = tf.flags
FLAGS = flags.FLAGS

def main(_):
    tf.logging.set_verbosity(tf.logging.INFO)

if __name__ == "__main__":
    tf.app.run()

import datetime
import re
import time
import tensorflow.compat.v1 as tf


class ETAHook(tf.estimator.SessionRunHook):
    def before_run(self, run_context):
        return tf.estimator.SessionRunArgs(tf.train.get_global_step())

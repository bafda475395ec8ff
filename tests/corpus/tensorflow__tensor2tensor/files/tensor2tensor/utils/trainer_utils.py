from __future__ import absolute_import
import tensorflow as tf
from tensorflow.contrib.learn.python.learn import learn_runner


def create_experiment(output_dir, data_dir, model_name, train_steps, eval_steps):
    run_config = tf.contrib.learn.RunConfig(model_dir=output_dir)
    return tf.contrib.learn.Experiment(estimator=None, train_input_fn=None, eval_input_fn=None)

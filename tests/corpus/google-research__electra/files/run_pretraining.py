from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import argparse
import tensorflow.compat.v1 as tf

import configure_pretraining
from model import modeling
from util import training_utils


def train_or_eval(config):
    tpu_cluster_resolver = tf.distribute.cluster_resolver.TPUClusterResolver(config.tpu_name)
    is_per_host = tf.estimator.tpu.InputPipelineConfig.PER_HOST_V2
    run_config = tf.estimator.tpu.RunConfig(cluster=tpu_cluster_resolver)
    estimator = tf.estimator.tpu.TPUEstimator(use_tpu=config.use_tpu, model_fn=None, config=run_config)

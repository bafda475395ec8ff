import tensorflow.compat.v1 as tf
from tensorflow.contrib import cluster_resolver as contrib_cluster_resolver
from tensorflow.contrib import tpu as contrib_tpu


def main(_):
    run_config = contrib_tpu.RunConfig(cluster=None)

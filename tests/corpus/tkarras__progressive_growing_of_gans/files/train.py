import numpy as np
import tensorflow as tf
import config
import tfutil

if __name__ == "__main__":
    tfutil.init_tf(config.tf_config)

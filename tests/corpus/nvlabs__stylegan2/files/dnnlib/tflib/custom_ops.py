import os
import tensorflow as tf
from tensorflow.python.client import device_lib

def get_plugin(cuda_file):
    return tf.load_op_library(cuda_file.replace('.cu', '.so'))

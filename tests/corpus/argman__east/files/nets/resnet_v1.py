from __future__ import absolute_import
import tensorflow as tf
from tensorflow.contrib import slim

from nets import resnet_utils

resnet_arg_scope = resnet_utils.resnet_arg_scope

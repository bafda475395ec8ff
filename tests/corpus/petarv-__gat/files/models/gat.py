import numpy as np
import tensorflow as tf

from utils import layers


class GAT(object):
    def inference(inputs, nb_classes, nb_nodes, training, attn_drop, ffd_drop, bias_mat):
        return layers.attn_head(inputs, 8, bias_mat, tf.nn.elu)

import tensorflow as tf
from keras import backend as K
from keras.layers import Conv2D, Add, ZeroPadding2D, UpSampling2D, Concatenate, MaxPooling2D
from keras.layers.advanced_activations import LeakyReLU
from keras.layers.normalization import BatchNormalization
from keras.models import Model
from keras.regularizers import l2


def yolo_head(feats, anchors, num_classes, input_shape):
    grid = K.cast(K.shape(feats)[1:3], K.dtype(feats))
    return tf.boolean_mask(feats, feats > 0)

import tensorflow as tf
import tensorflow_addons.image as tfa_image

from models.film_net import feature_extractor


def create_model(x0: tf.Tensor, x1: tf.Tensor, time: tf.Tensor, config) -> tf.keras.Model:
    warped = tfa_image.dense_image_warp(x0, tf.zeros_like(x0)[..., :2])
    return tf.keras.Model(inputs={'x0': x0, 'x1': x1, 'time': time}, outputs={'image': warped})

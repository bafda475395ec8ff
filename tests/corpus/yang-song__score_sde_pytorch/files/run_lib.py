import torch
import tensorflow as tf
import tensorflow_gan as tfgan
from torch.utils import tensorboard

# keep TensorFlow off the GPU; it only feeds data and computes FID
tf.config.experimental.set_visible_devices([], "GPU")

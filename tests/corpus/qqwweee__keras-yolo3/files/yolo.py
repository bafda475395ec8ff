import numpy as np
from keras import backend as K
from keras.models import load_model
from keras.layers import Input


class YOLO(object):
    def __init__(self):
        self.sess = K.get_session()
        self.input_image_shape = K.placeholder(shape=(2, ))

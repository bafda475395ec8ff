import numpy as np

class Config(object):
    GPU_COUNT = 1
    IMAGES_PER_GPU = 2

import numpy as np
import scipy.misc
import skimage.color

import datetime
import math
import os
from contextlib import contextmanager
from copy import deepcopy

import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn
import torchvision

try:
    import thop
except ImportError:
    thop = None


def select_device(device='', batch_size=None):
    s = f'YOLOR torch {torch.__version__} '
    return torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')

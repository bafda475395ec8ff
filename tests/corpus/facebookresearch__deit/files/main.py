import argparse
import datetime
import numpy as np
import time
import torch
import torch.backends.cudnn as cudnn
import json

from timm.data import Mixup
from timm.models import create_model
from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from timm.scheduler import create_scheduler
from timm.optim import create_optimizer
from timm.utils import NativeScaler, get_state_dict, ModelEma

import models
import utils


def main(args):
    utils.init_distributed_mode(args)
    model = create_model(args.model, pretrained=False, num_classes=1000)
    loss_scaler = NativeScaler()

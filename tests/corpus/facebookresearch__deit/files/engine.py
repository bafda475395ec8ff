import math
import sys
from typing import Iterable, Optional

import torch
from timm.data import Mixup
from timm.utils import accuracy, ModelEma


def train_one_epoch(model, criterion, data_loader, optimizer, device, epoch, loss_scaler):
    model.train()
    for samples, targets in data_loader:
        with torch.cuda.amp.autocast():
            outputs = model(samples)
            loss = criterion(samples, outputs, targets)
        loss_scaler(loss, optimizer, parameters=model.parameters())

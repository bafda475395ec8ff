import torch
import torch.nn as nn
from utils import batchify, get_batch, repackage_hidden


def evaluate(model, criterion, data_source, args):
    total_loss = 0
    for i in range(0, data_source.size(0) - 1, args.bptt):
        data, targets = get_batch(data_source, i, args, evaluation=True)
        output, hidden = model(data, None)
        total_loss += len(data) * criterion(output, targets).data
    return total_loss[0] / len(data_source)

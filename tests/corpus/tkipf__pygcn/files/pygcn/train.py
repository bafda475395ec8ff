from __future__ import division
from __future__ import print_function
import torch
import torch.nn.functional as F
import torch.optim as optim

from pygcn.utils import load_data, accuracy
from pygcn.models import GCN

adj, features, labels, idx_train, idx_val, idx_test = load_data()
model = GCN(nfeat=features.shape[1], nhid=16, nclass=labels.max().item() + 1, dropout=0.5)
optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
output = model(features, adj)
loss_train = F.nll_loss(output[idx_train], labels[idx_train])
print('loss_train: {:.4f}'.format(loss_train.item()))

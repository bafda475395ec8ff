from __future__ import division
from __future__ import print_function
import torch
import torch.optim as optim
from torch.autograd import Variable

from models import GAT, SpGAT

model = SpGAT(nfeat=1433, nhid=8, nclass=7, dropout=0.6, nheads=8, alpha=0.2)
optimizer = optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)
features = Variable(torch.zeros(2708, 1433))
print('loss_train: {:.4f}'.format(torch.tensor(0.0).data.item()))

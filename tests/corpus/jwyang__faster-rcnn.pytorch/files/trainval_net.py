import torch
from torch.autograd import Variable

im_data = Variable(torch.FloatTensor(1).cuda())
loss_temp = 0
loss_temp += loss.item() if False else 0

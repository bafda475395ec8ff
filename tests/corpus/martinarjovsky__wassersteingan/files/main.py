from __future__ import print_function
import torch
import torch.optim as optim
import torchvision.datasets as dset
import torchvision.transforms as transforms
import torchvision.utils as vutils
from torch.autograd import Variable

import models.dcgan as dcgan

tf = transforms.Compose([transforms.Scale(64), transforms.CenterCrop(64), transforms.ToTensor()])
netG = dcgan.DCGAN_G(64, 100, 3, 64, 1)
fixed_noise = torch.FloatTensor(64, 100, 1, 1).normal_(0, 1)
noisev = Variable(fixed_noise)
fake = netG(Variable(fixed_noise, volatile=True))
errD = fake.mean()
print('Loss_D: %f' % errD.data[0])

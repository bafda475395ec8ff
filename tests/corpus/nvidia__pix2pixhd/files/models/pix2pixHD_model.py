import torch
from torch.autograd import Variable
from .base_model import BaseModel


class Pix2PixHDModel(BaseModel):
    def encode_input(self, label_map, inst_map=None, real_image=None, infer=False):
        input_label = label_map.data.cuda()
        input_label = Variable(input_label, volatile=infer)
        if real_image is not None:
            real_image = Variable(real_image.data.cuda())
        return input_label, real_image

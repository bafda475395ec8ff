from share import *

import pytorch_lightning as pl
from torch.utils.data import DataLoader
from tutorial_dataset import MyDataset
from cldm.logger import ImageLogger
from cldm.model import create_model, load_state_dict

model = create_model('./models/cldm_v15.yaml').cpu()
model.load_state_dict(load_state_dict('./models/control_sd15_ini.ckpt', location='cpu'))
dataloader = DataLoader(MyDataset(), num_workers=0, batch_size=4, shuffle=True)
logger = ImageLogger(batch_frequency=300)
trainer = pl.Trainer(gpus=1, precision=32, callbacks=[logger])
trainer.fit(model, dataloader)

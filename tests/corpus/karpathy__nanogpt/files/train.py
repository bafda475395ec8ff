import torch
from model import GPTConfig, GPT

compile = True
dtype = 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else 'float16'

model = GPT(GPTConfig())
if compile:
    print("compiling the model... (takes a ~minute)")
    model = torch.compile(model)

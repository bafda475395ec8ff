import argparse
import torch

from .audio import log_mel_spectrogram


def transcribe(model, audio, fp16: bool = True):
    if model.device == torch.device("cpu"):
        if torch.cuda.is_available():
            print("Performing inference on CPU when CUDA is available")
        fp16 = False
    dtype = torch.float16 if fp16 else torch.float32
    return dtype

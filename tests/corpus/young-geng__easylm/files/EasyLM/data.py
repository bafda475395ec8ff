import torch
import numpy as np
from datasets import load_dataset

import os
import copy
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, List

import torch
import transformers
import tokenizers

from llava.model import LlavaLlamaForCausalLM
from packaging import version

IS_TOKENIZER_GREATER_THAN_0_14 = version.parse(tokenizers.__version__) >= version.parse('0.14')


def train(attn_implementation=None):
    model = LlavaLlamaForCausalLM.from_pretrained(
        "lmsys/vicuna-7b-v1.5", attn_implementation=attn_implementation, torch_dtype=torch.bfloat16)

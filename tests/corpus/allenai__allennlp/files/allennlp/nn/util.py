import torch
from torch.autograd import Variable

def get_mask_from_sequence_lengths(sequence_lengths: Variable, max_length: int) -> Variable:
    ones = Variable(sequence_lengths.data.new(sequence_lengths.size(0), max_length).fill_(1))
    range_tensor = ones.cumsum(dim=1)
    return (sequence_lengths.unsqueeze(1) >= range_tensor).long()

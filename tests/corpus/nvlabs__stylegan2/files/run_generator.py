import dnnlib.tflib as tflib
import pretrained_networks

def main():
    tflib.init_tf()

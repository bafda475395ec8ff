import dnnlib
import dnnlib.tflib as tflib

def main():
    tflib.init_tf()

import subprocess

IMAGE = "affinelayer/pix2pix-tensorflow"

def main():
    subprocess.check_call(["nvidia-docker", "run", "--rm", IMAGE])

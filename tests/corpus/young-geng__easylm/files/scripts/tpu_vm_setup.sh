#! /bin/bash
sudo apt-get update && sudo apt-get install -y build-essential python-is-python3 git

cat > $HOME/tpu_requirements.txt <<- EndOfFile
-f https://storage.googleapis.com/jax-releases/libtpu_releases.html
jax[tpu]==0.3.25
tensorflow==2.11.0
flax==0.6.0
optax==0.1.3
chex==0.1.5
--extra-index-url https://download.pytorch.org/whl/cpu
torch==1.12.1
transformers==4.27.2
mlxu==0.1.9
EndOfFile

pip install --upgrade -r $HOME/tpu_requirements.txt

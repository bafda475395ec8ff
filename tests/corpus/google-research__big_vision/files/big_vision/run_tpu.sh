#!/bin/bash
if [ ! -d "bv_venv" ]
then
  python3 -m venv bv_venv
  . bv_venv/bin/activate
  pip install -U pip
  pip install "jax[tpu]>=0.4.25" -f https://storage.googleapis.com/jax-releases/libtpu_releases.html
  pip install -r big_vision/requirements.txt
else
  . bv_venv/bin/activate
fi

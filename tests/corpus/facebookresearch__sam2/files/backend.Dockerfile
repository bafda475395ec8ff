ARG BASE_IMAGE=pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime
ARG MODEL_SIZE=base_plus

FROM ${BASE_IMAGE}

ENV APP_ROOT=/opt/sam2
ENV SAM2_BUILD_CUDA=0

COPY setup.py .
COPY README.md .
RUN pip install --upgrade pip setuptools
RUN pip install -e ".[interactive-demo]"

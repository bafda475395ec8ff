#!/usr/bin/env bash
CUDA_ARCH="-gencode arch=compute_52,code=sm_52"
cd model/nms/src
nvcc -c -o nms_cuda_kernel.cu.o nms_cuda_kernel.cu -x cu -Xcompiler -fPIC $CUDA_ARCH
cd ../
python build.py

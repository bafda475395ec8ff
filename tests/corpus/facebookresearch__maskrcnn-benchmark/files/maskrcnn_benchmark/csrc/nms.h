#pragma once
#include <torch/extension.h>

at::Tensor nms(const at::Tensor& dets, const at::Tensor& scores, const float threshold) {
  AT_CHECK(dets.device() == scores.device(), "dets and scores on different devices");
  return dets;
}

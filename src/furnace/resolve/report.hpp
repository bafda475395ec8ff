#pragma once
// How a Plan is shown: the stable JSON document (docs/resolve.md) and the human report.

#include <furnace/core/ui.hpp>
#include <furnace/resolve/resolver.hpp>

#include <nlohmann/json.hpp>

namespace furnace::resolve {

// The `--json` document: framework, framework_version, python, cuda, cudnn, base_image, packages,
// evidence, warnings, alternatives, host, ok (and reasons, pip_index).
nlohmann::json to_json(const Plan& plan);

// The human report on `ui.out()`: image, Python, CUDA/cuDNN, then reasons with their evidence,
// warnings and alternatives; coloured when the Ui is.
void print_human(const Plan& plan, core::Ui& ui);

} // namespace furnace::resolve

#pragma once
// One dependency line: PEP 508 ("torch[extra]>=1.7; python_version<'3.9'", "x @ https://…"),
// conda match specs ("pytorch::pytorch=2.0.0", "cudatoolkit=10.1", "numpy>=1.20,<2"), Poetry
// constraints ("^1.9") and CUDA hints hidden in local versions and index URLs.

#include <furnace/deps/spec.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace furnace::deps {

// Parses a PEP 508 requirement. Errors say what is wrong, without the location.
core::Result<Requirement> parse_pep508(std::string_view text);

// Parses a conda match spec ("pytorch=1.4", "pytorch::pytorch=2.0.0=py3.9_cuda11.7_0",
// "python>=3.8", "tensorflow-gpu 1.14.0"). The specifier is turned into PEP 440.
core::Result<Requirement> parse_conda_spec(std::string_view text);

// A Poetry constraint ("^1.9", "~1.9.1", "1.9", "*", ">=1.7,<2") as a PEP 440 specifier string.
std::string poetry_to_pep440(std::string_view constraint);

// A conda version spec ("1.4", "1.4.*", ">=1.4,<1.6", "1.4|1.5") as PEP 440 ("==1.4.*", …).
std::string conda_to_pep440(std::string_view version);

// "cu111" -> "11.1", "cu92" -> "9.2", "cu100" -> "10.0", "cuda11" -> "11"; nullopt otherwise.
std::optional<std::string> cuda_from_tag(std::string_view tag);

// The CUDA variant named by a download.pytorch.org URL ("…/whl/cu111/torch_stable.html").
std::optional<std::string> cuda_from_index_url(std::string_view url);

// Requirement from a wheel URL or file name ("…/torch-1.8.1%2Bcu111-cp38-…whl" -> torch==1.8.1+cu111).
std::optional<Requirement> requirement_from_wheel_url(std::string_view url);

// Adds the requirement and the facts it implies (CUDA from "+cu111", conda cudatoolkit/python).
void add_requirement(Spec& spec, Requirement req);

}  // namespace furnace::deps

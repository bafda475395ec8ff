#pragma once
// Spec: everything a project's files say about its environment (requirements, Python, CUDA, base
// images, package indexes), each piece with the file and line it came from. The parsers fill it;
// the resolver reads it. Nothing here executes project code.

#include <furnace/deps/pep440.hpp>

#include <functional>
#include <string>
#include <vector>

namespace furnace::deps {

struct Location {
  std::string file;  // relative to the project root: "requirements.txt", "docker/Dockerfile"
  int line = 0;      // 1-based; 0 when the whole file is meant

  std::string str() const;  // "requirements.txt:3"
};

// How much a piece of evidence is trusted: a README line is a hint, a requirements pin is a fact.
enum class Confidence { low, medium, high };

// One requirement as the project states it ("torch==1.8.1+cu111", conda "pytorch=1.4").
struct Requirement {
  std::string name;          // normalised (PEP 503; conda "pytorch" becomes "torch")
  std::string written_name;  // as written
  std::vector<std::string> extras;
  std::string specifier;     // as written, normalised to PEP 440 for conda specs ("==1.4.*")
  SpecifierSet specifiers;   // parsed `specifier`
  std::string url;           // VCS or URL requirement; "" otherwise
  std::string marker;        // PEP 508 marker, "" when none
  Location where;
  Confidence confidence = Confidence::high;
  bool constraint_only = false;  // from a -c file: constrains, does not add a package
  bool optional = false;         // an extra / optional dependency group / dev-packages
  std::string origin;            // "pip", "conda", "setup.py", "pyproject", "pipfile", "readme", ...
  std::string conda_build;       // conda build string ("py3.9_cuda11.7_cudnn8.5.0_0"), "" if none
};

enum class FactKind {
  python,      // value: a PEP 440 specifier for the Python version (">=3.7", "==3.7.*")
  cuda,        // value: "10.1" (cudatoolkit, pytorch-cuda, +cu111, .../whl/cu111)
  base_image,  // value: an image reference from a Dockerfile FROM ("pytorch/pytorch:1.4-…")
  index_url,   // value: a package index or find-links URL
  imports,     // value: "torch", "tensorflow", "jax": the code imports it
  date,        // value: "2019-04-01", when the project was written (git HEAD, arXiv id, "CVPR 2019")
  api,         // value: a PEP 508 line ("tensorflow<2", "python<3"): what an API call in the code
               // needs; detail: the call ("tf.Session")
};

struct Fact {
  FactKind kind = FactKind::python;
  std::string value;
  Location where;
  Confidence confidence = Confidence::high;
  std::string detail;  // what it was read from ("cudatoolkit=10.1", "+cu111")
};

// A problem with the input: a malformed line, an include cycle, a file too big to read.
struct Diagnostic {
  Location where;
  std::string code;     // "parse_error", "include_cycle", "file_too_large", ...
  std::string message;  // lowercase, no final period
};

struct Spec {
  std::vector<Requirement> requirements;
  std::vector<Fact> facts;
  std::vector<Diagnostic> diagnostics;
  std::vector<std::string> files;  // files read, in order

  void add_fact(FactKind kind, std::string value, Location where, Confidence confidence,
                std::string detail = {});
  void diagnose(Location where, std::string code, std::string message);
};

// The path of `relative` as seen from the directory of `from_file`, normalised ("a/../b" -> "b").
std::string join_path(const std::string& from_file, std::string_view relative);

// Reads a file of the project by its path relative to the root. Errors become diagnostics.
using FileReader = std::function<core::Result<std::string>(const std::string& path)>;

}  // namespace furnace::deps

#pragma once
// The compatibility tables (data/compat/*.csv, compiled into the binary): PyTorch and TensorFlow
// builds with their CUDA, cuDNN, Python range, GPU architectures and images; CUDA toolkits with
// their minimum drivers; GPU names with their compute capability. Every row keeps its source, and
// a trailing '?' in a cell ("inferred or weakly sourced") becomes `unverified`.

#include <furnace/core/error.hpp>
#include <furnace/deps/pep440.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace furnace::resolve {

struct Cell {
  std::string value; // without the '?'
  bool unverified = false;

  bool empty() const { return value.empty(); }
};

// One token of an architecture list: sm_86 (SASS for 8.6), compute_37 (PTX for 3.7), sm_90a.
struct Arch {
  int major = 0;
  int minor = 0;
  bool ptx = false;
  char suffix = 0; // 'a' (arch-specific, exact match only), 'f' (family), 0
  bool unverified = false;

  std::string str() const; // "sm_86", "compute_37"
};

struct ArchList {
  std::vector<Arch> items;
  bool unverified = false; // any token was marked '?'

  bool empty() const { return items.empty(); }
  std::string str() const; // "sm_37, sm_50, compute_37"
};

struct TorchRow {
  deps::Version version;
  std::string version_text; // "1.8.1"
  std::string cuda;         // "11.1" or "cpu"
  Cell cudnn;
  Cell python_min;
  Cell python_max;
  Cell torchvision;
  Cell torchaudio;
  ArchList sm_archs;
  std::vector<Cell> docker_tags; // "1.8.1-cuda11.1-cudnn8-devel", "…-runtime"
  ArchList docker_sm_archs;
  std::string pip_index; // "cu111", "lts/1.8/cu111"
  std::string source;
  std::string notes;
  int line = 0; // in torch.csv
};

struct TfRow {
  deps::Version version;
  std::string version_text;
  std::string cuda;
  Cell cudnn;
  Cell python_min;
  Cell python_max;
  std::vector<Cell> docker_tags;
  std::string pip_package;
  ArchList cuda_archs; // empty: unknown (TF 1.x)
  std::string notes;
  std::string source;
  int line = 0;
};

struct CudaRow {
  std::string cuda; // "11.8"
  deps::Version version;
  Cell min_driver;          // "520.61.05"; value "" with unverified when unknown ("?")
  Cell minor_compat_driver; // "450.80.02" from 11.0 on
  Cell sm_min;              // "sm_35"
  Cell sm_max;
  Cell image_example; // an nvidia/cuda tag
  std::string source;
  std::string notes;
  int line = 0;
};

struct GpuRow {
  std::string name; // "GeForce RTX 3090/3090 Ti"
  int cc_major = 0;
  int cc_minor = 0;
  std::string architecture;
  std::string segment; // datacenter, workstation, consumer, embedded
  std::string notes;
  std::string source;
  int line = 0;
};

// When a package release first appeared (releases.csv): dates a project by its pins and picks
// the newest framework release of the project's era.
struct ReleaseRow {
  std::string package; // PyPI name, normalised
  std::string version_text;
  deps::Version version;
  Cell date; // "2019-04-30"
  int line = 0;
};

// The Python an official framework image ships (images.csv).
struct ImageRow {
  std::string image;       // "pytorch/pytorch"
  std::string tag_pattern; // glob over the tag: "1.13.*", "1.14*-gpu-py3"
  Cell python;             // "3.10"
  std::string python_path; // "/opt/conda/bin/python"
  Cell os;
  std::string source;
  int line = 0;
};

// NVIDIA NGC framework containers (ngc.csv): release -> framework, CUDA, Python.
struct NgcRow {
  std::string image;   // "nvcr.io/nvidia/pytorch"
  std::string release; // "21.06", "21.06-tf1"
  std::string framework;
  Cell framework_version; // "1.9.0a0"
  Cell cuda;
  Cell cudnn;
  Cell python;
  Cell ubuntu;
  std::string notes;
  int line = 0;
};

// JAX builds (jax.csv): one row per jaxlib release and CUDA variant.
struct JaxRow {
  Cell jax;
  std::string jaxlib_text;
  deps::Version jaxlib;
  Cell date;
  std::string cuda; // "11.8", "12"
  Cell cudnn;
  Cell python_min;
  Cell python_max;
  std::vector<std::string> extras; // "cuda12", "cuda11_cudnn86"
  std::string pip_index;
  std::string notes;
  int line = 0;
};

struct Tables {
  std::vector<TorchRow> torch;
  std::vector<TfRow> tensorflow;
  std::vector<CudaRow> cuda;
  std::vector<GpuRow> gpus;
  std::vector<ReleaseRow> releases; // sorted by package, then version
  std::vector<ImageRow> images;
  std::vector<NgcRow> ngc;
  std::vector<JaxRow> jax;

  // The release date of `package` `version` ("" when the table does not know it).
  const ReleaseRow* find_release(std::string_view package, const deps::Version& version) const;
  // The Python of an official image ("pytorch/pytorch", "1.13.1-cuda11.6-cudnn8-runtime").
  const ImageRow* find_image(std::string_view image, std::string_view tag) const;
  // An NGC release ("nvcr.io/nvidia/pytorch", "21.06-py3").
  const NgcRow* find_ngc(std::string_view image, std::string_view tag) const;

  const CudaRow* find_cuda(std::string_view version) const;
  // Finds a GPU by name ("H200", "NVIDIA GeForce RTX 3090", "Tesla V100-SXM2-32GB"); the longest
  // matching table name wins. nullptr when none matches.
  const GpuRow* find_gpu(std::string_view name) const;
};

// Parses the four CSV texts. Errors name the table and line of a malformed row.
core::Result<Tables> parse_tables(std::string_view torch_csv,
                                  std::string_view tensorflow_csv,
                                  std::string_view cuda_csv,
                                  std::string_view gpus_csv);

// Parses releases.csv, images.csv, ngc.csv and jax.csv into `tables`. Errors name the table and
// line of a malformed row.
core::Result<Tables> parse_more_tables(Tables tables,
                                       std::string_view releases_csv,
                                       std::string_view images_csv,
                                       std::string_view ngc_csv,
                                       std::string_view jax_csv);

// Whether `text` matches the glob `pattern` ('*' any run, '?' one character, [abc] a class).
bool glob_match(std::string_view pattern, std::string_view text);

// The tables compiled into the binary, parsed on first use.
const Tables& builtin_tables();

// The embedded text of data/compat/<name>.csv ("torch", "tensorflow", "cuda", "gpus").
std::string embedded_csv(std::string_view name);

// Splits a CSV text into rows of fields (RFC 4180 quoting); row 0 is the header.
std::vector<std::vector<std::string>> parse_csv(std::string_view text);

// "sm_35;sm_50;compute_50?" -> ArchList. Unknown tokens are skipped.
ArchList parse_arch_list(std::string_view text);

Cell make_cell(std::string_view text);

} // namespace furnace::resolve

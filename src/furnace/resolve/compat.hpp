#pragma once
// The compatibility tables (data/compat/*.csv, compiled into the binary): PyTorch and TensorFlow
// builds with their CUDA, cuDNN, Python range, GPU architectures and images; CUDA toolkits with
// their minimum drivers; GPU names with their compute capability. Every row keeps its source, and
// a trailing '?' in a cell ("inferred or weakly sourced") becomes `unverified`.

#include <furnace/core/error.hpp>
#include <furnace/spec/pep440.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace furnace::resolve {

struct Cell {
  std::string value;  // without the '?'
  bool unverified = false;

  bool empty() const { return value.empty(); }
};

// One token of an architecture list: sm_86 (SASS for 8.6), compute_37 (PTX for 3.7), sm_90a.
struct Arch {
  int major = 0;
  int minor = 0;
  bool ptx = false;
  char suffix = 0;  // 'a' (arch-specific, exact match only), 'f' (family), 0
  bool unverified = false;

  std::string str() const;  // "sm_86", "compute_37"
};

struct ArchList {
  std::vector<Arch> items;
  bool unverified = false;  // any token was marked '?'

  bool empty() const { return items.empty(); }
  std::string str() const;  // "sm_37, sm_50, compute_37"
};

struct TorchRow {
  spec::Version version;
  std::string version_text;  // "1.8.1"
  std::string cuda;          // "11.1" or "cpu"
  Cell cudnn;
  Cell python_min;
  Cell python_max;
  Cell torchvision;
  Cell torchaudio;
  ArchList sm_archs;
  std::vector<Cell> docker_tags;  // "1.8.1-cuda11.1-cudnn8-devel", "…-runtime"
  ArchList docker_sm_archs;
  std::string pip_index;  // "cu111", "lts/1.8/cu111"
  std::string source;
  std::string notes;
  int line = 0;  // in torch.csv
};

struct TfRow {
  spec::Version version;
  std::string version_text;
  std::string cuda;
  Cell cudnn;
  Cell python_min;
  Cell python_max;
  std::vector<Cell> docker_tags;
  std::string pip_package;
  ArchList cuda_archs;  // empty: unknown (TF 1.x)
  std::string notes;
  std::string source;
  int line = 0;
};

struct CudaRow {
  std::string cuda;  // "11.8"
  spec::Version version;
  Cell min_driver;           // "520.61.05"; value "" with unverified when unknown ("?")
  Cell minor_compat_driver;  // "450.80.02" from 11.0 on
  Cell sm_min;               // "sm_35"
  Cell sm_max;
  Cell image_example;  // an nvidia/cuda tag
  std::string source;
  std::string notes;
  int line = 0;
};

struct GpuRow {
  std::string name;  // "GeForce RTX 3090/3090 Ti"
  int cc_major = 0;
  int cc_minor = 0;
  std::string architecture;
  std::string segment;  // datacenter, workstation, consumer, embedded
  std::string notes;
  std::string source;
  int line = 0;
};

struct Tables {
  std::vector<TorchRow> torch;
  std::vector<TfRow> tensorflow;
  std::vector<CudaRow> cuda;
  std::vector<GpuRow> gpus;

  const CudaRow* find_cuda(std::string_view version) const;
  // Finds a GPU by name ("H200", "NVIDIA GeForce RTX 3090", "Tesla V100-SXM2-32GB"); the longest
  // matching table name wins. nullptr when none matches.
  const GpuRow* find_gpu(std::string_view name) const;
};

// Parses the four CSV texts. Errors name the table and line of a malformed row.
core::Result<Tables> parse_tables(std::string_view torch_csv, std::string_view tensorflow_csv,
                                  std::string_view cuda_csv, std::string_view gpus_csv);

// The tables compiled into the binary, parsed on first use.
const Tables& builtin_tables();

// The embedded text of data/compat/<name>.csv ("torch", "tensorflow", "cuda", "gpus").
std::string embedded_csv(std::string_view name);

// Splits a CSV text into rows of fields (RFC 4180 quoting); row 0 is the header.
std::vector<std::vector<std::string>> parse_csv(std::string_view text);

// "sm_35;sm_50;compute_50?" -> ArchList. Unknown tokens are skipped.
ArchList parse_arch_list(std::string_view text);

Cell make_cell(std::string_view text);

}  // namespace furnace::resolve

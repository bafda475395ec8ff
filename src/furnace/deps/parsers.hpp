#pragma once
// The parsers, one per kind of file. Each is pure: it reads the text it is given (and, for
// includes, files through `read`), appends what it finds to `spec` with file:line, and records
// what it cannot read as a diagnostic instead of stopping. None executes project code.

#include <furnace/deps/spec.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace furnace::deps {

// One line of a file, without its "\n" or "\r\n", and its 1-based number.
struct Line {
  std::string_view text;
  int number;
};

// The lines of `text` (views into it); a final newline starts no extra line.
std::vector<Line> lines_of(std::string_view text);

// requirements*.txt and constraints files: -r/-c includes (cycles reported), markers, extras,
// --index-url/--extra-index-url/-f lines, local versions, VCS and URL requirements, comments,
// backslash continuations, per-line options (--hash).
void parse_requirements_txt(std::string_view text, const std::string& file, const FileReader& read,
                            Spec& spec, Confidence confidence = Confidence::high);

// conda environment.yml / conda.yaml: channels, dependencies (conda specs), the pip: subsection.
void parse_environment_yml(std::string_view text, const std::string& file, const FileReader& read,
                           Spec& spec);

// setup.py by static extraction: install_requires / extras_require / python_requires, literal
// lists or names bound to literal lists earlier in the file. Never executed.
void parse_setup_py(std::string_view text, const std::string& file, Spec& spec);

// setup.cfg: [options] install_requires, python_requires, [options.extras_require].
void parse_setup_cfg(std::string_view text, const std::string& file, Spec& spec);

// pyproject.toml: [project] dependencies, optional-dependencies, requires-python;
// [tool.poetry] dependencies and groups; [dependency-groups]; uv indexes and sources.
void parse_pyproject(std::string_view text, const std::string& file, Spec& spec);

// Pipfile: [packages], [dev-packages], [requires] python_version, [[source]].
void parse_pipfile(std::string_view text, const std::string& file, Spec& spec);

// Dockerfile: FROM lines with ARG substitution, and pip/conda install lines in RUN.
void parse_dockerfile(std::string_view text, const std::string& file, Spec& spec);

// runtime.txt ("python-3.7.9") and .python-version ("3.8.10").
void parse_python_version_file(std::string_view text, const std::string& file, Spec& spec);

// README/INSTALL: install commands ("pip install torch==1.4", "conda install pytorch=1.4
// cudatoolkit=10.0"), version statements in prose ("tested with TensorFlow 1.14", "- PyTorch 1.0",
// "Python 3.6+") and dates (arXiv ids, "CVPR 2019", bibtex years), as medium-confidence evidence.
void parse_readme(std::string_view text, const std::string& file, Spec& spec);

// Python sources: which frameworks the code imports, and API calls that only exist in some
// releases (tf.Session: TensorFlow < 2; torch.compile: torch >= 2.0; print statements: Python 2).
void parse_python_source(std::string_view text, const std::string& file, Spec& spec);

// The install commands in a shell line ("pip install …", "python -m pip install …", "conda
// install …", "conda create -n x python=3.6", "mamba install …"), separated by && ; |.
void install_commands(std::string_view line, const Location& where, Confidence confidence,
                      const std::string& origin, Spec& spec);

// setup.py, setup.cfg, pyproject.toml: the Python the authors tested, from trove classifiers
// ("Programming Language :: Python :: 3.6" .. "3.8") and `sys.version_info` checks, as
// medium-confidence evidence.
void parse_python_hints(std::string_view text, const std::string& file, Spec& spec);

// Extracts requirements from the arguments of one "pip install …" or "conda install …" command
// (`tool` is "pip" or "conda").
void parse_install_command(std::string_view args, const std::string& tool, const Location& where,
                           Confidence confidence, const std::string& origin, Spec& spec);

}  // namespace furnace::deps

#pragma once
// A project on disk -> Spec. Finding and reading the files is the edge (list_project_files,
// disk_reader); parse_project is pure and takes any reader, so tests and the fuzzers use
// in-memory files.

#include <furnace/deps/spec.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::deps {

enum class FileKind {
  requirements,
  conda,
  setup_py,
  setup_cfg,
  pyproject,
  pipfile,
  dockerfile,
  python_version,
  readme,
  shell,  // install.sh, scripts/setup.sh: pip/conda install lines
  python_source,
  none,
};

// Which parser a project-relative path calls for ("requirements/dev.txt" -> requirements).
FileKind classify(std::string_view relative_path);

// Parses `files` (relative paths, in order) read through `read`. Unreadable files and malformed
// content become diagnostics; the rest is still used.
Spec parse_project(const std::vector<std::string>& files, const FileReader& read);

// The files under `root` worth reading: dependency files at the root and in a few usual
// sub-directories, Dockerfiles, and Python sources a few levels deep (bounded). `dirs`, when
// given, receives every directory the walk listed (`root` itself first, then relative paths):
// adding, removing or renaming a file under the project changes one of them.
std::vector<std::string> list_project_files(const std::string& root,
                                            std::vector<std::string>* dirs = nullptr);

// The date of the HEAD commit when `root` is a git checkout (runs `git log -1`, bounded to 3 s):
// when the project was last worked on. nullopt without .git or git.
std::optional<Fact> git_commit_date(const std::string& root);

// Reads files under `root`: at most `max_bytes`; binary files (NUL bytes) are refused.
FileReader disk_reader(const std::string& root, std::size_t max_bytes = 4U << 20U);

}  // namespace furnace::deps

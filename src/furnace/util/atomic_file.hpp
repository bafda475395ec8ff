#pragma once
// Writing a file so that a crash leaves the old or the new content, never a mix: a temporary file
// in the same directory, fsync, rename over the target, fsync the directory. Mode and owner are
// chosen by the caller (a system file keeps its own).

#include <furnace/util/process.hpp>

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace furnace::util {

struct AtomicWriteOptions {
  mode_t mode = 0644;         // applied to the temporary file before the rename
  // chown when set (a backup keeps the original's owner); when neither is set, a root process
  // writing into a directory someone else owns gives the file to them (util/ownership.hpp)
  std::optional<uid_t> owner;
  std::optional<gid_t> group;
  // Called at "after-temp-write" (temp synced, not yet renamed) and "after-rename" (renamed, the
  // directory not yet synced); tests use it to crash there.
  std::function<void(std::string_view stage)> hook;
  // Called last before the rename (the temporary file written and synced): a reason returned
  // stops the write (the temporary file removed, `path` untouched, that reason the error).
  std::function<std::optional<std::string>()> before_rename;
};

// Writes `content` to `path` atomically. Errors: the failing call and errno ("cannot rename …:
// Operation not permitted"); the temporary file is removed and `path` is untouched.
Expected<void, SysError> write_file_atomic(const std::string& path,
                                           std::string_view content,
                                           const AtomicWriteOptions& options = {});

// The prefix of the temporary files write_file_atomic makes for `path` (".NAME.furnace-tmp-").
std::string atomic_temp_prefix(const std::string& path);

// Removes temporary files a crashed write left next to `path`; returns how many.
int remove_stale_temps(const std::string& path);

// Reads a whole file. Errors: errno of open/read.
Expected<std::string, SysError> read_file(const std::string& path);

} // namespace furnace::util

#pragma once
// Files furnace writes for a user belong to that user, also under sudo. The rule: when furnace
// runs as root and creates an entry in a directory that belongs to someone else (a user's
// project, home, cache or data directory), the entry gets that directory's owner and group.
// Directories root owns (/etc, /run, /var) are left alone, and a process that is not root never
// changes an owner. This covers `sudo furnace build` in a project and `sudo -E furnace run`
// with the caller's HOME, without trusting SUDO_UID for where the files go.

#include <sys/types.h>

#include <optional>
#include <string>
#include <system_error>

namespace furnace::util {

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The owner new entries of `dir` should get: nullopt when this process is not root, when `dir`
// belongs to root, or when it cannot be read.
std::optional<Owner> owner_for_entries_of(const std::string& dir);

// Gives `path` (already created, by furnace or by a library such as SQLite) to the owner of its
// directory, by the rule above. A symlink is never followed. Returns false only when a chown that
// should have happened failed.
bool give_to_directory_owner(const std::string& path);

// The same for an open descriptor of a file in `dir` (before it is renamed into place).
bool give_fd_to_directory_owner(int fd, const std::string& dir);

// Gives `path` and everything under it that root owns to the owner of `path`'s directory, by
// the rule above: for what another program made under a user's home while furnace ran it as
// root (the docker CLI's ~/.docker). Symlinks are not followed.
void give_tree_to_directory_owner(const std::string& path);

// std::filesystem::create_directories, where each directory it creates is given to the owner of
// the one above it. Existing directories are not touched.
bool make_directories(const std::string& path, std::error_code& ec);

} // namespace furnace::util

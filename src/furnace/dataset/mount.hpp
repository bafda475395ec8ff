#pragma once
// Mounting a remote dataset on the host: the exact mount.cifs / mount.nfs command (the password
// only in the credentials file), the TCP reachability check that runs first, whether something
// is mounted, a stale-mount check that cannot hang the caller, and the sudo rule that lets users
// mount the lab's datasets and nothing else.

#include <furnace/core/context.hpp>
#include <furnace/dataset/store.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace furnace::dataset {

// Where a remote dataset is mounted on the host: ROOT/NAME.
std::string mount_point(const std::string& root, const Dataset& d);

struct MountIds {
  unsigned uid = 0;
  unsigned gid = 0;
};

// The -o list, in this order. CIFS: ro|rw, credentials=FILE, uid, gid, file_mode, dir_mode
// (0444/0555 read-only; read-write 0644/0755 for the caller's, 0666/0777 for the lab's),
// vers (the --options one, else "default": the highest both sides speak), soft, nosuid, nodev,
// then the other --options. NFS: ro|rw, soft, timeo=50 (5 s), retrans=2, nosuid, nodev, then
// --options. Never a password.
std::vector<std::string>
mount_options(const Dataset& d, const std::string& credentials_file, MountIds ids);

// {"mount.cifs", "//nas/share", TARGET, "-o", "ro,credentials=…"} or the mount.nfs one.
std::vector<std::string>
mount_argv(const Dataset& d, const std::string& target, const std::vector<std::string>& options);

// The package that has the mount helper ("cifs-utils", "nfs-common").
const char* helper_package(Kind kind);

// Whether the running kernel has the file system (registered, or its module on disk).
bool kernel_has(Kind kind);

// A TCP connect to HOST:PORT that gives up after `timeout`. Errors (unavailable) name the
// dataset, the address and what to check.
core::Result<void> check_reachable(const std::string& name,
                                   const std::string& host,
                                   unsigned port,
                                   std::chrono::milliseconds timeout);

// Whether `target` is a mount point (/proc/self/mountinfo).
bool is_mounted(const std::string& target);

// Whether stat(`path`) returns within `timeout`, run in a child process: a dead NAS's stale
// mount blocks that child, never the caller (it is killed and left behind).
bool answers_within(const std::string& path, std::chrono::milliseconds timeout);

// Mounts `d` (found in `scope`) at mount_point(root, d) unless it is mounted there already
// (and answers), as root: the reachability check, the helper's presence, the credentials file's
// mode and owner, then the helper with a bare environment. Errors name what to install (the
// helper, a kernel without CIFS/NFS), the unreachable NAS, the refused credentials file, or the
// helper's own message (which never holds the password). Returns the mount point.
core::Result<std::string>
mount_dataset(core::Context& ctx, const Dataset& d, const Scope& scope, const std::string& root);

// Unmounts it (umount TARGET; the mount point directory is removed when empty).
core::Result<void> umount_dataset(core::Context& ctx, const Dataset& d, const std::string& root);

// The sudoers rule that lets every user run exactly `FURNACE dataset mount NAME` as root for
// each of the lab's datasets (no other arguments, no options, no other command).
std::string sudo_rule_text(const std::string& furnace_path, const std::vector<std::string>& names);

// Writes the rule to /etc/sudoers.d/furnace-datasets (under ctx.host_root): checked with
// `visudo -cf` when visudo is there, mode 0440, atomically. Errors: not root, a furnace path
// sudoers cannot name, visudo's complaint.
core::Result<std::string> install_sudo_rule(core::Context& ctx, const std::string& furnace_path);

// The sudo rule file's path.
std::string sudo_rule_path(const std::string& host_root);

} // namespace furnace::dataset

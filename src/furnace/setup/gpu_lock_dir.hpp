#pragma once
// The shared GPU lock directory, as `furnace setup` prepares it: /run/furnace/gpu, root-owned with
// the group `furnace` (else `docker`: the users who can start containers) and mode 3770, and an
// /etc/tmpfiles.d entry that makes it again at every boot (/run is emptied on reboot). The rules
// a lock directory must follow are gpu/gpu_lock.hpp's.

#include <furnace/core/error.hpp>
#include <furnace/host/system_file.hpp>
#include <furnace/setup/host_steps.hpp>

#include <string>
#include <vector>

namespace furnace::setup {

// "/etc/tmpfiles.d/furnace.conf".
constexpr const char* k_tmpfiles_conf = "/etc/tmpfiles.d/furnace.conf";

// The tmpfiles.d line for the lock directory with group `group` ("" for none: root only).
std::string tmpfiles_line(const std::string& group);

// Makes /run/furnace/gpu under `paths` and writes the tmpfiles.d entry, each when missing or
// different; a root-owned directory with another group or mode is given the right ones, and then
// its lock files are tidied: one nobody should trust (another name, a link, writable by everyone,
// owned outside root and the group) is removed, root's own get the group's mode. With DryRun::yes,
// changes nothing. Returns one line per change (done or, in a dry run, to do); none when all was in
// place. Errors: a directory furnace must not take over (another owner, a symbolic link:
// gpu::check_lock_dir's message and fix), io.
core::Result<std::vector<std::string>> prepare_gpu_lock_dir(const host::Paths& paths,
                                                            DryRun dry_run);

} // namespace furnace::setup

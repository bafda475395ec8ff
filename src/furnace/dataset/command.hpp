#pragma once
// `furnace dataset add|ls|rm|mount|umount|check` and what a run needs: the datasets a project
// names, mounted (on demand, after a fast reachability check) and ready to bind at
// /datasets/NAME. See docs/dataset.md.

#include <furnace/core/context.hpp>

#include <istream>
#include <string>
#include <vector>

namespace furnace::dataset {

struct AddOptions {
  std::string name;
  std::string source;
  std::string user;
  std::string domain;
  std::string options;
  bool rw = false;
  bool system = false;
  bool password_stdin = false;
  std::string cwd;          // a relative local source is taken from here
  std::string furnace_path; // this binary (the sudo rule names it)
};
// Exit 0, 2 for bad input, 1 otherwise. The password comes from `in` with --password-stdin.
int run_add(core::Context& ctx, const AddOptions& o, std::istream& in);

struct LsOptions {
  bool json = false;
};
int run_ls(core::Context& ctx, const LsOptions& o);

struct NameOptions {
  std::string name;
  bool system = false; // rm: the lab's definition
  std::string furnace_path;
};
int run_rm(core::Context& ctx, const NameOptions& o);
// As root: mounts it. Under sudo from a user (SUDO_UID set): only a lab dataset, with the lab's
// options. As a user: a lab dataset through `sudo -n FURNACE dataset mount NAME`.
int run_mount(core::Context& ctx, const NameOptions& o);
int run_umount(core::Context& ctx, const NameOptions& o);
// Definition, reachability, mount helper, kernel, credentials, mount state: one line each.
int run_check(core::Context& ctx, const NameOptions& o);

// `furnace setup --dataset-sudo`: writes the sudo rule; exit code.
int run_install_sudo_rule(core::Context& ctx, const std::string& furnace_path);

struct RunMount {
  std::string source; // host path (a local dataset's directory, a remote one's mount point)
  std::string target; // /datasets/NAME
  bool read_only = true;
};

// The mounts for furnace.yaml's `datasets:`. Every remote dataset's NAS is checked with a TCP
// connect (3 s at most) before anything is mounted, so an unreachable NAS fails fast and no
// container is made; unmounted ones are then mounted (as root, or through the sudo rule for the
// lab's), mounted ones checked for staleness in a child process. `dry_run` mounts and checks
// nothing. Errors name the dataset and the fix.
core::Result<std::vector<RunMount>> mounts_for_run(core::Context& ctx,
                                                   const std::vector<std::string>& names,
                                                   bool dry_run,
                                                   const std::string& furnace_path);

// This binary's path (/proc/self/exe), for the sudo rule and the sudo call.
std::string self_path();

} // namespace furnace::dataset

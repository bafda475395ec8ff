#include "mount.hpp"

#include <furnace/dataset/credentials.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace furnace::dataset {

namespace {

namespace fs = std::filesystem;

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// A mountinfo field with its octal escapes (\040 for a space) undone.
std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct = s.substr(i + 1, 3);
      if (oct.size() == 3 &&
          std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>(std::stoi(oct, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

const char* helper_name(Kind kind) {
  return kind == Kind::nfs ? "mount.nfs" : "mount.cifs";
}

const char* fs_label(Kind kind) {
  return kind == Kind::nfs ? "NFS" : "CIFS";
}

std::string search_path(const core::Context& ctx) {
  return ctx.getenv("PATH").value_or("/usr/bin:/bin") + ":/usr/sbin:/sbin";
}

} // namespace

std::string mount_point(const std::string& root, const Dataset& d) {
  return (fs::path(root) / d.name).string();
}

std::vector<std::string>
mount_options(const Dataset& d, const std::string& credentials_file, MountIds ids) {
  std::vector<std::string> o{d.rw ? "rw" : "ro"};
  if (d.source.kind == Kind::nfs) {
    o.insert(o.end(), {"soft", "timeo=50", "retrans=2", "nosuid", "nodev"});
    o.insert(o.end(), d.options.begin(), d.options.end());
    return o;
  }
  const char* file_mode = !d.rw ? "0444" : d.system ? "0666" : "0644";
  const char* dir_mode = !d.rw ? "0555" : d.system ? "0777" : "0755";
  std::string vers = "vers=default";
  std::vector<std::string> rest;
  for (const std::string& opt : d.options) {
    if (starts_with(opt, "vers=")) {
      vers = opt;
    } else {
      rest.push_back(opt);
    }
  }
  o.push_back("credentials=" + credentials_file);
  o.push_back(fmt::format("uid={}", ids.uid));
  o.push_back(fmt::format("gid={}", ids.gid));
  o.push_back(fmt::format("file_mode={}", file_mode));
  o.push_back(fmt::format("dir_mode={}", dir_mode));
  o.push_back(vers);
  o.insert(o.end(), {"soft", "nosuid", "nodev"});
  o.insert(o.end(), rest.begin(), rest.end());
  return o;
}

std::vector<std::string>
mount_argv(const Dataset& d, const std::string& target, const std::vector<std::string>& options) {
  return {helper_name(d.source.kind),
          remote_spec(d.source),
          target,
          "-o",
          fmt::format("{}", fmt::join(options, ","))};
}

const char* helper_package(Kind kind) {
  return kind == Kind::nfs ? "nfs-common" : "cifs-utils";
}

bool kernel_has(Kind kind) {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    const std::string name(util::trim(line.substr(line.find('\t') + 1)));
    if ((kind == Kind::cifs && (name == "cifs" || name == "smb3")) ||
        (kind == Kind::nfs && (name == "nfs" || name == "nfs4"))) {
      return true;
    }
  }
  utsname u{};
  if (::uname(&u) != 0) {
    return false;
  }
  const fs::path mods = fs::path("/lib/modules") / u.release / "kernel" / "fs";
  const std::vector<fs::path> dirs =
      kind == Kind::nfs ? std::vector<fs::path>{mods / "nfs"}
                        : std::vector<fs::path>{mods / "smb" / "client", mods / "cifs"};
  std::error_code ec;
  for (const fs::path& dir : dirs) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string f = e.path().filename().string();
      if (starts_with(f, kind == Kind::nfs ? "nfs.ko" : "cifs.ko")) {
        return true;
      }
    }
  }
  return false;
}

core::Result<void> check_reachable(const std::string& name,
                                   const std::string& host,
                                   unsigned port,
                                   std::chrono::milliseconds timeout) {
  const std::string service = port == 2049 ? "NFS" : port == 445 ? "SMB" : "the share's";
  const std::string hint =
      fmt::format("check that the NAS is on and that this host reaches {} port {} (a firewall?); "
                  "'furnace dataset check {}' tries again",
                  host,
                  port,
                  name);
  addrinfo want{};
  want.ai_family = AF_UNSPEC;
  want.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &want, &res) != 0 ||
      res == nullptr) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("dataset '{}': the NAS host '{}' is not known", name, host),
                      hint);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why = "no answer";
  bool ok = false;
  for (addrinfo* a = res; a != nullptr && !ok; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLOUT, 0};
      if (left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        ok = err == 0;
        if (!ok) {
          why = std::strerror(err); // NOLINT(concurrency-mt-unsafe)
        }
      } else {
        why = fmt::format("no answer within {:.1f} s", static_cast<double>(timeout.count()) / 1000);
      }
    } else {
      why = std::strerror(errno); // NOLINT(concurrency-mt-unsafe)
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (!ok) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("dataset '{}': the NAS {}:{} ({} port) is unreachable: {}",
                                  name,
                                  host,
                                  port,
                                  service,
                                  why),
                      hint);
  }
  return {};
}

bool is_mounted(const std::string& target) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id;
    std::string parent;
    std::string dev;
    std::string root;
    std::string point;
    f >> id >> parent >> dev >> root >> point;
    if (unescape(point) == target) {
      return true;
    }
  }
  return false;
}

bool answers_within(const std::string& path, std::chrono::milliseconds timeout) {
  const pid_t pid = ::fork();
  if (pid < 0) {
    return false;
  }
  if (pid == 0) {
    struct stat st {};
    ::_exit(::stat(path.c_str(), &st) == 0 ? 0 : 1);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL); // a child in D state goes when the soft mount gives up; not waited for
  return false;
}

core::Result<std::string>
mount_dataset(core::Context& ctx, const Dataset& d, const Scope& scope, const std::string& root) {
  const std::string target = mount_point(root, d);
  if (is_mounted(target)) {
    if (!answers_within(target, std::chrono::seconds(2))) {
      return core::fail(
          core::ErrorKind::unavailable,
          fmt::format("dataset '{}': the mount at {} does not answer (stale: the "
                      "NAS went away)",
                      d.name,
                      target),
          fmt::format("'sudo umount -l {}', then run again (furnace mounts it anew)", target));
    }
    return target;
  }
  if (auto ok = check_reachable(
          d.name, d.source.host, remote_port(d.source, d.options), std::chrono::seconds(3));
      !ok) {
    return core::fail(ok.error());
  }
  const auto helper = util::find_in_path(helper_name(d.source.kind), search_path(ctx));
  if (!helper) {
    return core::fail(
        core::ErrorKind::unavailable,
        fmt::format("dataset '{}': {} is not installed", d.name, helper_name(d.source.kind)),
        fmt::format("'sudo apt-get install {}' (the {} mount helper)",
                    helper_package(d.source.kind),
                    fs_label(d.source.kind)));
  }
  if (::geteuid() != 0) {
    return core::fail(
        core::ErrorKind::permission,
        fmt::format("dataset '{}': mounting {} needs root", d.name, fs_label(d.source.kind)),
        d.system ? "'sudo furnace setup --dataset-sudo' lets every user mount the "
                   "lab's datasets"
                 : "ask the admin to add it for the lab ('sudo furnace dataset add "
                   "--system …'), or use a local path");
  }
  MountIds ids;
  std::string creds;
  if (d.source.kind == Kind::cifs) {
    creds = credentials_path(scope, d.name);
    if (auto ok = check_credentials(creds, credentials_owner(scope)); !ok) {
      return core::fail(ok.error());
    }
    if (!d.system) {
      struct stat st {};
      if (::stat(fs::path(scope.file).parent_path().c_str(), &st) == 0) {
        ids = MountIds{st.st_uid, st.st_gid};
      }
    }
  }
  std::error_code ec;
  const bool made = fs::create_directories(target, ec);
  if (ec) {
    return core::fail(core::ErrorKind::io,
                      fmt::format("cannot create the mount point {}: {}", target, ec.message()));
  }
  util::ProcessOptions po;
  po.timeout = std::chrono::seconds(30);
  po.env = std::map<std::string, std::string>{{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
  auto argv = mount_argv(d, target, mount_options(d, creds, ids));
  argv.front() = *helper;
  auto out = ctx.runner.run(argv, po);
  if (out && out->status.ok()) {
    return target;
  }
  if (made) {
    fs::remove(target, ec);
  }
  std::string said; // the helper's lines, on one line
  for (const std::string& l : util::split(out ? out->err + out->out : out.error().message, '\n')) {
    if (!util::trim(l).empty()) {
      said += (said.empty() ? "" : "; ") + std::string(util::trim(l));
    }
  }
  // The command itself (no secret in it) ends the message: what was tried, for the admin.
  said += fmt::format(" [ran: {}]", util::shell_join(argv));
  if (!kernel_has(d.source.kind)) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("dataset '{}': this kernel has no {} support ({} said: {})",
                                  d.name,
                                  fs_label(d.source.kind),
                                  helper_name(d.source.kind),
                                  said),
                      fmt::format("install the kernel's modules (Debian: the linux-image package "
                                  "of this kernel; Ubuntu: linux-modules-extra-$(uname -r)) and "
                                  "'sudo modprobe {}', or use a host whose kernel has {}",
                                  d.source.kind == Kind::nfs ? "nfs" : "cifs",
                                  fs_label(d.source.kind)));
  }
  return core::fail(core::ErrorKind::remote,
                    fmt::format("dataset '{}': {} {} failed: {}",
                                d.name,
                                helper_name(d.source.kind),
                                remote_spec(d.source),
                                said),
                    d.source.kind == Kind::cifs
                        ? "a wrong user or password: add the dataset again; an old NAS: "
                          "--options vers=2.0 (or 1.0)"
                        : "check that the export allows this host ('showmount -e HOST')");
}

core::Result<void> umount_dataset(core::Context& ctx, const Dataset& d, const std::string& root) {
  const std::string target = mount_point(root, d);
  if (!is_mounted(target)) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("dataset '{}' is not mounted ({})", d.name, target));
  }
  util::ProcessOptions po;
  po.timeout = std::chrono::seconds(20);
  auto out = ctx.runner.run({"umount", target}, po);
  if (!out || !out->status.ok()) {
    return core::fail(core::ErrorKind::io,
                      fmt::format("umount {} failed: {}",
                                  target,
                                  out ? std::string(util::trim(out->err)) : out.error().message),
                      fmt::format("a run still uses it ('furnace ps'); a dead NAS: 'sudo umount "
                                  "-l {}'",
                                  target));
  }
  std::error_code ec;
  fs::remove(target, ec);
  return {};
}

std::string sudo_rule_path(const std::string& host_root) {
  return (fs::path(host_root.empty() ? "/" : host_root) / "etc/sudoers.d/furnace-datasets")
      .string();
}

std::string sudo_rule_text(const std::string& furnace_path, const std::vector<std::string>& names) {
  std::string t = "# Written by 'furnace setup --dataset-sudo' from /etc/furnace/datasets.yaml:\n"
                  "# every user may mount the lab's datasets, one command per dataset, no other\n"
                  "# arguments. Run it again after 'furnace dataset add/rm --system'.\n";
  if (names.empty()) {
    return t + "# (no lab datasets yet)\n";
  }
  std::vector<std::string> cmds;
  for (const std::string& n : names) {
    cmds.push_back(fmt::format("{} dataset mount {}", furnace_path, n));
  }
  return t + fmt::format("ALL ALL=(root) NOPASSWD: {}\n", fmt::join(cmds, ", "));
}

core::Result<std::string> install_sudo_rule(core::Context& ctx, const std::string& furnace_path) {
  if (::geteuid() != 0) {
    return core::fail(core::ErrorKind::permission,
                      "installing the sudo rule needs root",
                      "'sudo furnace setup --dataset-sudo'");
  }
  const bool plain = !furnace_path.empty() && furnace_path.front() == '/' &&
                     std::all_of(furnace_path.begin(), furnace_path.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' ||
                              c == '.' || c == '_' || c == '-';
                     });
  if (!plain) {
    return core::fail(
        core::ErrorKind::invalid,
        fmt::format("furnace's path '{}' cannot be named in a sudoers rule", furnace_path),
        "install furnace under a plain path such as /usr/bin/furnace");
  }
  auto list = load_datasets(system_scope(ctx.host_root));
  if (!list) {
    return core::fail(list.error());
  }
  std::vector<std::string> names;
  for (const Dataset& d : *list) {
    names.push_back(d.name);
  }
  std::sort(names.begin(), names.end());
  const std::string path = sudo_rule_path(ctx.host_root);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const auto visudo = util::find_in_path("visudo", search_path(ctx));
  std::string complaint;
  util::AtomicWriteOptions w;
  w.mode = 0440;
  w.owner = 0;
  w.group = 0;
  w.before_rename = [&]() -> std::optional<std::string> {
    if (!visudo) {
      return std::nullopt;
    }
    // The temporary file is the only one named ".furnace-datasets.furnace-tmp-*" there.
    for (const auto& e : fs::directory_iterator(fs::path(path).parent_path(), ec)) {
      const std::string f = e.path().filename().string();
      if (starts_with(f, fs::path(util::atomic_temp_prefix(path)).filename().string())) {
        auto out = ctx.runner.run({*visudo, "-cf", e.path().string()}, {});
        if (!out || !out->status.ok()) {
          complaint = out ? std::string(util::trim(out->out + out->err)) : out.error().message;
          return "visudo refused the rule: " + complaint;
        }
      }
    }
    return std::nullopt;
  };
  if (auto ok = util::write_file_atomic(path, sudo_rule_text(furnace_path, names), w); !ok) {
    return core::fail(core::ErrorKind::invalid, ok.error().message);
  }
  return path;
}

} // namespace furnace::dataset

#include "command.hpp"

#include <furnace/dataset/credentials.hpp>
#include <furnace/dataset/mount.hpp>
#include <furnace/dataset/store.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace furnace::dataset {

namespace {

namespace fs = std::filesystem;

int report(core::Ui& ui, const core::Error& e) {
  ui.error(e);
  return e.kind == core::ErrorKind::usage ? 2 : 1;
}

// `sudo furnace dataset …` from a user: only the lab's datasets count.
bool via_sudo(const core::Context& ctx) {
  const auto uid = ctx.getenv("SUDO_UID");
  return ::geteuid() == 0 && uid && !uid->empty() && *uid != "0";
}

core::Result<void> check_add(const AddOptions& o, const Source& s) {
  const auto usage = [](std::string m, std::string h = {}) {
    return core::fail(core::ErrorKind::usage, std::move(m), std::move(h));
  };
  if (o.system && ::geteuid() != 0) {
    return usage("--system datasets are the lab's: only root adds them",
                 "'sudo furnace dataset add --system …', or leave out --system for your own");
  }
  if (s.kind == Kind::local) {
    if (!o.user.empty() || !o.domain.empty() || !o.options.empty() || o.password_stdin) {
      return usage("--user, --domain, --options and --password-stdin are for cifs:// and nfs:// "
                   "sources, not a local directory");
    }
    std::error_code ec;
    if (!fs::is_directory(s.path, ec)) {
      return core::fail(core::ErrorKind::not_found,
                        fmt::format("'{}' is not a directory", s.path),
                        "give an existing directory");
    }
    return {};
  }
  if (s.kind == Kind::cifs && o.user.empty()) {
    return usage(fmt::format("a CIFS share needs a user: --user NAME (the password is asked for)"),
                 "e.g. 'furnace dataset add imagenet cifs://nas/data --user alice'");
  }
  if (s.kind == Kind::nfs && (!o.user.empty() || !o.domain.empty() || o.password_stdin)) {
    return usage("--user, --domain and --password-stdin are for CIFS shares, not NFS");
  }
  if (o.user.find_first_of(",=\n\r\t ") != std::string::npos ||
      o.domain.find_first_of(",=\n\r\t ") != std::string::npos) {
    return usage("--user and --domain cannot have spaces, ',', '=' or line breaks");
  }
  return {};
}

// Refuses a name that is taken in either scope.
core::Result<void> check_free(const core::Context& ctx, const std::string& name) {
  for (const Scope& s : {user_scope(ctx.env), system_scope(ctx.host_root)}) {
    auto list = load_datasets(s);
    if (!list) {
      return core::fail(list.error());
    }
    if (std::any_of(list->begin(), list->end(), [&](const Dataset& d) { return d.name == name; })) {
      return core::fail(core::ErrorKind::usage,
                        fmt::format("a dataset '{}' exists already ({})", name, s.file),
                        fmt::format("'furnace dataset rm {}{}' first, or choose another name",
                                    name,
                                    s.system ? " --system" : ""));
    }
  }
  return {};
}

// The password into the credentials file: from stdin, the prompt, or an existing file (checked).
core::Result<void>
store_password(core::Context& ctx, const AddOptions& o, const Scope& scope, std::istream& in) {
  const std::string path = credentials_path(scope, o.name);
  std::error_code ec;
  if (!o.password_stdin && fs::exists(fs::symlink_status(path, ec))) {
    if (auto ok = check_credentials(path, credentials_owner(scope)); !ok) {
      return ok;
    }
    ctx.ui.info(fmt::format("using the existing credentials file {}", path));
    return {};
  }
  auto pw =
      read_password(o.password_stdin, in, fmt::format("password for {} on {}: ", o.user, o.source));
  if (!pw) {
    return core::fail(pw.error());
  }
  return write_credentials(scope, o.name, credentials_text(o.user, *pw, o.domain));
}

// Keeps an installed sudo rule in step with the lab's datasets.
void refresh_sudo_rule(core::Context& ctx, const std::string& furnace_path) {
  std::error_code ec;
  if (::geteuid() == 0 && fs::exists(sudo_rule_path(ctx.host_root), ec)) {
    if (auto ok = install_sudo_rule(ctx, furnace_path); !ok) {
      ctx.ui.warn(ok.error().message, ok.error().hint);
    }
  }
}

std::string human(unsigned long long bytes) {
  const char* units[] = {"B", "K", "M", "G", "T", "P"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{}B", bytes) : fmt::format("{:.1f}{}", v, units[u]);
}

struct Row {
  Dataset d;
  std::string mounted;   // "yes", "no", "stale", "-" (local)
  std::string reachable; // "yes", "no", "-" (local)
  std::string where;     // the host path a run binds
  unsigned long long used = 0;
  unsigned long long total = 0;
};

Row inspect_row(const Dataset& d, const std::string& root) {
  Row r;
  r.d = d;
  const bool local = d.source.kind == Kind::local;
  r.where = local ? d.source.path : mount_point(root, d);
  r.reachable = local ? "-"
                : check_reachable(d.name,
                                  d.source.host,
                                  remote_port(d.source, d.options),
                                  std::chrono::milliseconds(1500))
                    ? "yes"
                    : "no";
  bool answers = false;
  if (local) {
    r.mounted = "-";
    answers = answers_within(r.where, std::chrono::seconds(2));
  } else if (is_mounted(r.where)) {
    answers = answers_within(r.where, std::chrono::seconds(2));
    r.mounted = answers ? "yes" : "stale";
  } else {
    r.mounted = "no";
  }
  struct statvfs v {};
  if (answers && ::statvfs(r.where.c_str(), &v) == 0) {
    r.total = static_cast<unsigned long long>(v.f_blocks) * v.f_frsize;
    r.used = static_cast<unsigned long long>(v.f_blocks - v.f_bfree) * v.f_frsize;
  }
  return r;
}

} // namespace

std::string self_path() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("furnace") : p.string();
}

int run_add(core::Context& ctx, const AddOptions& o, std::istream& in) {
  if (auto ok = check_name(o.name); !ok) {
    return report(ctx.ui, ok.error());
  }
  auto src = parse_source(o.source, o.cwd);
  if (!src) {
    return report(ctx.ui, src.error());
  }
  auto opts = parse_options(o.options);
  if (!opts) {
    return report(ctx.ui, opts.error());
  }
  if (auto ok = check_add(o, *src); !ok) {
    return report(ctx.ui, ok.error());
  }
  if (src->kind == Kind::local) {
    std::error_code ec;
    src->path = fs::canonical(src->path, ec).string(); // what `docker inspect` will show
    if (src->path == "/") {
      return report(ctx.ui,
                    core::make_error(core::ErrorKind::usage,
                                     "a dataset cannot be the whole file system (/)"));
    }
  }
  if (auto ok = check_free(ctx, o.name); !ok) {
    return report(ctx.ui, ok.error());
  }
  const Scope scope = o.system ? system_scope(ctx.host_root) : user_scope(ctx.env);
  auto list = load_datasets(scope);
  if (!list) {
    return report(ctx.ui, list.error());
  }
  Dataset d;
  d.name = o.name;
  d.source = *src;
  d.user = o.user;
  d.domain = o.domain;
  d.options = *opts;
  d.rw = o.rw;
  d.system = o.system;
  if (d.source.kind == Kind::cifs) {
    if (auto ok = store_password(ctx, o, scope, in); !ok) {
      return report(ctx.ui, ok.error());
    }
  }
  list->push_back(d);
  if (auto ok = save_datasets(scope, *list); !ok) {
    return report(ctx.ui, ok.error());
  }
  if (o.system) {
    refresh_sudo_rule(ctx, o.furnace_path);
  }
  ctx.ui.out() << fmt::format("added {}dataset {} ({}), {} in runs at /datasets/{}\n",
                              o.system ? "the lab's " : "",
                              d.name,
                              source_text(d.source),
                              d.rw ? "read-write" : "read-only",
                              d.name);
  ctx.ui.info(fmt::format("use it in a project: 'datasets: [{}]' in furnace.yaml", d.name));
  return 0;
}

int run_ls(core::Context& ctx, const LsOptions& o) {
  auto root = mount_root(ctx.host_root);
  if (!root) {
    return report(ctx.ui, root.error());
  }
  std::vector<Row> rows;
  for (const Scope& s : {user_scope(ctx.env), system_scope(ctx.host_root)}) {
    auto list = load_datasets(s);
    if (!list) {
      return report(ctx.ui, list.error());
    }
    for (const Dataset& d : *list) {
      rows.push_back(inspect_row(d, *root));
    }
  }
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows) {
      out.push_back(
          {{"name", r.d.name},
           {"scope", r.d.system ? "system" : "user"},
           {"source", source_text(r.d.source)},
           {"kind",
            r.d.source.kind == Kind::local  ? "local"
            : r.d.source.kind == Kind::cifs ? "cifs"
                                            : "nfs"},
           {"rw", r.d.rw},
           {"host_path", r.where},
           {"mounted",
            r.mounted == "-" ? nlohmann::json(nullptr) : nlohmann::json(r.mounted == "yes")},
           {"stale", r.mounted == "stale"},
           {"reachable",
            r.reachable == "-" ? nlohmann::json(nullptr) : nlohmann::json(r.reachable == "yes")},
           {"used_bytes", r.used},
           {"total_bytes", r.total}});
    }
    ctx.ui.out() << out.dump(2) << '\n';
    return 0;
  }
  if (rows.empty()) {
    ctx.ui.info("no datasets yet: 'furnace dataset add NAME SOURCE'");
    return 0;
  }
  ctx.ui.out() << fmt::format("{:<16} {:<6} {:<3} {:<7} {:<9} {:<15} {}\n",
                              "NAME",
                              "SCOPE",
                              "RW",
                              "MOUNTED",
                              "REACHABLE",
                              "USED/TOTAL",
                              "SOURCE");
  for (const Row& r : rows) {
    ctx.ui.out() << fmt::format("{:<16} {:<6} {:<3} {:<7} {:<9} {:<15} {}\n",
                                r.d.name,
                                r.d.system ? "lab" : "user",
                                r.d.rw ? "rw" : "ro",
                                r.mounted,
                                r.reachable,
                                r.total == 0 ? std::string("-")
                                             : human(r.used) + "/" + human(r.total),
                                source_text(r.d.source));
  }
  return 0;
}

int run_rm(core::Context& ctx, const NameOptions& o) {
  if (o.system && ::geteuid() != 0) {
    return report(ctx.ui,
                  core::make_error(core::ErrorKind::permission,
                                   "the lab's datasets are root's",
                                   "'sudo furnace dataset rm --system NAME'"));
  }
  const Scope scope = o.system ? system_scope(ctx.host_root) : user_scope(ctx.env);
  auto list = load_datasets(scope);
  if (!list) {
    return report(ctx.ui, list.error());
  }
  const auto it =
      std::find_if(list->begin(), list->end(), [&](const Dataset& d) { return d.name == o.name; });
  if (it == list->end()) {
    return report(ctx.ui,
                  core::make_error(core::ErrorKind::not_found,
                                   fmt::format("no dataset '{}' in {}", o.name, scope.file),
                                   o.system ? "" : "the lab's are removed with --system"));
  }
  auto root = mount_root(ctx.host_root);
  if (root && it->source.kind != Kind::local && is_mounted(mount_point(*root, *it))) {
    return report(ctx.ui,
                  core::make_error(
                      core::ErrorKind::usage,
                      fmt::format("dataset '{}' is mounted at {}", o.name, mount_point(*root, *it)),
                      fmt::format("'furnace dataset umount {}' first", o.name)));
  }
  list->erase(it);
  if (auto ok = save_datasets(scope, *list); !ok) {
    return report(ctx.ui, ok.error());
  }
  std::error_code ec;
  fs::remove(credentials_path(scope, o.name), ec);
  if (o.system) {
    refresh_sudo_rule(ctx, o.furnace_path);
  }
  ctx.ui.out() << fmt::format("removed dataset {}\n", o.name);
  return 0;
}

int run_mount(core::Context& ctx, const NameOptions& o) {
  auto found = find_dataset(ctx, o.name, via_sudo(ctx));
  if (!found) {
    return report(ctx.ui, found.error());
  }
  const Dataset& d = found->dataset;
  if (d.source.kind == Kind::local) {
    ctx.ui.out() << fmt::format(
        "{} is a local directory ({}): runs bind it, nothing to mount\n", d.name, d.source.path);
    return 0;
  }
  auto root = mount_root(ctx.host_root);
  if (!root) {
    return report(ctx.ui, root.error());
  }
  if (::geteuid() != 0 && d.system && !is_mounted(mount_point(*root, d))) {
    util::ProcessOptions po;
    po.timeout = std::chrono::seconds(60);
    po.capture = false;
    auto out = ctx.runner.run({"sudo", "-n", o.furnace_path, "dataset", "mount", d.name}, po);
    return out ? out->status.code
               : report(ctx.ui,
                        core::make_error(core::ErrorKind::unavailable, out.error().message));
  }
  auto target = mount_dataset(ctx, d, found->scope, *root);
  if (!target) {
    return report(ctx.ui, target.error());
  }
  ctx.ui.out() << fmt::format("{} mounted at {}\n", d.name, *target);
  return 0;
}

int run_umount(core::Context& ctx, const NameOptions& o) {
  auto found = find_dataset(ctx, o.name, via_sudo(ctx));
  if (!found) {
    return report(ctx.ui, found.error());
  }
  if (found->dataset.source.kind == Kind::local) {
    ctx.ui.out() << fmt::format("{} is a local directory: nothing to unmount\n", o.name);
    return 0;
  }
  if (::geteuid() != 0) {
    return report(ctx.ui,
                  core::make_error(core::ErrorKind::permission,
                                   "unmounting needs root",
                                   fmt::format("'sudo furnace dataset umount {}'", o.name)));
  }
  auto root = mount_root(ctx.host_root);
  if (!root) {
    return report(ctx.ui, root.error());
  }
  if (auto ok = umount_dataset(ctx, found->dataset, *root); !ok) {
    return report(ctx.ui, ok.error());
  }
  ctx.ui.out() << fmt::format("{} unmounted\n", o.name);
  return 0;
}

int run_check(core::Context& ctx, const NameOptions& o) {
  auto found = find_dataset(ctx, o.name, false);
  if (!found) {
    return report(ctx.ui, found.error());
  }
  auto root = mount_root(ctx.host_root);
  if (!root) {
    return report(ctx.ui, root.error());
  }
  const Dataset& d = found->dataset;
  bool good = true;
  const auto line = [&](bool ok, const std::string& what, const std::string& detail) {
    good = good && ok;
    ctx.ui.out() << fmt::format(
        "{} {}{}\n", ok ? "ok  " : "FAIL", what, detail.empty() ? "" : ": " + detail);
  };
  line(true, "definition", fmt::format("{} in {}", source_text(d.source), found->scope.file));
  if (d.source.kind == Kind::local) {
    line(answers_within(d.source.path, std::chrono::seconds(2)), "directory", d.source.path);
    return good ? 0 : 1;
  }
  auto reach = check_reachable(
      d.name, d.source.host, remote_port(d.source, d.options), std::chrono::seconds(3));
  line(bool(reach), "reachable", reach ? "" : reach.error().message);
  const std::string helper = d.source.kind == Kind::nfs ? "mount.nfs" : "mount.cifs";
  const bool have =
      util::find_in_path(helper, ctx.getenv("PATH").value_or("") + ":/usr/sbin:/sbin").has_value();
  line(have, helper, have ? "" : fmt::format("install {}", helper_package(d.source.kind)));
  line(kernel_has(d.source.kind),
       "kernel support",
       kernel_has(d.source.kind) ? "" : "this kernel has no module for it");
  if (d.source.kind == Kind::cifs && d.system && ::geteuid() != 0) {
    ctx.ui.out()
        << "-    credentials: the lab's (root's; 'sudo furnace dataset check' reads them)\n";
  } else if (d.source.kind == Kind::cifs) {
    auto c =
        check_credentials(credentials_path(found->scope, d.name), credentials_owner(found->scope));
    line(bool(c), "credentials", c ? "" : c.error().message + " (" + c.error().hint + ")");
  }
  const std::string target = mount_point(*root, d);
  if (is_mounted(target)) {
    line(answers_within(target, std::chrono::seconds(2)), "mounted", target);
  } else {
    ctx.ui.out() << fmt::format("-    not mounted (a run mounts it at {})\n", target);
  }
  return good ? 0 : 1;
}

int run_install_sudo_rule(core::Context& ctx, const std::string& furnace_path) {
  auto path = install_sudo_rule(ctx, furnace_path);
  if (!path) {
    return report(ctx.ui, path.error());
  }
  ctx.ui.out() << fmt::format("wrote {}: every user may run '{} dataset mount NAME' for the lab's "
                              "datasets, nothing else\n",
                              *path,
                              furnace_path);
  return 0;
}

core::Result<std::vector<RunMount>> mounts_for_run(core::Context& ctx,
                                                   const std::vector<std::string>& names,
                                                   bool dry_run,
                                                   const std::string& furnace_path) {
  std::vector<Found> found;
  for (const std::string& n : names) {
    if (auto ok = check_name(n); !ok) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("furnace.yaml: datasets: {}", ok.error().message),
                        ok.error().hint);
    }
    auto f = find_dataset(ctx, n, false);
    if (!f) {
      core::Error e = f.error();
      return core::fail(e.context("furnace.yaml: datasets"));
    }
    found.push_back(std::move(*f));
  }
  auto root = mount_root(ctx.host_root);
  if (!root) {
    return core::fail(root.error());
  }
  // Every NAS first, so that nothing is mounted when one of them is away.
  for (const Found& f : found) {
    const Dataset& d = f.dataset;
    if (d.source.kind != Kind::local && !dry_run) {
      if (auto ok = check_reachable(
              d.name, d.source.host, remote_port(d.source, d.options), std::chrono::seconds(3));
          !ok) {
        return core::fail(ok.error());
      }
    }
  }
  std::vector<RunMount> out;
  for (const Found& f : found) {
    const Dataset& d = f.dataset;
    RunMount m{d.source.kind == Kind::local ? d.source.path : mount_point(*root, d),
               "/datasets/" + d.name,
               !d.rw};
    if (!dry_run && d.source.kind == Kind::local &&
        !answers_within(m.source, std::chrono::seconds(2))) {
      return core::fail(
          core::ErrorKind::not_found,
          fmt::format("dataset '{}': {} is not there (or does not answer)", d.name, m.source),
          fmt::format("'furnace dataset check {}'", d.name));
    }
    if (!dry_run && d.source.kind != Kind::local) {
      if (::geteuid() != 0 && d.system && !is_mounted(m.source)) {
        util::ProcessOptions po;
        po.timeout = std::chrono::seconds(60);
        auto r = ctx.runner.run({"sudo", "-n", furnace_path, "dataset", "mount", d.name}, po);
        if (!r || !r->status.ok()) {
          return core::fail(core::ErrorKind::permission,
                            fmt::format("dataset '{}': mounting through sudo failed: {}",
                                        d.name,
                                        r ? std::string(util::trim(r->err)) : r.error().message),
                            "the admin installs the rule with 'sudo furnace setup --dataset-sudo'");
        }
      } else if (auto t = mount_dataset(ctx, d, f.scope, *root); !t) {
        return core::fail(t.error());
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

} // namespace furnace::dataset

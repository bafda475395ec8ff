#include "setup.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/core/labels.hpp>
#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/endpoint.hpp>
#include <furnace/engine/registry_probe.hpp>
#include <furnace/host/engine_flags.hpp>
#include <furnace/host/system_file.hpp>
#include <furnace/setup/engine_control.hpp>
#include <furnace/setup/gpu_lock_dir.hpp>
#include <furnace/setup/host_steps.hpp>
#include <furnace/setup/registry_check.hpp>
#include <furnace/setup/test_hooks.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <thread>

namespace furnace::setup {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;
using host::Json;

constexpr const char* k_daemon_json = "/etc/docker/daemon.json";

// How to get rid of a flag, by where it comes from.
std::string flag_fix(const host::FlagSetting& s) {
  if (s.origin.starts_with("the running dockerd")) {
    return fmt::format("drop '{}' from the command that starts dockerd and restart it, or leave "
                       "\"{}\" to the flag; furnace changed nothing",
                       s.flag,
                       s.key);
  }
  return fmt::format("drop '{}' from {} and restart the engine, or leave \"{}\" to the flag; "
                     "furnace changed nothing",
                     s.flag,
                     s.origin,
                     s.key);
}

int report(core::Ui& ui, const core::Error& e) {
  ui.error(e);
  return e.exit_code;
}

int major_of(const std::string& version) {
  return std::atoi(version.c_str());
}

std::string path_var(const core::Context& ctx) {
  return ctx.getenv("PATH").value_or("/usr/local/bin:/usr/bin:/bin") +
         ":/usr/local/sbin:/usr/sbin:/sbin";
}

std::string canonical_or_self(const std::string& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

// What furnace knows about the engine that reads the daemon.json being edited.
struct EngineState {
  std::optional<engine::Endpoint> endpoint;
  std::unique_ptr<engine::DockerApi> api;
  std::optional<engine::VersionInfo> version;
  std::optional<engine::EngineInfo> info;
  EngineControl control;
  std::vector<host::FlagSource> flag_sources;
  int major = 0;            // engine major version; 0 unknown
  std::string version_text; // "20.10.24+dfsg1"
};

void probe_engine(core::Context& ctx, EngineState& s) {
  auto ep = engine::resolve_endpoint(ctx.env);
  if (!ep) {
    return;
  }
  s.endpoint = *ep;
  engine::DockerApi::Timeouts t;
  t.connect = std::chrono::milliseconds(2000);
  t.call = std::chrono::milliseconds(10000);
  s.api = std::make_unique<engine::DockerApi>(*ep, t);
  if (!s.api->ping()) {
    return;
  }
  if (auto v = s.api->version()) {
    s.version = *v;
    s.major = major_of(v->version);
    s.version_text = v->version;
  }
  if (auto i = s.api->info()) {
    s.info = *i;
  }
}

// "20.10.24+dfsg1" from `dockerd --version`; "" when it cannot say.
std::string dockerd_version_from_binary(core::Context& ctx) {
  util::ProcessOptions opts;
  opts.timeout = std::chrono::milliseconds(5000);
  opts.env = ctx.env;
  (*opts.env)["PATH"] = path_var(ctx);
  util::SystemRunner runner; // read-only query, also under --dry-run
  auto r = runner.run({"dockerd", "--version"}, opts);
  if (!r || !r->status.ok()) {
    return "";
  }
  // "Docker version 20.10.24+dfsg1, build 5d6db84"
  const auto v = r->out.find("version ");
  if (v == std::string::npos) {
    return "";
  }
  const std::string rest = r->out.substr(v + 8);
  return rest.substr(0, rest.find_first_of(", \n"));
}

// Finds who controls the engine reading `config_paths`, and the flags it runs with.
void find_controller(const host::Paths& paths,
                     const std::vector<std::string>& config_paths,
                     EngineState& s) {
  const bool system_root = paths.root() == "/";
  util::SystemRunner query; // read-only queries run even under --dry-run
  util::ProcessOptions qopts;
  qopts.timeout = std::chrono::milliseconds(5000);
  if (system_root && host::systemd_is_init(paths)) {
    auto show = query.run(
        {"systemctl", "show", "-p", "ExecStart", "-p", "MainPID", "-p", "ActiveState", "docker"},
        qopts);
    if (show && show->status.ok()) {
      auto argv = host::parse_exec_start(show->out);
      if (!argv.empty()) {
        s.flag_sources.push_back({"systemd ExecStart of docker.service", argv});
      }
      if (show->out.find("ActiveState=active") != std::string::npos) {
        s.control.manager = EngineControl::Manager::systemd;
        const auto m = show->out.find("MainPID=");
        s.control.pid = m == std::string::npos ? 0 : std::atoi(show->out.c_str() + m + 8);
      }
    }
  }
  if (auto opts = util::read_file(paths.host("/etc/default/docker"))) {
    auto words = host::parse_docker_opts(*opts);
    if (!words.empty()) {
      s.flag_sources.push_back({paths.host("/etc/default/docker") + " DOCKER_OPTS", words});
    }
  }
  std::vector<std::string> wanted;
  for (const auto& p : config_paths) {
    wanted.push_back(canonical_or_self(p));
  }
  for (auto& proc : host::list_dockerd()) {
    const std::string cfg = canonical_or_self(host::config_file_of(proc.argv));
    if (std::find(wanted.begin(), wanted.end(), cfg) == wanted.end()) {
      continue;
    }
    std::vector<std::string> args(proc.argv.begin() + (proc.argv.empty() ? 0 : 1), proc.argv.end());
    s.flag_sources.push_back({fmt::format("the running dockerd (pid {})", proc.pid), args});
    if (s.control.manager == EngineControl::Manager::none) {
      s.control.manager = EngineControl::Manager::process;
      s.control.pid = proc.pid;
      s.control.argv = proc.argv;
      std::error_code ec;
      s.control.exe = fs::read_symlink("/proc/" + std::to_string(proc.pid) + "/exe", ec).string();
      if (ec || s.control.exe.empty()) {
        s.control.exe = "/usr/sbin/dockerd";
      }
      const std::string log_dir = paths.host("/var/log");
      fs::create_directories(log_dir, ec);
      s.control.log_path = log_dir + "/furnace-dockerd.log";
    }
    break;
  }
  s.control.endpoint_uri =
      s.endpoint ? s.endpoint->uri : std::string("unix://") + engine::k_default_socket;
}

struct RunningContainer {
  std::string id;
  std::string name;
  std::string image;
  std::string owner;
};

std::vector<RunningContainer> running_containers(engine::DockerApi& api) {
  std::vector<RunningContainer> out;
  auto r = api.request("GET", "/containers/json");
  if (!r || r->status != 200) {
    return out;
  }
  try {
    for (const auto& c : nlohmann::json::parse(r->body)) {
      RunningContainer rc;
      rc.id = c.value("Id", std::string()).substr(0, 12);
      if (c.contains("Names") && !c["Names"].empty()) {
        rc.name = c["Names"][0].get<std::string>();
      }
      rc.image = c.value("Image", std::string());
      rc.owner = "unknown owner";
      if (c.contains("Labels") && c["Labels"].is_object() &&
          c["Labels"].contains(core::k_label_user) && c["Labels"][core::k_label_user].is_string()) {
        rc.owner = c["Labels"][core::k_label_user].get<std::string>();
      }
      out.push_back(std::move(rc));
    }
  } catch (const nlohmann::json::exception&) {
    return {};
  }
  return out;
}

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

bool same_address(const std::string& a, const std::string& b) {
  return strip_slash(a) == strip_slash(b);
}

bool list_has(const nlohmann::json& list, const std::string& value) {
  if (!list.is_array()) {
    return false;
  }
  return std::any_of(list.begin(), list.end(), [&](const nlohmann::json& x) {
    return x.is_string() && same_address(x.get<std::string>(), value);
  });
}

// "10.1.2.3/8" -> "10.0.0.0/8", the way dockerd lists a CIDR; other text as it is.
std::string cidr_network(const std::string& cidr) {
  const auto slash = cidr.find('/');
  in_addr a{};
  if (slash == std::string::npos || ::inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1) {
    return cidr;
  }
  const int bits = std::atoi(cidr.c_str() + slash + 1);
  if (bits < 0 || bits > 32) {
    return cidr;
  }
  const std::uint32_t mask = bits == 0 ? 0U : ~0U << (32 - bits);
  a.s_addr = htonl(ntohl(a.s_addr) & mask);
  std::array<char, INET_ADDRSTRLEN> text{};
  ::inet_ntop(AF_INET, &a, text.data(), text.size());
  return std::string(text.data()) + cidr.substr(slash);
}

// Whether the engine's /info (`info`, raw) shows `key` as `doc` sets it. nullopt: /info does not
// show that key at all.
std::optional<bool>
engine_shows_key(const nlohmann::json& info, const Json& doc, const std::string& key) {
  const nlohmann::json reg = info.value("RegistryConfig", nlohmann::json::object());
  const Json& want = doc.contains(key) ? doc[key] : Json();
  if (key == "registry-mirrors") {
    const nlohmann::json mirrors = reg.value("Mirrors", nlohmann::json::array());
    return !want.is_array() || std::all_of(want.begin(), want.end(), [&](const Json& m) {
      return !m.is_string() || list_has(mirrors, m.get<std::string>());
    });
  }
  if (key == "insecure-registries") {
    // host:port entries become index configs that are not secure; CIDRs are listed as networks.
    const nlohmann::json indexes = reg.value("IndexConfigs", nlohmann::json::object());
    const nlohmann::json cidrs = reg.value("InsecureRegistryCIDRs", nlohmann::json::array());
    return !want.is_array() || std::all_of(want.begin(), want.end(), [&](const Json& r) {
      if (!r.is_string()) {
        return true;
      }
      const std::string v = r.get<std::string>();
      if (v.find('/') != std::string::npos) {
        return list_has(cidrs, cidr_network(v)) || list_has(cidrs, v);
      }
      return indexes.is_object() && indexes.contains(v) && indexes[v].is_object() &&
             indexes[v].value("Secure", true) == false;
    });
  }
  if (key == "runtimes") {
    const nlohmann::json runtimes = info.value("Runtimes", nlohmann::json::object());
    return !want.is_object() ||
           std::all_of(want.items().begin(), want.items().end(), [&](const auto& item) {
             return runtimes.is_object() && runtimes.contains(item.key());
           });
  }
  if (key == "default-runtime") {
    return !want.is_string() ||
           info.value("DefaultRuntime", std::string()) == want.get<std::string>();
  }
  if (key == "live-restore") {
    return !want.is_boolean() || info.value("LiveRestoreEnabled", false) == want.get<bool>();
  }
  if (key == "debug") {
    return !want.is_boolean() || info.value("Debug", false) == want.get<bool>();
  }
  if (key == "labels") {
    const nlohmann::json labels = info.value("Labels", nlohmann::json::array());
    return !want.is_array() || std::all_of(want.begin(), want.end(), [&](const Json& l) {
      return !l.is_string() || list_has(labels, l.get<std::string>());
    });
  }
  return std::nullopt;
}

// After a reload: the changed keys the engine does not show (empty: every one took). Keys /info
// cannot show are named in `unchecked`.
std::vector<std::string> keys_not_applied(engine::DockerApi& api,
                                          const Json& doc,
                                          const std::vector<std::string>& changed,
                                          std::vector<std::string>& unchecked) {
  unchecked.clear();
  auto r = api.request("GET", "/info");
  if (!r || r->status != 200) {
    return changed;
  }
  nlohmann::json info;
  try {
    info = nlohmann::json::parse(r->body);
  } catch (const nlohmann::json::exception&) {
    return changed;
  }
  std::vector<std::string> missing;
  for (const auto& key : changed) {
    const auto shown = engine_shows_key(info, doc, key);
    if (!shown) {
      unchecked.push_back(key);
    } else if (!*shown) {
      missing.push_back(key);
    }
  }
  return missing;
}

// Waits until the engine shows every changed key; returns those it still does not show.
std::vector<std::string> wait_reload_applied(engine::DockerApi& api,
                                             const Json& doc,
                                             const std::vector<std::string>& changed,
                                             std::vector<std::string>& unchecked,
                                             std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto missing = keys_not_applied(api, doc, changed, unchecked);
    if (missing.empty() || std::chrono::steady_clock::now() >= deadline) {
      return missing;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

core::Result<bool> confirm(core::Context& ctx, const std::string& question, const char* flag) {
  if (::isatty(STDIN_FILENO) != 1) {
    return core::fail(ErrorKind::usage,
                      "furnace setup needs a confirmation and stdin is not a terminal",
                      fmt::format("run it in a terminal, or pass {} to agree in advance", flag));
  }
  ctx.ui.err() << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  answer = util::to_lower(util::trim(answer));
  return answer == "y" || answer == "yes";
}

void crash_hook(const std::string& at, std::string_view stage) {
  if (!at.empty() && at == stage) {
    std::raise(SIGKILL);
  }
}

// Puts the file back as it was before furnace wrote it.
core::Result<void> restore(const std::string& target, const host::FileState& before) {
  if (!before.exists) {
    if (::unlink(target.c_str()) != 0 && errno != ENOENT) {
      return core::fail(ErrorKind::io, "cannot remove " + target);
    }
    return {};
  }
  util::AtomicWriteOptions opts;
  opts.mode = before.mode;
  opts.owner = before.uid;
  opts.group = before.gid;
  if (auto ok = util::write_file_atomic(target, before.content, opts); !ok) {
    return core::fail(ErrorKind::io, ok.error().message);
  }
  return {};
}

struct DaemonEdit {
  host::DaemonChanges changes;
  std::string link_path; // <root>/etc/docker/daemon.json
};

// Warns about mirrors that do not answer: pulls fall back to Docker Hub while one is down.
void check_mirrors(core::Ui& ui, const std::vector<std::string>& mirrors) {
  for (const auto& m : mirrors) {
    auto answer = engine::probe_registry(m, std::chrono::milliseconds(3000));
    if (!answer || (answer->status != 200 && answer->status != 401)) {
      ui.warn(
          fmt::format("the mirror {} does not answer /v2/ ({}): pulls fall back to Docker Hub "
                      "while it is down",
                      m,
                      answer ? fmt::format("HTTP {}", answer->status) : answer.error().message));
    }
  }
  if (!mirrors.empty()) {
    ui.info("registry mirrors apply to Docker Hub images only (not nvcr.io, ghcr.io, quay.io)");
  }
}

// Refuses a file the engine `major` would not start with: a removed key, or a key that is a
// flag of the engine's command line too. Warns about the rest.
core::Result<void> check_new_config(core::Ui& ui,
                                    const std::string& target,
                                    const host::MergeResult& merged,
                                    const EngineState& eng,
                                    int major) {
  for (const auto& f : host::check_known_keys(merged.doc, major)) {
    if (f.kind == host::KeyFinding::Kind::removed) {
      return core::fail(ErrorKind::invalid,
                        fmt::format("{} already has \"{}\", which Docker {} refuses ({}): the "
                                    "engine would not start again",
                                    target,
                                    f.key,
                                    major,
                                    f.detail),
                        fmt::format("remove \"{}\" from the file yourself (furnace never "
                                    "deletes your keys), then run furnace setup again; "
                                    "furnace changed nothing",
                                    f.key));
    }
    ui.warn(fmt::format("{} has \"{}\": {} (kept as it is)", target, f.key, f.detail));
  }
  const auto conflicts = host::find_conflicts(merged.doc, merged.changed_keys, eng.flag_sources);
  for (const auto& c : conflicts) {
    if (c.introduced) {
      return core::fail(ErrorKind::invalid,
                        fmt::format("\"{}\" is also set by the flag '{}' of {}: dockerd "
                                    "refuses to start when a key is both a flag and in {}",
                                    c.setting.key,
                                    c.setting.flag,
                                    c.setting.origin,
                                    target),
                        flag_fix(c.setting));
    }
    return core::fail(ErrorKind::invalid,
                      fmt::format("\"{}\" is set both in {} and by the flag '{}' of {}: "
                                  "dockerd refuses that on its next reload or start",
                                  c.setting.key,
                                  target,
                                  c.setting.flag,
                                  c.setting.origin),
                      fmt::format("remove \"{}\" from the file or the flag from {}, then run "
                                  "furnace setup again; furnace changed nothing",
                                  c.setting.key,
                                  c.setting.origin));
  }
  return {};
}

// The plan on stdout: the diff (credentials masked) and what applies it.
void print_plan(core::Ui& ui,
                const std::string& target,
                const host::FileState& before,
                const std::string& new_text,
                const host::MergeResult& merged,
                const EngineState& eng,
                bool live) {
  ui.out() << fmt::format("plan: {} {}\n", before.exists ? "edit" : "create", target);
  ui.out() << mask_credentials_in_text(diff_lines(before.content, new_text));
  if (eng.control.manager == EngineControl::Manager::none) {
    ui.out() << "then: nothing to apply now (no running engine reads this file); the change "
                "applies when the engine starts\n";
  } else if (live) {
    ui.out() << fmt::format("then: reload the engine ({}); running containers are not touched\n",
                            eng.control.describe_reload());
  } else {
    ui.out() << fmt::format("then: restart the engine ({}): needed for {}\n",
                            eng.control.describe_restart(),
                            util::shell_join(merged.changed_keys));
  }
}

// Validation: the engine's own (`dockerd --validate`, Docker 23+) where it has one, ours
// otherwise.
core::Result<void> validate(core::Ui& ui,
                            const std::string& target,
                            const std::string& new_text,
                            const EngineState& eng,
                            int major) {
  if (major < 23) {
    ui.info(fmt::format("Docker {} has no 'dockerd --validate' (it came in 23.0): checked with "
                        "furnace's own validator (JSON, known keys, flag conflicts)",
                        eng.version_text.empty() ? std::to_string(major) : eng.version_text));
    return {};
  }
  // A private file (mkstemp, 0600): the candidate may hold proxy credentials.
  std::string check_path = "/tmp/furnace-validate-XXXXXX";
  const int check_fd = ::mkstemp(check_path.data());
  if (check_fd < 0) {
    return core::fail(ErrorKind::io, "cannot create a temporary file in /tmp");
  }
  ::close(check_fd);
  util::AtomicWriteOptions private_file;
  private_file.mode = 0600;
  if (auto ok = util::write_file_atomic(check_path, new_text, private_file); !ok) {
    ::unlink(check_path.c_str());
    return core::fail(ErrorKind::io, ok.error().message);
  }
  std::vector<std::string> argv{"dockerd", "--validate", "--config-file", check_path};
  for (const auto& src : eng.flag_sources) {
    if (src.origin.starts_with("systemd")) {
      argv.insert(argv.end(), src.args.begin() + (src.args.empty() ? 0 : 1), src.args.end());
    }
  }
  util::SystemRunner query;
  util::ProcessOptions qopts;
  qopts.timeout = std::chrono::milliseconds(20000);
  auto r = query.run(argv, qopts);
  ::unlink(check_path.c_str());
  // Not run at all (no dockerd, cannot exec, killed, timed out): say so, never pass in silence.
  const bool did_not_run = !r || r->status.timed_out || r->status.signal != 0 ||
                           r->status.code == 126 || r->status.code == 127;
  if (did_not_run) {
    const std::string why = !r                    ? r.error().message
                            : r->status.timed_out ? "it did not finish within 20 s"
                            : r->status.signal != 0
                                ? fmt::format("it was killed by signal {}", r->status.signal)
                                : fmt::format("exit {}: {}",
                                              r->status.code,
                                              util::trim(r->err.empty() ? r->out : r->err));
    ui.warn(mask_credentials_in_text(fmt::format(
        "dockerd --validate could not run on this Docker {} engine ({}): the new {} was checked "
        "with furnace's own validator only (JSON, known keys, flag conflicts)",
        eng.version_text.empty() ? std::to_string(major) : eng.version_text,
        why,
        target)));
    return {};
  }
  if (!r->status.ok()) {
    // dockerd's words may quote the file (a proxy URL with its password): masked.
    return core::fail(
        ErrorKind::invalid,
        mask_credentials_in_text(fmt::format("dockerd --validate rejects the new {}: {}",
                                             target,
                                             engine_error_from_log(r->err + r->out))),
        "furnace changed nothing");
  }
  ui.info("dockerd --validate: configuration OK");
  return {};
}

// A restart stops every container unless live-restore is on: it needs --force when any runs.
core::Result<void>
check_restart_allowed(core::Ui& ui, const SetupOptions& o, const EngineState& eng) {
  if (!eng.api || !eng.info || eng.info->live_restore) {
    return {};
  }
  const auto running = running_containers(*eng.api);
  if (running.empty()) {
    return {};
  }
  ui.out() << fmt::format("a restart stops these {} running container(s):\n", running.size());
  for (const auto& c : running) {
    ui.out() << fmt::format("  {}  {}  {}  ({})\n", c.id, c.name, c.image, c.owner);
  }
  if (o.force) {
    return {};
  }
  return core::fail(ErrorKind::invalid,
                    fmt::format("the change needs an engine restart, which would stop "
                                "{} running container(s)",
                                running.size()),
                    "ask their owners, then run again with --force; or set "
                    "--live-restore first (it reloads live) so later restarts keep "
                    "containers running");
}

// Another program (an editor, nvidia-ctk, a configuration manager) does not take furnace's lock:
// what is on disk is compared with what was read, under the lock, before the backup and again
// last before the rename. A change refuses the write; nothing the other program wrote is lost.
core::Error changed_under_us(const std::string& target, const std::string& why) {
  return core::make_error(ErrorKind::invalid,
                          fmt::format("{} changed since furnace setup read it ({}): another "
                                      "program edited it meanwhile",
                                      target,
                                      why),
                          "furnace wrote nothing; run furnace setup again: it merges into the file "
                          "as it is now");
}

// Backs up what is on disk (after checking it is what was read) and writes `new_text`
// atomically with its owner and mode; returns the backup's path ("" for a new file) and, in
// `on_disk`, the state it replaced.
core::Result<std::string> write_daemon_json(core::Context& ctx,
                                            const SetupOptions& o,
                                            const std::string& target,
                                            const host::FileState& read_state,
                                            const std::string& new_text,
                                            const TestHooks& hooks,
                                            host::FileState& on_disk) {
  auto now = host::read_system_file(target);
  if (!now) {
    return core::fail(now.error());
  }
  if (const std::string why = host::describe_change(read_state, *now); !why.empty()) {
    return core::fail(changed_under_us(target, why));
  }
  on_disk = *now;
  std::string backup;
  if (on_disk.exists) {
    auto b = host::make_backup(target, on_disk, std::chrono::system_clock::now());
    if (!b) {
      return core::fail(b.error());
    }
    backup = *b;
  }
  util::AtomicWriteOptions wopts;
  wopts.mode = on_disk.exists ? on_disk.mode : 0644;
  if (on_disk.exists) {
    wopts.owner = on_disk.uid;
    wopts.group = on_disk.gid;
  } else {
    std::error_code ec;
    fs::create_directories(fs::path(target).parent_path(), ec);
  }
  const std::string crash_at = hooks.crash_at;
  wopts.hook = [&crash_at](std::string_view stage) { crash_hook(crash_at, stage); };
  std::string changed_why;
  wopts.before_rename = [&]() -> std::optional<std::string> {
    auto again = host::read_system_file(target);
    changed_why = again ? host::describe_change(on_disk, *again)
                        : "it cannot be read again: " + again.error().message;
    return changed_why.empty() ? std::nullopt : std::optional<std::string>(changed_why);
  };
  if (auto ok = util::write_file_atomic(target, new_text, wopts); !ok) {
    if (!backup.empty()) {
      ::unlink(backup.c_str());
    }
    if (!changed_why.empty()) {
      return core::fail(changed_under_us(target, changed_why));
    }
    return core::fail(ErrorKind::io, ok.error().message, fmt::format("{} is unchanged", target));
  }
  host::prune_backups(target, o.keep_backups);
  ctx.ui.out() << fmt::format(
      "wrote {}{}\n", target, backup.empty() ? "" : fmt::format(" (backup: {})", backup));
  return backup;
}

// The written file and the state it replaced, for applying and rolling back.
struct Written {
  std::string target;
  host::FileState before;
  std::string backup;
};

// The engine did not take the change: the previous file back, the engine reloaded or restarted.
int roll_back(core::Context& ctx,
              const Written& w,
              EngineState& eng,
              const std::string& why,
              bool restart_after) {
  core::Ui& ui = ctx.ui;
  ui.info(fmt::format("the engine did not take the change: restoring {} and {} the engine",
                      w.backup.empty() ? "the previous state" : w.backup,
                      restart_after ? "restarting" : "reloading"));
  if (auto ok = restore(w.target, w.before); !ok) {
    return report(ui,
                  core::make_error(ErrorKind::io,
                                   fmt::format("rollback failed: {}", ok.error().message),
                                   fmt::format("copy {} over {} by hand", w.backup, w.target)));
  }
  std::string state = "the engine is up with the previous configuration";
  if (restart_after) {
    if (eng.control.manager == EngineControl::Manager::systemd) {
      util::ProcessOptions q;
      q.timeout = std::chrono::milliseconds(10000);
      (void)ctx.runner.run({"systemctl", "reset-failed", "docker"}, q);
    }
    if (auto again = restart_engine(eng.control, ctx.runner, std::chrono::seconds(60)); !again) {
      state = "the engine did not come back even with the previous configuration: " +
              again.error().message;
    }
  } else {
    (void)reload_engine(eng.control, ctx.runner);
  }
  return report(ui,
                core::make_error(
                    ErrorKind::remote,
                    mask_credentials_in_text(
                        fmt::format("the engine refused the new configuration: {}", why)),
                    mask_credentials_in_text(fmt::format("{} was restored; {}", w.target, state))));
}

// Reloads (live keys) or restarts the running engine, rolling back when it does not take it.
int apply_to_engine(core::Context& ctx,
                    const Written& w,
                    EngineState& eng,
                    const nlohmann::ordered_json& doc,
                    const std::vector<std::string>& changed,
                    bool live) {
  if (live) {
    if (auto ok = reload_engine(eng.control, ctx.runner); !ok) {
      return roll_back(ctx, w, eng, ok.error().message, false);
    }
    if (eng.api) {
      // Every changed key is checked: a reload dockerd refuses leaves /info as it was.
      std::vector<std::string> unchecked;
      const auto missing =
          wait_reload_applied(*eng.api, doc, changed, unchecked, std::chrono::seconds(10));
      if (!missing.empty()) {
        std::string why = engine_error_from_log(engine_log_tail(eng.control, ctx.runner));
        if (why.find("reconfigur") == std::string::npos &&
            why.find("configuration") == std::string::npos) {
          why = fmt::format("after the reload its /info does not show {} (see its log for "
                            "'Error reconfiguring the daemon')",
                            util::shell_join(missing));
        }
        return roll_back(ctx, w, eng, why, false);
      }
      if (!unchecked.empty()) {
        ctx.ui.info(fmt::format("the engine's /info does not show {}: not checked after the reload",
                                util::shell_join(unchecked)));
      }
    }
    ctx.ui.out() << fmt::format("reloaded the engine ({}); containers kept running\n",
                                eng.control.describe_reload());
    return 0;
  }
  if (auto ok = restart_engine(eng.control, ctx.runner, std::chrono::seconds(60)); !ok) {
    return roll_back(ctx, w, eng, ok.error().message, true);
  }
  ctx.ui.out() << fmt::format("restarted the engine ({}); it answers\n",
                              eng.control.describe_restart());
  return 0;
}

// The daemon.json edit: read, merge, check, show the plan, validate, confirm, back up, write,
// apply (rolled back when the engine refuses it).
int edit_daemon_json(core::Context& ctx,
                     const SetupOptions& o,
                     const host::Paths& paths,
                     DaemonEdit& edit,
                     EngineState& eng) {
  core::Ui& ui = ctx.ui;
  auto target = host::resolve_target(paths, edit.link_path);
  if (!target) {
    return report(ui, target.error());
  }
  if (*target != edit.link_path) {
    ui.info(fmt::format("{} is a symbolic link: editing its target {}", edit.link_path, *target));
  }
  if (!o.dry_run) {
    if (const int n = util::remove_stale_temps(*target); n > 0) {
      ui.info(fmt::format(
          "removed {} temporary file(s) an interrupted furnace setup left next to {}", n, *target));
    }
  }
  auto before = host::read_system_file(*target);
  if (!before) {
    return report(ui, before.error());
  }
  auto cfg = host::parse_daemon_json(before->content, *target);
  if (!cfg) {
    return report(ui, cfg.error());
  }
  auto merged = host::merge_daemon_config(cfg->doc, edit.changes);
  if (!merged) {
    core::Error e = merged.error();
    e.message = *target + ": " + e.message;
    return report(ui, e);
  }
  for (const auto& note : merged->notes) {
    ui.info(note);
  }
  if (merged->changed_keys.empty()) {
    ui.out() << fmt::format("nothing to change: {} already has what was asked\n", *target);
    return 0;
  }
  find_controller(paths, {edit.link_path, *target}, eng);
  if (eng.major == 0) {
    eng.version_text = dockerd_version_from_binary(ctx);
    eng.major = major_of(eng.version_text);
  }
  check_mirrors(ui, edit.changes.mirrors);
  const int major = eng.major > 0 ? eng.major : 20;
  if (auto ok = check_new_config(ui, *target, *merged, eng, major); !ok) {
    return report(ui, ok.error());
  }
  if (cfg->encoding != host::Encoding::utf8) {
    ui.warn(fmt::format("{} starts with a byte order mark{}: furnace writes it back as UTF-8 "
                        "without one",
                        *target,
                        major < 23 ? ", which Docker before 23.0 cannot read" : ""));
  }
  auto rendered = host::render_daemon_json(merged->doc);
  if (!rendered) {
    return report(ui, rendered.error());
  }
  std::string new_text = *rendered;
  const bool live = std::all_of(merged->changed_keys.begin(),
                                merged->changed_keys.end(),
                                [](const std::string& k) { return host::key_reloads_live(k); });
  const bool engine_running = eng.control.manager != EngineControl::Manager::none;
  print_plan(ui, *target, *before, new_text, *merged, eng, live);
  if (auto ok = validate(ui, *target, new_text, eng, major); !ok) {
    return report(ui, ok.error());
  }
  if (o.dry_run) {
    ui.out() << "dry run: nothing written, nothing reloaded\n";
    return 0;
  }
  if (engine_running && !live) {
    if (auto ok = check_restart_allowed(ui, o, eng); !ok) {
      return report(ui, ok.error());
    }
  }
  if (!o.yes) {
    auto ok = confirm(ctx, fmt::format("apply this change to {}?", *target), "--yes");
    if (!ok) {
      return report(ui, ok.error());
    }
    if (!*ok) {
      ui.out() << "nothing changed\n";
      return 1;
    }
  }
  // Test hook (test builds only): a key dockerd will refuse, written after validation.
  const TestHooks hooks = test_hooks(ctx);
  if (!hooks.inject_key.empty()) {
    merged->doc[hooks.inject_key] = true;
    new_text = host::render_daemon_json(merged->doc).value_or(new_text);
  }
  host::FileState replaced;
  auto backup = write_daemon_json(ctx, o, *target, *before, new_text, hooks, replaced);
  if (!backup) {
    return report(ui, backup.error());
  }
  if (!engine_running) {
    return 0;
  }
  return apply_to_engine(
      ctx, Written{*target, replaced, *backup}, eng, merged->doc, merged->changed_keys, live);
}

} // namespace

std::string diff_lines(const std::string& before, const std::string& after) {
  const auto a = util::split(before, '\n');
  const auto b = util::split(after, '\n');
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> lcs(n + 1, std::vector<std::size_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::string out;
  std::size_t i = 0;
  std::size_t j = 0;
  auto line = [&](char mark, const std::string& text) {
    if (!text.empty() || mark != ' ') {
      out += mark;
      out += ' ';
      out += text;
      out += '\n';
    }
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      line(' ', a[i]);
      ++i;
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      line('-', a[i]);
      ++i;
    } else {
      line('+', b[j]);
      ++j;
    }
  }
  return out;
}

namespace {

// Which daemon.json to edit and where the setup lock goes: /etc/docker's under the root, or a
// rootless engine's own (its socket under /run/user/UID). Returns whether the engine is rootless.
bool choose_target(core::Context& ctx,
                   const host::Paths& paths,
                   DaemonEdit& edit,
                   std::string& lock_dir) {
  edit.link_path = paths.host(k_daemon_json);
  lock_dir = paths.host("/run/furnace");
  auto ep = engine::resolve_endpoint(ctx.env);
  if (!ep || ep->kind != engine::Endpoint::Kind::unix_socket ||
      !ep->socket_path.starts_with("/run/user/")) {
    return false;
  }
  const std::string config_home = core::dirs_from_env(ctx.env).config_home;
  edit.link_path = config_home + "/docker/daemon.json";
  lock_dir = config_home + "/furnace";
  ctx.ui.info(fmt::format("the engine at {} is a rootless Docker: editing its own {} (not {})",
                          ep->uri,
                          edit.link_path,
                          k_daemon_json));
  return true;
}

// The daemon.json changes the options ask for. Errors: a bad mirror or registry, --default alone.
core::Result<void> changes_from_options(const SetupOptions& o, host::DaemonChanges& changes) {
  for (const auto& m : o.mirrors) {
    auto v = validate_mirror(m);
    if (!v) {
      return core::fail(v.error());
    }
    changes.mirrors.push_back(*v);
  }
  for (const auto& r : o.insecure_registries) {
    auto v =
        validate_insecure_registry(r, o.allow_insecure ? AllowInsecure::yes : AllowInsecure::no);
    if (!v) {
      return core::fail(v.error());
    }
    changes.insecure_registries.push_back(*v);
  }
  if (o.nvidia_default && !o.nvidia_runtime) {
    return core::fail(ErrorKind::usage,
                      "--default needs --nvidia-runtime",
                      "furnace setup --nvidia-runtime --default");
  }
  if (o.live_restore) {
    changes.live_restore = true;
  }
  if (o.log_rotation) {
    changes.log_rotation = host::LogRotation{};
  }
  changes.nvidia_runtime = o.nvidia_runtime;
  changes.nvidia_default = o.nvidia_default;
  return {};
}

// One furnace setup at a time (waits up to 5 minutes for another).
core::Result<host::FileLock> lock_setup(core::Ui& ui, const std::string& lock_dir) {
  std::error_code ec;
  fs::create_directories(lock_dir, ec);
  return host::FileLock::acquire(
      lock_dir + "/setup.lock",
      [&ui](const std::string& holder) {
        ui.info(fmt::format("waiting for another furnace setup (pid {}) to finish", holder));
      },
      std::chrono::seconds(300));
}

// The NVIDIA runtime must exist before the engine is told to use it; with nothing asked, a
// present but unregistered toolkit is registered (what doctor reports).
core::Result<void> add_nvidia_runtime(core::Context& ctx,
                                      const host::Paths& paths,
                                      DaemonEdit& edit,
                                      bool nothing_asked) {
  const auto toolkit = detect_toolkit(path_var(ctx));
  if (nothing_asked && toolkit.runtime) {
    edit.changes.nvidia_runtime = true;
  }
  if (edit.changes.nvidia_runtime && !toolkit.runtime) {
    return core::fail(ErrorKind::not_found,
                      "nvidia-container-runtime is not installed: the nvidia runtime cannot be "
                      "registered",
                      "install the NVIDIA Container Toolkit:\n" +
                          toolkit_install_steps(host::distro_id(paths)) +
                          "\nthen run furnace setup --nvidia-runtime again; furnace changed "
                          "nothing");
  }
  if (edit.changes.nvidia_runtime && toolkit.ctk) {
    if (auto p = runtime_path_from_ctk(ctx.runner, *toolkit.ctk, edit.link_path)) {
      edit.changes.nvidia_runtime_path = *p;
    }
  }
  return {};
}

struct GroupAdd {
  std::string user;
  bool implicit = false; // $SUDO_USER, not named with --add-user
};

// Adds `users` to the docker group. One named with --add-user is confirmed unless --yes; the
// implicit $SUDO_USER always gets its own question (--yes does not answer it), and without a
// terminal it is not added and setup says how to add it.
core::Result<void>
add_users(core::Context& ctx, const SetupOptions& o, const std::vector<GroupAdd>& users) {
  const DryRun dry = o.dry_run ? DryRun::yes : DryRun::no;
  constexpr const char* k_root_equivalent =
      "the docker group is root-equivalent: its members can mount / into a container";
  for (const auto& add : users) {
    const std::string& user = add.user;
    if (add.implicit && in_docker_group(user)) {
      continue;
    }
    if (!o.dry_run && (add.implicit || !o.yes)) {
      ctx.ui.warn(k_root_equivalent);
      if (add.implicit && ::isatty(STDIN_FILENO) != 1) {
        ctx.ui.warn(fmt::format(
            "{} (who ran sudo) was not added to the docker group: that needs its own consent, "
            "which --yes does not give; to add {}: sudo furnace setup --add-user {}",
            user,
            user,
            user));
        continue;
      }
      auto ok = confirm(ctx,
                        fmt::format("add {} to the docker group (root-equivalent; {} must log in "
                                    "again for it to apply)?",
                                    user,
                                    user),
                        "--add-user USER");
      if (!ok) {
        return core::fail(ok.error());
      }
      if (!*ok) {
        ctx.ui.out() << fmt::format("{} not added\n", user);
        continue;
      }
    }
    auto added = add_user_to_docker_group(ctx, user, dry);
    if (!added) {
      return core::fail(added.error());
    }
  }
  return {};
}

// Installing and enabling an engine changes the host well beyond daemon.json: it needs
// --install-engine or a "yes" typed at a terminal (--yes does not cover it).
core::Result<bool>
install_allowed(core::Context& ctx, const SetupOptions& o, const std::string& uri) {
  if (o.dry_run || o.install_engine) {
    return true;
  }
  ctx.ui.info(fmt::format("no engine answers at {}: furnace can install Debian's docker.io (when "
                          "no engine is installed), start it and enable it at boot",
                          uri));
  if (::isatty(STDIN_FILENO) != 1) {
    return core::fail(ErrorKind::usage,
                      "installing or starting the engine needs consent, and stdin is not a "
                      "terminal (--yes does not cover it)",
                      "pass --install-engine to agree, or run furnace setup in a terminal to be "
                      "asked; furnace changed nothing");
  }
  return confirm(
      ctx, "install (when missing), start and enable the engine now?", "--install-engine");
}

} // namespace

int run_setup(core::Context& ctx, const SetupOptions& o) {
  core::Ui& ui = ctx.ui;
  const host::Paths paths(o.root.empty() ? ctx.host_root : o.root);
  const bool system_root = paths.root() == "/";
  DaemonEdit edit;
  std::string lock_dir;
  const bool rootless = choose_target(ctx, paths, edit, lock_dir);
  if (auto ok = changes_from_options(o, edit.changes); !ok) {
    return report(ui, ok.error());
  }
  for (const auto& r : edit.changes.insecure_registries) {
    if (!is_loopback_registry(r)) { // accepted with --allow-insecure: say what it costs
      ui.warn(fmt::format("{} is an insecure registry: the engine talks to it over plain HTTP (or "
                          "HTTPS without checking its certificate), so anyone on the network "
                          "path can read or change the images, and no login can be used",
                          r),
              "on a LAN you do not trust, run the registry with TLS ('furnace registry up "
              "--auth') and give clients its CA in /etc/docker/certs.d/HOST:PORT/ca.crt");
    }
  }
  if (!o.dry_run && system_root && !rootless && ::geteuid() != 0) {
    return report(ui,
                  core::make_error(ErrorKind::permission,
                                   "furnace setup changes system files and needs root",
                                   "run it with sudo: sudo furnace setup …; or see the plan "
                                   "first with --dry-run"));
  }
  std::optional<host::FileLock> lock;
  if (!o.dry_run) {
    auto l = lock_setup(ui, lock_dir);
    if (!l) {
      return report(ui, l.error());
    }
    lock.emplace(std::move(*l));
  }

  EngineState eng;
  probe_engine(ctx, eng);
  const bool nothing_asked = edit.changes.empty() && o.add_users.empty();
  // No engine at all: install (Debian/Ubuntu docker.io) and start it, on the real host.
  if (!eng.info && system_root && !rootless && eng.endpoint && eng.endpoint->source == "default") {
    auto allowed = install_allowed(ctx, o, eng.endpoint->uri);
    if (!allowed) {
      return report(ui, allowed.error());
    }
    if (!*allowed) {
      ui.out() << "no engine installed or started; daemon.json changes apply when it starts\n";
    } else {
      auto ok = install_and_start_engine(
          ctx, paths, eng.endpoint->uri, o.dry_run ? DryRun::yes : DryRun::no);
      if (!ok) {
        return report(ui, ok.error());
      }
      if (!o.dry_run) {
        probe_engine(ctx, eng);
      }
    }
  } else if (!eng.info) {
    ui.info(fmt::format("no engine answers at {}: daemon.json changes apply when it starts",
                        eng.endpoint ? eng.endpoint->uri : std::string("(unresolved)")));
  }
  if (auto ok = add_nvidia_runtime(ctx, paths, edit, nothing_asked); !ok) {
    return report(ui, ok.error());
  }
  if (!edit.changes.empty()) {
    if (const int rc = edit_daemon_json(ctx, o, paths, edit, eng); rc != 0) {
      return rc;
    }
  }
  std::vector<GroupAdd> users;
  for (const auto& u : o.add_users) {
    users.push_back({u, false});
  }
  if (nothing_asked && system_root) {
    // What doctor reports for the user who ran sudo: no access to the engine without the group.
    if (auto who = ctx.getenv("SUDO_USER"); who && !who->empty() && *who != "root") {
      users.push_back({*who, true});
    }
  }
  if (auto ok = add_users(ctx, o, users); !ok) {
    return report(ui, ok.error());
  }
  // The GPU lock directory every user's runs share (gpu/gpu_lock.hpp), and its tmpfiles.d entry.
  std::vector<std::string> lock_dir_changes;
  if (!rootless) {
    auto prepared = prepare_gpu_lock_dir(paths, o.dry_run ? DryRun::yes : DryRun::no);
    if (!prepared) {
      return report(ui, prepared.error());
    }
    lock_dir_changes = std::move(*prepared);
    for (const std::string& line : lock_dir_changes) {
      ui.out() << line << '\n';
    }
  }
  if (nothing_asked && edit.changes.empty() && users.empty() && lock_dir_changes.empty()) {
    ui.out() << "nothing to change: run 'furnace doctor' to see the state of this host\n";
  }
  return 0;
}

} // namespace furnace::setup

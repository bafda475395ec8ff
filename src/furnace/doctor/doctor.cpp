#include "doctor.hpp"

#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/endpoint.hpp>
#include <furnace/engine/stand_in.hpp>
#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/gpu/probe_factory.hpp>
#include <furnace/host/system.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <grp.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace furnace::doctor {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr unsigned long long k_gib = 1024ULL * 1024ULL * 1024ULL;
constexpr unsigned long long k_min_free = 20 * k_gib;

std::string start_engine_command(const std::string& root) {
  return host::systemd_is_init(host::Paths(root)) ? "sudo systemctl enable --now docker"
                                                  : "sudo service docker start";
}

std::string install_engine_command(const std::string& distro, const std::string& root) {
  if (host::debian_like(distro)) {
    return "sudo apt-get install -y docker.io && " + start_engine_command(root);
  }
  if (distro == "fedora" || distro == "rhel" || distro == "centos" || distro == "rocky" ||
      distro == "almalinux") {
    return "sudo dnf install -y moby-engine && sudo systemctl enable --now docker";
  }
  return "install Docker Engine for your distribution (https://docs.docker.com/engine/install/), "
         "then start it";
}

const char* toolkit_install_steps(const std::string& distro) {
  if (host::debian_like(distro)) {
    return "install the NVIDIA Container Toolkit: add NVIDIA's apt repository as "
           "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/"
           "install-guide.html describes, then 'sudo apt-get install -y nvidia-container-toolkit' "
           "and 'sudo nvidia-ctk runtime configure --runtime=docker'; restart the engine";
  }
  return "install the NVIDIA Container Toolkit "
         "(https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/"
         "install-guide.html), then 'sudo nvidia-ctk runtime configure --runtime=docker'; restart "
         "the engine";
}

// Free bytes of the file system holding `path`, walking up while the path is not readable
// (a non-root user cannot stat /var/lib/docker, but /var/lib is the same file system).
std::optional<std::pair<unsigned long long, std::string>> free_bytes(std::string path) {
  while (!path.empty()) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) == 0) {
      return std::make_pair(static_cast<unsigned long long>(st.f_bavail) * st.f_frsize, path);
    }
    if (path == "/") {
      break;
    }
    path = fs::path(path).parent_path().string();
  }
  return std::nullopt;
}

Check make(const char* id, const char* group, Status s, std::string summary, std::string fix = {}) {
  Check c;
  c.id = id;
  c.group = group;
  c.status = s;
  c.summary = std::move(summary);
  c.fix = std::move(fix);
  return c;
}

int major_version(const std::string& v) {
  return std::atoi(v.c_str());
}

// ---- engine ------------------------------------------------------------------------------

// The engine answers: ping, version and info; nullopt after a failed check.
struct EngineFacts {
  bool podman = false;
  engine::VersionInfo version;
  engine::EngineInfo info;
};

std::optional<EngineFacts> check_reachable(Host& host, Report& r, const std::string& distro) {
  if (host.engine == nullptr) {
    const core::Error& e = *host.endpoint_error;
    r.checks.push_back(make("engine.reachable", "engine", Status::fail, e.message, e.hint));
    return std::nullopt;
  }
  auto ping = host.engine->ping();
  if (!ping) {
    const core::Error& e = ping.error();
    std::string fix = e.hint;
    if (e.kind == core::ErrorKind::unavailable && host.endpoint_source == "default") {
      const bool installed = util::find_in_path("dockerd", host.path_var + ":/usr/sbin:/usr/bin") ||
                             util::find_in_path("podman", host.path_var);
      fix = installed ? fmt::format("the engine is installed but not running: {}",
                                    start_engine_command(host.host_root))
                      : fmt::format("no engine is installed: {}",
                                    install_engine_command(distro, host.host_root));
    }
    Check c = make("engine.reachable", "engine", Status::fail, e.message, fix);
    c.details = {{"endpoint", host.engine->endpoint()}, {"source", host.endpoint_source}};
    r.checks.push_back(std::move(c));
    return std::nullopt;
  }
  auto version = host.engine->version();
  auto info = host.engine->info();
  if (!version || !info) {
    const core::Error& e = !version ? version.error() : info.error();
    r.checks.push_back(make("engine.reachable",
                            "engine",
                            Status::fail,
                            fmt::format("the engine answers ping but not queries: {}", e.message),
                            e.hint.empty() ? "check 'sudo journalctl -u docker'" : e.hint));
    return std::nullopt;
  }
  EngineFacts facts{ping->podman, *version, *info};
  const std::string product = ping->podman ? "Podman" : "Docker Engine";
  Check reach = make("engine.reachable",
                     "engine",
                     Status::ok,
                     fmt::format("{} {} at {} (API {}, {})",
                                 product,
                                 version->version,
                                 host.engine->endpoint(),
                                 version->api_version,
                                 host.endpoint_source));
  reach.details = {{"endpoint", host.engine->endpoint()},
                   {"source", host.endpoint_source},
                   {"podman", ping->podman}};
  r.checks.push_back(std::move(reach));
  return facts;
}

// --gpus needs Docker 19.03; furnace tests against 20.10 and newer.
void check_engine_version(Report& r, const std::string& distro, bool podman,
                          const engine::VersionInfo& version) {
  const std::string product = podman ? "Podman" : "Docker Engine";
  const int major = major_version(version.version);
  if (!podman && major > 0 && major < 19) {
    r.checks.push_back(
        make("engine.version",
             "engine",
             Status::fail,
             fmt::format("Docker {} is too old for --gpus (needs 19.03+)", version.version),
             host::debian_like(distro) ? "sudo apt-get install -y docker.io (upgrade)"
                                 : "upgrade the Docker engine"));
  } else if (!podman && major > 0 && major < 20) {
    r.checks.push_back(
        make("engine.version",
             "engine",
             Status::warn,
             fmt::format("Docker {}: works, but furnace is tested on 20.10+", version.version),
             "upgrade the Docker engine"));
  } else {
    r.checks.push_back(make("engine.version",
                            "engine",
                            Status::ok,
                            fmt::format("{} {}, API {} (min {}), {} {}, kernel {}",
                                        product,
                                        version.version,
                                        version.api_version,
                                        version.min_api_version,
                                        version.os,
                                        version.arch,
                                        version.kernel)));
  }
}

// overlay2 (or another copy-on-write driver): vfs, devicemapper and aufs make images huge.
void check_storage(Report& r, const engine::EngineInfo& info) {
  const std::string& drv = info.storage_driver;
  Check storage = make("engine.storage",
                       "engine",
                       Status::ok,
                       fmt::format("{} storage, {} cgroup driver (cgroup v{}), data root {}",
                                   drv.empty() ? "unknown" : drv,
                                   info.cgroup_driver,
                                   info.cgroup_version.empty() ? "?" : info.cgroup_version,
                                   info.docker_root_dir));
  if (drv == "vfs" || drv == "devicemapper" || drv == "aufs") {
    storage.status = Status::warn;
    storage.summary += fmt::format(": {} copies whole layers and makes 5-10 GB framework images "
                                   "slow and huge",
                                   drv);
    storage.fix = "use overlay2: set \"storage-driver\": \"overlay2\" in /etc/docker/daemon.json "
                  "and restart the engine (images must be pulled again)";
  }
  storage.details = {{"storage_driver", drv},
                     {"cgroup_driver", info.cgroup_driver},
                     {"cgroup_version", info.cgroup_version},
                     {"docker_root_dir", info.docker_root_dir},
                     {"live_restore", info.live_restore}};
  r.checks.push_back(std::move(storage));
}

// Enough free space under the data root, when the engine is on this host.
void check_disk(Host& host, Report& r, const engine::EngineInfo& info) {
  if (host.engine_is_local && !info.docker_root_dir.empty()) {
    auto fb = free_bytes(host::Paths(host.host_root).host(info.docker_root_dir));
    if (!fb) {
      r.checks.push_back(
          make("engine.disk",
               "engine",
               Status::warn,
               fmt::format("cannot read free space under {}", info.docker_root_dir)));
    } else {
      Check disk = make(
          "engine.disk",
          "engine",
          Status::ok,
          fmt::format("{} free under {}", util::human_bytes(fb->first), info.docker_root_dir));
      if (fb->first < k_min_free) {
        disk.status = Status::warn;
        disk.summary += " (framework images are 4-10 GB each; 20 GiB or more is advised)";
        disk.fix = "free space with 'docker system prune' (removes stopped containers and "
                   "dangling images) or move the data root to a larger disk";
      }
      disk.details = {{"free_bytes", fb->first}, {"path", info.docker_root_dir}};
      r.checks.push_back(std::move(disk));
    }
  } else {
    r.checks.push_back(make("engine.disk",
                            "engine",
                            Status::warn,
                            "free space not checked: the engine is not on this host"));
  }
}

nlohmann::json engine_json(Host& host, bool podman, const engine::VersionInfo& version,
                           const engine::EngineInfo& info) {
  return {{"endpoint", host.engine->endpoint()},
              {"source", host.endpoint_source},
              {"podman", podman},
              {"platform", version.platform},
              {"version", version.version},
              {"api_version", version.api_version},
              {"min_api_version", version.min_api_version},
              {"os", version.os},
              {"arch", version.arch},
              {"kernel", version.kernel},
              {"storage_driver", info.storage_driver},
              {"docker_root_dir", info.docker_root_dir},
              {"cgroup_driver", info.cgroup_driver},
              {"cgroup_version", info.cgroup_version},
              {"runtimes", info.runtimes},
              {"default_runtime", info.default_runtime},
              {"registry_mirrors", info.registry_mirrors},
              {"insecure_registries", info.insecure_registries},
              {"cdi_spec_dirs", info.cdi_spec_dirs},
              {"live_restore", info.live_restore},
              {"containers_running", info.containers_running},
              {"ncpu", info.ncpu},
              {"mem_total", info.mem_total}};
}

std::optional<engine::EngineInfo> check_engine(Host& host, Report& r, const std::string& distro) {
  auto facts = check_reachable(host, r, distro);
  if (!facts) {
    return std::nullopt;
  }
  check_engine_version(r, distro, facts->podman, facts->version);
  check_storage(r, facts->info);
  check_disk(host, r, facts->info);
  r.engine = engine_json(host, facts->podman, facts->version, facts->info);
  return facts->info;
}

// ---- registry mirrors --------------------------------------------------------------------

void check_mirrors(Host& host, Report& r, const engine::EngineInfo& info) {
  if (info.registry_mirrors.empty()) {
    r.checks.push_back(make(
        "registry.mirrors",
        "registry",
        Status::warn,
        "no registry mirror: every Docker Hub pull goes to Docker Hub itself",
        "add a mirror near you: \"registry-mirrors\": [\"https://MIRROR\"] in "
        "/etc/docker/daemon.json, then 'sudo systemctl reload docker' (mirrors apply to Docker "
        "Hub images only)"));
    return;
  }
  for (const auto& url : info.registry_mirrors) {
    auto answer = host.probe_registry ? host.probe_registry(url)
                                      : core::Result<engine::RegistryAnswer>(core::fail(
                                            core::ErrorKind::internal, "no registry prober"));
    Check c;
    c.id = "registry.mirror";
    c.group = "registry";
    c.details = {{"url", url}};
    if (answer && (answer->status == 200 || answer->status == 401)) {
      c.status = Status::ok;
      c.summary = fmt::format(
          "{} answers /v2/ (HTTP {}, {:.0f} ms)", url, answer->status, answer->seconds * 1000.0);
      c.details["http_status"] = answer->status;
    } else {
      c.status = Status::warn;
      c.summary =
          answer ? fmt::format("{} answers /v2/ with HTTP {}: not a registry", url, answer->status)
                 : fmt::format("{} does not answer: {}", url, answer.error().message);
      c.fix = "pulls fall back to Docker Hub when the mirror fails; fix the mirror or remove it "
              "from \"registry-mirrors\" in /etc/docker/daemon.json and 'sudo systemctl reload "
              "docker'";
    }
    r.checks.push_back(std::move(c));
  }
}

// Stand-in images (scripts/test-engine.sh) under official names: fine for the tests, wrong for
// real work, and easy to mistake for the real thing.
void check_stand_ins(Host& host, Report& r) {
  auto images = host.engine->list_images();
  if (!images) {
    return; // engine.reachable already says what is wrong
  }
  std::vector<std::string> names;
  for (const auto& img : *images) {
    if (!engine::is_stand_in(img.labels)) {
      continue;
    }
    for (const auto& t : img.repo_tags) {
      if (t.rfind("furnace/", 0) != 0 && t.rfind("furnace-user/", 0) != 0) {
        names.push_back(t); // the stand-in itself, not the projects built on it
      }
    }
  }
  if (names.empty()) {
    return;
  }
  std::sort(names.begin(), names.end());
  Check c = make("images.stand_in",
                 "engine",
                 Status::warn,
                 fmt::format("{} stand-in image{} under official names (Debian's CPU builds from "
                             "furnace's test engine, no CUDA): {}",
                             names.size(),
                             names.size() == 1 ? "" : "s",
                             fmt::join(names, ", ")),
                 fmt::format("not for real work: 'docker rmi {}', stop the test engine ('sudo "
                             "scripts/test-engine.sh down') and pull the "
                             "official images",
                             fmt::join(names, " ")));
  c.details = {{"images", names}};
  r.checks.push_back(std::move(c));
}

// ---- GPUs --------------------------------------------------------------------------------

json gpu_json(const gpu::GpuInfo& g) {
  json gpus = json::array();
  for (const auto& d : g.gpus) {
    json procs = json::array();
    for (const auto& p : d.processes) {
      procs.push_back({{"pid", p.pid},
                       {"user", p.user},
                       {"command", p.command},
                       {"used_memory", p.used_memory}});
    }
    gpus.push_back({{"index", d.index},
                    {"name", d.name},
                    {"uuid", d.uuid},
                    {"compute_capability", d.compute_capability()},
                    {"sm", d.sm()},
                    {"memory_total", d.memory_total},
                    {"memory_used", d.memory_used},
                    {"compute_mode", gpu::compute_mode_name(d.compute_mode)},
                    {"processes", procs}});
  }
  return {{"source", g.source},
          {"driver_version", g.driver_version},
          {"cuda_driver_version", g.cuda_driver_version},
          {"cuda_version", g.cuda_version()},
          {"gpus", gpus}};
}

std::string gpu_line(const gpu::Gpu& d) {
  std::string line = fmt::format("GPU {}  {}  compute capability {} ({})  {} total, {} used  {}",
                                 d.index,
                                 d.name,
                                 d.compute_capability(),
                                 d.sm(),
                                 util::human_bytes(d.memory_total),
                                 util::human_bytes(d.memory_used),
                                 d.uuid);
  if (d.compute_mode != gpu::ComputeMode::shared) {
    // Only one process at a time (or none): furnace never hands such a GPU to a second one.
    std::string mode = gpu::compute_mode_name(d.compute_mode);
    std::transform(mode.begin(), mode.end(), mode.begin(), [](unsigned char c) {
      return static_cast<char>(std::toupper(c));
    });
    line += "  compute mode " + mode;
  }
  for (const auto& p : d.processes) {
    line += fmt::format("\n  process {} {} ({}) {}",
                        p.pid,
                        p.command.empty() ? "?" : p.command,
                        p.user.empty() ? "unknown user" : p.user,
                        util::human_bytes(p.used_memory));
  }
  return line;
}

std::optional<gpu::GpuInfo> check_gpus(Host& host, Report& r) {
  auto g = host.gpu->probe();
  if (!g) {
    const core::Error& e = g.error();
    if (e.kind == core::ErrorKind::not_found) {
      r.checks.push_back(make("gpu.driver",
                              "gpu",
                              Status::warn,
                              fmt::format("{}: furnace will run on the CPU", e.message),
                              e.hint));
    } else {
      r.checks.push_back(make("gpu.driver", "gpu", Status::fail, e.message, e.hint));
    }
    return std::nullopt;
  }
  Check driver = make("gpu.driver",
                      "gpu",
                      Status::ok,
                      fmt::format("NVIDIA driver {}, supports CUDA up to {} (via {})",
                                  g->driver_version,
                                  g->cuda_version().empty() ? "?" : g->cuda_version(),
                                  g->source));
  driver.details = {{"driver_version", g->driver_version},
                    {"cuda_version", g->cuda_version()},
                    {"source", g->source}};
  r.checks.push_back(std::move(driver));
  r.gpu = gpu_json(*g);

  if (g->gpus.empty()) {
    r.checks.push_back(make("gpu.devices",
                            "gpu",
                            Status::warn,
                            "the driver is loaded but reports no GPU",
                            "check 'nvidia-smi' and 'dmesg | grep -i nvidia'; a GPU may have "
                            "fallen off the bus (reboot) or be hidden by CUDA_VISIBLE_DEVICES"));
    return g.value();
  }
  Check devs = make("gpu.devices",
                    "gpu",
                    Status::ok,
                    fmt::format("{} GPU{}", g->gpus.size(), g->gpus.size() == 1 ? "" : "s"));
  std::vector<std::string> names;
  for (const auto& d : g->gpus) {
    for (const auto& l : util::split(gpu_line(d), '\n')) {
      devs.lines.push_back(l);
    }
  }
  devs.details = {{"count", g->gpus.size()}};
  r.checks.push_back(std::move(devs));
  return g.value();
}

// The shared GPU lock directory: there, and safe (gpu/gpu_lock.hpp's rules).
void check_gpu_locks(Host& host, Report& r) {
  const std::string dir = host::Paths(host.host_root).host("/run/furnace/gpu");
  struct stat sb {};
  if (::lstat(dir.c_str(), &sb) != 0) {
    r.checks.push_back(make("gpu.locks",
                            "gpu",
                            Status::warn,
                            fmt::format("{} does not exist: until root's first run makes it, each "
                                        "user's GPU locks are private (two users' 'auto' runs may "
                                        "pick the same GPU)",
                                        dir),
                            "sudo furnace setup (makes it now, and at every boot through "
                            "/etc/tmpfiles.d/furnace.conf)"));
    return;
  }
  if (auto ok = gpu::check_lock_dir(dir); !ok) {
    r.checks.push_back(make("gpu.locks", "gpu", Status::fail, ok.error().message, ok.error().hint));
    return;
  }
  const bool shared = (sb.st_mode & S_IWGRP) != 0;
  std::string group = std::to_string(sb.st_gid);
  if (const ::group* g = ::getgrgid(sb.st_gid); g != nullptr) {
    group = g->gr_name;
  }
  const std::string mode = fmt::format("{:04o}", sb.st_mode & 07777U);
  Check c = make("gpu.locks",
                 "gpu",
                 Status::ok,
                 shared ? fmt::format("GPU locks in {} (mode {}): shared by root and group {}",
                                      dir,
                                      mode,
                                      group)
                        : fmt::format("GPU locks in {} (mode {}): root's runs only; other users' "
                                      "locks are private to each",
                                      dir,
                                      mode));
  if (!shared) {
    c.status = Status::warn;
    c.fix = "sudo furnace setup (gives the directory the group furnace, else docker)";
  }
  c.details = {{"path", dir}, {"group", group}, {"mode", mode}};
  r.checks.push_back(std::move(c));
}

// ---- NVIDIA Container Toolkit ------------------------------------------------------------

void check_toolkit(Host& host,
                   Report& r,
                   const std::optional<engine::EngineInfo>& info,
                   bool have_gpus,
                   const std::string& distro) {
  const std::string path = host.path_var + ":/usr/bin:/usr/local/bin";
  json found = json::object();
  for (const char* tool : {"nvidia-ctk",
                           "nvidia-container-runtime",
                           "nvidia-container-runtime-hook",
                           "nvidia-container-cli"}) {
    auto p = util::find_in_path(tool, path);
    found[tool] = p ? json(*p) : json(nullptr);
  }
  const bool runtime_bin = !found["nvidia-container-runtime"].is_null();
  const bool hook_bin = !found["nvidia-container-runtime-hook"].is_null();
  const bool any = runtime_bin || hook_bin || !found["nvidia-ctk"].is_null();
  if (!any) {
    Check c = make("toolkit.installed",
                   "toolkit",
                   have_gpus ? Status::fail : Status::ok,
                   have_gpus ? "NVIDIA Container Toolkit not installed: containers cannot use "
                               "the GPUs"
                             : "NVIDIA Container Toolkit not installed (not needed: no NVIDIA GPU)",
                   have_gpus ? toolkit_install_steps(distro) : "");
    c.details = {{"binaries", found}};
    r.checks.push_back(std::move(c));
    return;
  }
  std::vector<std::string> present;
  for (const auto& [k, v] : found.items()) {
    if (!v.is_null()) {
      present.push_back(k);
    }
  }
  Check inst = make("toolkit.installed",
                    "toolkit",
                    Status::ok,
                    fmt::format("NVIDIA Container Toolkit: {}", fmt::join(present, ", ")));
  inst.details = {{"binaries", found}};
  r.checks.push_back(std::move(inst));

  if (info) {
    const bool registered =
        std::find(info->runtimes.begin(), info->runtimes.end(), "nvidia") != info->runtimes.end();
    if (registered) {
      r.checks.push_back(make("toolkit.runtime",
                              "toolkit",
                              Status::ok,
                              fmt::format("runtime 'nvidia' registered (runtimes: {})",
                                          fmt::join(info->runtimes, ", "))));
    } else {
      r.checks.push_back(make(
          "toolkit.runtime",
          "toolkit",
          hook_bin ? Status::warn : Status::fail,
          hook_bin ? "runtime 'nvidia' not registered in the engine ('--gpus' still works through "
                     "the hook; Compose and 'runtime: nvidia' setups need it)"
                   : "runtime 'nvidia' not registered in the engine",
          "sudo nvidia-ctk runtime configure --runtime=docker, then restart the engine"));
    }
    r.checks.push_back(
        make("toolkit.default-runtime",
             "toolkit",
             Status::ok,
             info->default_runtime == "nvidia"
                 ? "default runtime is nvidia"
                 : fmt::format("default runtime is {} (fine: furnace asks for GPUs with --gpus)",
                               info->default_runtime.empty() ? "unknown" : info->default_runtime)));
  }

  std::vector<std::string> specs;
  for (const char* dir : {"/etc/cdi", "/var/run/cdi"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(host::Paths(host.host_root).host(dir), ec)) {
      const auto ext = e.path().extension().string();
      if (ext == ".yaml" || ext == ".json") {
        specs.push_back(std::string(dir) + "/" + e.path().filename().string());
      }
    }
  }
  if (specs.empty()) {
    r.checks.push_back(make("toolkit.cdi",
                            "toolkit",
                            have_gpus ? Status::warn : Status::ok,
                            "no CDI specification in /etc/cdi or /var/run/cdi",
                            have_gpus
                                ? "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml "
                                  "(Podman and CDI-enabled Docker use it)"
                                : ""));
  } else {
    Check c = make("toolkit.cdi",
                   "toolkit",
                   Status::ok,
                   fmt::format("CDI specifications: {}", fmt::join(specs, ", ")));
    c.details = {{"specs", specs}};
    r.checks.push_back(std::move(c));
  }
}

// ---- a real GPU container ----------------------------------------------------------------

void check_gpu_container(Host& host,
                         Report& r,
                         const DoctorOptions& opts,
                         const std::optional<gpu::GpuInfo>& g) {
  const auto docker = util::find_in_path("docker", host.path_var);
  if (!docker) {
    r.checks.push_back(make("gpu.container",
                            "gpu",
                            Status::fail,
                            "the docker CLI is not on PATH: cannot run a test container",
                            "sudo apt-get install -y docker.io"));
    return;
  }
  // Named, so that a container whose CLI timed out is removed, not left behind.
  const std::string name = fmt::format("furnace-doctor-gpu-test-{}", ::getpid());
  const std::vector<std::string> argv{*docker,
                                      "run",
                                      "--rm",
                                      "--gpus",
                                      "all",
                                      "--label",
                                      "furnace.doctor=gpu-test",
                                      "--name",
                                      name,
                                      "--network",
                                      "none",
                                      opts.gpu_test_image,
                                      "nvidia-smi",
                                      "-L"};
  util::ProcessOptions po;
  po.timeout = std::chrono::milliseconds(180000);
  auto res = host.runner->run(argv, po);
  if (res && !res->status.ok()) {
    util::ProcessOptions rm;
    rm.timeout = std::chrono::milliseconds(30000);
    (void)host.runner->run({*docker, "rm", "-f", name}, rm);
  }
  Check c;
  c.id = "gpu.container";
  c.group = "gpu";
  c.details = {{"command", util::shell_join(argv)}, {"image", opts.gpu_test_image}};
  if (!res) {
    c.status = Status::fail;
    c.summary = res.error().message;
  } else if (!res->status.ok()) {
    c.status = Status::fail;
    const std::string err(util::trim(res->err.empty() ? res->out : res->err));
    c.summary = res->status.timed_out ? "the GPU test container did not finish in 180 s"
                                      : fmt::format("a GPU container fails: {}", err);
    if (err.find("could not select device driver") != std::string::npos) {
      c.fix = "the engine has no GPU support: install the NVIDIA Container Toolkit, 'sudo "
              "nvidia-ctk runtime configure --runtime=docker' and restart the engine";
    } else {
      c.fix = fmt::format("run '{}' to see the whole error", util::shell_join(argv));
    }
    c.details["exit_code"] = res->status.code;
    c.details["stderr"] = err;
  } else {
    std::vector<std::string> seen;
    for (const auto& l : util::split(res->out, '\n')) {
      if (!util::trim(l).empty()) {
        seen.emplace_back(util::trim(l));
      }
    }
    const std::size_t host_count = g ? g->gpus.size() : 0;
    c.status = seen.size() == host_count || !g ? Status::ok : Status::warn;
    c.summary = fmt::format("a container sees {} GPU{} (the host has {})",
                            seen.size(),
                            seen.size() == 1 ? "" : "s",
                            host_count);
    c.lines = seen;
    c.details["seen"] = seen;
  }
  r.checks.push_back(std::move(c));
}

} // namespace

Report run_checks(Host& host, const DoctorOptions& options) {
  FURNACE_ASSERT(host.gpu != nullptr && host.runner != nullptr);
  Report r;
  r.engine = nullptr;
  r.gpu = nullptr;
  const std::string distro = host::distro_id(host::Paths(host.host_root));
  auto info = check_engine(host, r, distro);
  if (info) {
    check_mirrors(host, r, *info);
    check_stand_ins(host, r);
  }
  auto g = check_gpus(host, r);
  if (g && !g->gpus.empty()) {
    check_gpu_locks(host, r);
  }
  check_toolkit(host, r, info, g && !g->gpus.empty(), distro);
  if (options.gpu_test) {
    if (info) {
      check_gpu_container(host, r, options, g);
    } else {
      r.checks.push_back(make("gpu.container",
                              "gpu",
                              Status::fail,
                              "no GPU container test: the engine is not reachable",
                              "fix engine.reachable first"));
    }
  }
  return r;
}

int run_doctor(core::Context& ctx, const DoctorOptions& options) {
  Host host;
  host.path_var = ctx.getenv("PATH").value_or("/usr/local/bin:/usr/bin:/bin");
  host.host_root = ctx.host_root;
  host.runner = &ctx.runner;
  std::unique_ptr<engine::DockerApi> api;
  auto ep = engine::resolve_endpoint(ctx.env);
  if (ep) {
    host.endpoint_source = ep->source;
    host.engine_is_local = ep->kind == engine::Endpoint::Kind::unix_socket;
    api = std::make_unique<engine::DockerApi>(*ep);
    host.engine = api.get();
  } else {
    host.endpoint_error = ep.error();
  }
  auto probe = gpu::make_probe(ctx);
  host.gpu = probe.get();
  host.probe_registry = [](const std::string& url) {
    return engine::probe_registry(url, std::chrono::milliseconds(3000));
  };
  Report report = run_checks(host, options);
  report.checks.insert(report.checks.end(), options.extra_checks.begin(),
                       options.extra_checks.end());
  if (options.json) {
    ctx.ui.out() << to_json(report).dump(2) << '\n';
  } else {
    print_human(report, ctx.ui);
  }
  return report.ok() ? 0 : 1;
}

} // namespace furnace::doctor

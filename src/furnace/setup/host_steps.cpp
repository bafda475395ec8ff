#include "host_steps.hpp"

#include <furnace/setup/engine_control.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace furnace::setup {
namespace {

using core::ErrorKind;

core::Result<util::ProcessOutput> run_checked(core::Context& ctx,
                                              DryRun dry,
                                              const std::vector<std::string>& argv,
                                              std::chrono::milliseconds timeout) {
  util::DryRunRunner printer(ctx.ui.out());
  util::ProcessRunner& runner =
      dry == DryRun::yes ? static_cast<util::ProcessRunner&>(printer) : ctx.runner;
  util::ProcessOptions opts;
  opts.timeout = timeout;
  auto r = runner.run(argv, opts);
  if (!r) {
    return core::fail(ErrorKind::not_found, r.error().message);
  }
  if (!r->status.ok()) {
    return core::fail(
        ErrorKind::remote,
        fmt::format("'{}' failed ({}): {}",
                    util::shell_join(argv),
                    r->status.timed_out ? "timed out" : "exit " + std::to_string(r->status.code),
                    util::trim(r->err.empty() ? r->out : r->err)));
  }
  return std::move(r).value();
}

} // namespace

std::vector<std::string> group_append_command(const std::string& user,
                                              const std::string& group,
                                              const std::string& path_var) {
  if (util::find_in_path("gpasswd", path_var)) {
    return {"gpasswd", "-a", user, group};
  }
  return {"usermod", "-a", "-G", group, user};
}

bool in_docker_group(const std::string& user) {
  const passwd* pw = ::getpwnam(user.c_str());
  const group* gr = ::getgrnam("docker");
  if (pw == nullptr || gr == nullptr) {
    return false;
  }
  bool member = gr->gr_gid == pw->pw_gid;
  for (char** m = gr->gr_mem; !member && m != nullptr && *m != nullptr; ++m) {
    member = user == *m;
  }
  return member;
}

core::Result<bool>
add_user_to_docker_group(core::Context& ctx, const std::string& user, DryRun dry) {
  const std::string path = ctx.getenv("PATH").value_or("/usr/bin:/bin") + ":/usr/sbin:/sbin";
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    return core::fail(ErrorKind::not_found,
                      fmt::format("no user named {}", user),
                      "check the name with 'getent passwd NAME'");
  }
  const gid_t primary = pw->pw_gid;
  const group* gr = ::getgrnam("docker");
  if (gr != nullptr) {
    bool member = gr->gr_gid == primary;
    for (char** m = gr->gr_mem; !member && m != nullptr && *m != nullptr; ++m) {
      member = user == *m;
    }
    if (member) {
      ctx.ui.out() << fmt::format("{} is already in the docker group\n", user);
      return false;
    }
  } else {
    auto made =
        run_checked(ctx, dry, {"groupadd", "--system", "docker"}, std::chrono::milliseconds(30000));
    if (!made) {
      return core::fail(made.error());
    }
  }
  auto added = run_checked(
      ctx, dry, group_append_command(user, "docker", path), std::chrono::milliseconds(30000));
  if (!added) {
    return core::fail(added.error());
  }
  if (dry == DryRun::no) {
    ctx.ui.out() << fmt::format("added {} to the docker group (other groups kept)\n", user);
  }
  ctx.ui.warn("the docker group is root-equivalent: its members can mount / into a container");
  ctx.ui.info(
      fmt::format("{} must log in again (or run 'newgrp docker') for the group to apply", user));
  return true;
}

ToolkitState detect_toolkit(const std::string& path_var) {
  ToolkitState t;
  t.runtime = util::find_in_path("nvidia-container-runtime", path_var);
  t.ctk = util::find_in_path("nvidia-ctk", path_var);
  return t;
}

std::string toolkit_install_steps(const std::string& distro) {
  if (host::debian_like(distro)) {
    return "  curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | sudo gpg --dearmor "
           "-o /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg\n"
           "  curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/"
           "nvidia-container-toolkit.list | sed 's#deb https://#deb "
           "[signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://#g' | "
           "sudo tee /etc/apt/sources.list.d/nvidia-container-toolkit.list\n"
           "  sudo apt-get update\n"
           "  sudo apt-get install -y nvidia-container-toolkit";
  }
  if (distro == "fedora" || distro == "rhel" || distro == "centos" || distro == "rocky" ||
      distro == "almalinux") {
    return "  curl -fsSL https://nvidia.github.io/libnvidia-container/stable/rpm/"
           "nvidia-container-toolkit.repo | sudo tee "
           "/etc/yum.repos.d/nvidia-container-toolkit.repo\n"
           "  sudo dnf install -y nvidia-container-toolkit";
  }
  return "  follow https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/"
         "install-guide.html for your distribution";
}

std::optional<std::string> runtime_path_from_ctk(util::ProcessRunner& runner,
                                                 const std::string& ctk,
                                                 const std::string& config_path) {
  util::ProcessOptions opts;
  opts.timeout = std::chrono::milliseconds(10000);
  auto r = runner.run(
      {ctk, "runtime", "configure", "--runtime=docker", "--dry-run", "--config=" + config_path},
      opts);
  if (!r || !r->status.ok()) {
    return std::nullopt;
  }
  const auto brace = r->out.find('{');
  if (brace == std::string::npos) {
    return std::nullopt;
  }
  try {
    const auto j = nlohmann::json::parse(r->out.substr(brace));
    const auto& p = j.at("runtimes").at("nvidia").at("path");
    if (p.is_string() && !p.get<std::string>().empty()) {
      return p.get<std::string>();
    }
  } catch (const nlohmann::json::exception&) {
  }
  return std::nullopt;
}

core::Result<void> install_and_start_engine(core::Context& ctx,
                                            const host::Paths& paths,
                                            const std::string& endpoint_uri,
                                            DryRun dry) {
  const std::string path = ctx.getenv("PATH").value_or("/usr/bin:/bin") + ":/usr/sbin:/sbin";
  const std::string distro = host::distro_id(paths);
  const bool installed = util::find_in_path("dockerd", path).has_value();
  if (!installed) {
    if (!host::debian_like(distro)) {
      return core::fail(ErrorKind::not_found,
                        "no container engine is installed",
                        "install Docker Engine for your distribution "
                        "(https://docs.docker.com/engine/install/), then run furnace setup again");
    }
    ctx.ui.info("no engine installed: installing Debian's docker.io");
    auto ok = run_checked(
        ctx, dry, {"apt-get", "install", "-y", "docker.io"}, std::chrono::milliseconds(900000));
    if (!ok) {
      return core::fail(ok.error());
    }
  } else {
    ctx.ui.info("the engine is installed but not answering: starting it (an existing Docker CE "
                "install is left as it is)");
  }
  if (host::systemd_is_init(paths)) {
    auto ok = run_checked(
        ctx, dry, {"systemctl", "enable", "--now", "docker"}, std::chrono::milliseconds(120000));
    if (!ok) {
      return core::fail(ok.error());
    }
  } else if (::access(paths.host("/etc/init.d/docker").c_str(), X_OK) == 0) {
    auto ok =
        run_checked(ctx, dry, {"service", "docker", "start"}, std::chrono::milliseconds(120000));
    if (!ok) {
      return core::fail(ok.error());
    }
  } else {
    const std::vector<std::string> argv{"dockerd", "--pidfile", "/var/run/docker.pid"};
    if (dry == DryRun::yes) {
      ctx.ui.out() << util::shell_join(argv) << " &\n";
      return {};
    }
    EngineControl control;
    control.manager = EngineControl::Manager::process;
    control.exe = util::find_in_path("dockerd", path).value_or("/usr/sbin/dockerd");
    control.argv = argv;
    control.log_path = "/var/log/furnace-dockerd.log";
    control.endpoint_uri = endpoint_uri;
    auto ok = restart_engine(control, ctx.runner, std::chrono::seconds(60));
    if (!ok) {
      return core::fail(ErrorKind::remote,
                        "dockerd did not start: " + ok.error().message,
                        "see /var/log/furnace-dockerd.log");
    }
    return {};
  }
  if (dry == DryRun::no && !wait_engine_up(endpoint_uri, std::chrono::milliseconds(60000))) {
    return core::fail(ErrorKind::unavailable,
                      fmt::format("the engine was started but does not answer at {}", endpoint_uri),
                      "see 'journalctl -u docker' or /var/log/docker.log");
  }
  return {};
}

} // namespace furnace::setup

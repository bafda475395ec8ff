#pragma once
// furnace lab: Jupyter in the project's environment, a front end over `furnace run`. The same
// pipeline (ensure_image, the user layer, the GPUs, plan_run, execute detached under the
// supervisor) with a Jupyter command, a port on 127.0.0.1 that the engine picks (no race between
// concurrent labs) and a token that never appears in argv or `docker inspect`: it is read by the
// server from a 0600 file of the caller's, mounted read-only, named by JUPYTER_TOKEN_FILE.
// docs/lab.md says the rest.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/run/launcher.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::run {

// The container label that marks a lab (value: "jupyter").
inline constexpr const char* k_label_lab = "org.furnace.lab";
// Where the server listens inside the container, and where the token file is mounted.
inline constexpr int k_lab_container_port = 8888;
inline constexpr const char* k_lab_token_target = "/run/furnace/jupyter-token";

struct LabOptions {
  std::string path = ".";
  std::string gpus;
  std::vector<std::string> env;
  std::vector<std::string> volumes; // -v HOST:CONTAINER[:ro], as for `furnace run`
  int port = 0;                     // 0: the engine picks a free one
  std::string shm_size;
  std::string memory;
  std::string cpus;
  std::string network;
  bool detach = false;     // -d: leave it running; print the URL and return
  bool url = false;        // --url: print the URL of this project's running lab(s) again
  bool no_browser = false; // never start a browser
  bool dry_run = false;
  int timeout_s = 180; // how long to wait for the server to answer
};

// Exit code: 0 when the lab ran (or started, -d), 125 when it did not start, 2 for bad options;
// --url: 1 when no lab of the project runs or its token cannot be read.
int run_lab(core::Context& ctx,
            const LabOptions& options,
            engine::Engine& engine,
            gpu::GpuProbe& probe,
            Launcher& launcher);

// The container's command: JupyterLab when the image has it, else the classic Notebook, else an
// error naming `jupyter: true`; --allow-root only when the container runs as root.
std::vector<std::string> jupyter_command();

// "http://127.0.0.1:PORT/?token=TOKEN" ("http://127.0.0.1:PORT/" without a token).
std::string lab_url(int port, std::string_view token);

// Over ssh (SSH_CONNECTION="client port server port"): the line to run on the user's own
// computer, "ssh [-p N] -L PORT:127.0.0.1:PORT USER@SERVER"; nullopt outside ssh.
std::optional<std::string> ssh_tunnel_line(const core::Env& env, const std::string& user, int port);

// The host port the engine published the server's port on at 127.0.0.1; 0 when none.
int lab_host_port(const std::vector<engine::PublishedPort>& ports);

// 32 random bytes from /dev/urandom as 64 hex digits. Errors: /dev/urandom unreadable.
core::Result<std::string> random_token();

// "<state dir>/labs/<name>.token": the caller's, 0600, in a 0700 directory.
std::string lab_token_path(const core::Env& env, const std::string& name);

// Whether a desktop session can show a browser: DISPLAY or WAYLAND_DISPLAY set, and not a
// plain ssh login (SSH_CONNECTION without a forwarded display is no desktop).
bool desktop_session(const core::Env& env);

} // namespace furnace::run

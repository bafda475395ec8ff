#pragma once
// `furnace run --gui`: X11 windows from the container on the caller's display, without opening
// the display to anyone else (never xhost). Two halves: `prepare_gui` does the host's part once
// per run (checks DISPLAY, writes a cookie file holding only this display's cookie, and for a
// display forwarded by `ssh -X` starts a relay from a socket to its TCP port), and `add_gui`
// (pure, called by plan_run) puts the mounts and variables into the container's spec, so that
// `--dry-run`, `furnace ide` and the run itself show the same thing. docs/gui.md explains it.

#include <furnace/core/context.hpp>
#include <furnace/core/error.hpp>
#include <furnace/run/container_spec.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace furnace::run {

enum class GuiMode {
  none,
  x11, // --gui, `gui: true`
  gl,  // --gui=gl, `gui: gl`: also the driver's graphics libraries (NVIDIA_DRIVER_CAPABILITIES)
};

// "x11"/"true" (what a bare --gui gives), "gl", "none"/"false"/"". `from` names the source in the
// error ("--gui", "furnace.yaml's gui"). Errors (usage): any other word.
core::Result<GuiMode> parse_gui_mode(std::string_view text, std::string_view from);

// Where the container finds the display: the X sockets' directory and the cookie file.
inline constexpr const char* k_container_x11_dir = "/tmp/.X11-unix";
inline constexpr const char* k_container_xauthority = "/tmp/.furnace-Xauthority";

// What prepare_gui made on the host for one run, as plain data (plan_run's input).
struct GuiHost {
  GuiMode mode = GuiMode::x11;
  std::string display;     // DISPLAY in the container: ":0", ":10.0"
  std::string socket_dir;  // host directory mounted read-only at k_container_x11_dir
  std::string cookie_file; // host file mounted read-only at k_container_xauthority
  std::string run_dir;     // the run's own host directory (the cookie, a relay's socket)
  std::string relay_to;    // "127.0.0.1:6010" when furnace relays an ssh -X display; else ""
};

// The X11 pieces of a container: the sockets' directory and the cookie file (both read-only),
// DISPLAY, XAUTHORITY, QT_X11_NO_MITSHM=1 (no shared memory without --ipc host), and with
// GuiMode::gl `graphics` in NVIDIA_DRIVER_CAPABILITIES. Pure.
void add_gui(ContainerSpec& spec, const GuiHost& gui);

struct GuiRequest {
  GuiMode mode = GuiMode::x11;
  std::string run_name;         // the container's name: the run directory's name
  std::optional<HostUser> user; // the invoking user: owns the files; nullopt: this process's
  std::string hostname;         // this host's name, for the cookie's entry
  bool dry_run = false;         // check and name the paths, write nothing, start nothing
};

// The host side of a GUI run. Its destructor removes the run directory (the cookie, a relay's
// socket) unless keep_for_detached_run() was called; in any case a small helper process (the
// relay, when there is one) removes it when the last furnace process of the run is gone: this
// one, or a detached run's supervisor (when the container ends or `furnace stop` ends it). So the
// cookie goes also after SIGINT/SIGTERM (the run ends normally) or a SIGKILL of furnace.
class GuiSession {
public:
  GuiSession() = default;
  GuiSession(GuiSession&& other) noexcept;
  GuiSession& operator=(GuiSession&& other) noexcept;
  GuiSession(const GuiSession&) = delete;
  GuiSession& operator=(const GuiSession&) = delete;
  ~GuiSession();

  const GuiHost& host() const { return m_host; }
  // A detached run: the files stay while its supervisor (which inherits the keep-alive) lives.
  void keep_for_detached_run() { m_keep = true; }

private:
  friend core::Result<GuiSession> prepare_gui(const core::Env& env, const GuiRequest& request);
  void finish();
  GuiHost m_host;
  int m_keepalive = -1; // write end: the helper ends when every copy is closed
  int m_helper = -1;    // the helper's pid
  bool m_keep = false;
  std::string m_socket; // the relay's socket on the host; "" when none
};

// Checks the display and prepares the host's side. `env` is furnace's environment: DISPLAY,
// WAYLAND_DISPLAY, XAUTHORITY (else the caller's ~/.Xauthority), TMPDIR. The run directory is
// <TMPDIR or /tmp>/furnace-gui-UID/RUN_NAME, 0700, owned by the caller; the cookie in it 0600.
// Errors: no DISPLAY (a Wayland session without XWayland, or none at all), a display furnace
// cannot reach, no X socket or nothing listening on an ssh -X port, no cookie for the display,
// a run directory it cannot make safely. Each names what is missing and how to get it.
core::Result<GuiSession> prepare_gui(const core::Env& env, const GuiRequest& request);

// The bytes of a cookie file for the display in `env` (this display's cookie alone, the family
// the wildcard), for a front end that keeps its own copy (a devcontainer's mount). Errors as
// prepare_gui's about DISPLAY and the cookie.
core::Result<std::string> display_cookie_file(const core::Env& env, const GuiRequest& request);

// `furnace ide --gui`: the display for a container that outlives furnace (an IDE starts and
// stops it). The cookie is the same one a run gets (this display's alone, family the wildcard),
// written to `cookie_file`, 0600, the caller's, in a 0700 directory of the caller's (made as
// needed), and replaced each time: a new login's cookie reaches the container on the next
// `furnace ide --gui` and its next start. The socket directory is the host's /tmp/.X11-unix.
// Errors: as prepare_gui's about DISPLAY and the cookie, and a display forwarded by ssh -X (its
// relay cannot outlive furnace): refused, saying to use a local display or `furnace run --gui`.
// With request.dry_run nothing is written.
core::Result<GuiHost> prepare_lasting_gui(const core::Env& env,
                                          const GuiRequest& request,
                                          const std::string& cookie_file);

// Where `furnace ide --gui` keeps a project's cookie: under the caller's home (under sudo the
// caller's, not root's), never in the project (it may be committed):
// ~/.local/state/furnace/ide-gui/NAME-HASH/Xauthority, HASH the first 12 hex digits of the
// SHA-256 of the project's root.
std::string lasting_cookie_path(const core::Env& env,
                                const std::optional<HostUser>& user,
                                const std::string& project_name,
                                const std::string& project_root);

} // namespace furnace::run

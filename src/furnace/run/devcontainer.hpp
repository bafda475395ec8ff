#pragma once
// `furnace ide`'s renderings of a RunPlan, pure: the Dev Container file
// (.devcontainer/devcontainer.json) that VS Code, the devcontainer CLI and JetBrains IDEs start
// the project's container from, the values for PyCharm's Docker interpreter dialog, and the rule
// for replacing a file that is already there (docs/ide.md).

#include <furnace/run/plan.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace furnace::run {

// What the renderings need besides the plan.
struct IdeInput {
  std::string tool = "vscode";             // "vscode" or "pycharm": named in the header
  std::string project_name;                // the devcontainer's "name"
  std::string python = "/usr/bin/python3"; // the image's interpreter (image facts)
  // Variables whose values are not written into the file, but taken from the environment of
  // whoever starts the container (`${localEnv:NAME}`): `-e NAME` (a value from this shell) and
  // any name that looks like a secret (ide_secret_name).
  std::set<std::string> from_host;
  // --dockerfile: "build" (the Dockerfile next to the file) instead of "image".
  bool build = false;
};

// A name that looks like it holds a secret: it contains TOKEN, SECRET, PASSWORD, PASSWD, KEY,
// CREDENTIAL or AUTH (any case), but XAUTHORITY (the path of --gui's cookie file, not a secret).
bool ide_secret_name(const std::string& name);

// The container's variables as the file carries them: the plan's values, except HOME (the
// remote user's own), and the names in `from_host`, secret-looking names and proxy URLs with a
// password (--proxy-env), which become "${localEnv:NAME}".
std::map<std::string, std::string> ide_env(const RunPlan& plan, const IdeInput& in);

// The `docker run` options of the plan that the Dev Container keys do not express, in one
// "--flag=value" string each: --init, no-new-privileges, /dev/shm or --ipc, the ulimits, the
// limits, the GPUs, the network, and furnace's labels (project, user, GPUs, org.furnace.ide).
// Derived from docker_run_command, so they follow whatever `furnace run` passes.
std::vector<std::string> ide_run_args(const RunPlan& plan, const IdeInput& in);

// The whole file: a comment header that records the SHA-256 of the JSON below it (so that furnace
// can tell its own unchanged file from one somebody edited), then the JSON. Byte-identical for
// the same inputs.
std::string render_devcontainer(const RunPlan& plan, const IdeInput& in);

// --dockerfile: the files next to devcontainer.json (name -> text): "Dockerfile" (the project's,
// then the steps of the user layer when there is a user) and the files its COPY lines read, each
// with a "#" header that records its hash like the devcontainer.json one.
std::map<std::string, std::string>
render_build_files(const std::string& dockerfile,
                   const std::map<std::string, std::string>& context,
                   const std::optional<HostUser>& user,
                   const std::string& tool);

// The text `furnace ide pycharm` prints: image, interpreter path, volume bindings, path
// mappings, run options (shell-quoted), working directory, and the variables to set by hand.
std::string render_pycharm(const RunPlan& plan, const IdeInput& in);

// Whether `text` is a file furnace wrote and nobody changed since: its header's hash matches.
bool written_by_furnace_unchanged(const std::string& text);

enum class IdeWrite {
  create,     // no file yet
  up_to_date, // the same bytes: nothing to do
  refresh,    // furnace's own, unchanged since: replace it
  replace,    // somebody else's or edited, and --force: replace it
  refuse,     // somebody else's or edited: show the diff, change nothing
};
IdeWrite
decide_write(const std::optional<std::string>& existing, const std::string& wanted, bool force);

// A unified diff (`diff -u`: "--- a", "+++ b", @@ hunks with three lines of context) from `before`
// to `after`; "" when they are equal.
std::string unified_diff(const std::string& before,
                         const std::string& after,
                         const std::string& before_label,
                         const std::string& after_label);

} // namespace furnace::run

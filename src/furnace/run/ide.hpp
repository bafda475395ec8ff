#pragma once
// `furnace ide vscode|pycharm`: the project's container, as `furnace run` would start it, written
// as .devcontainer/devcontainer.json for VS Code, the devcontainer CLI and JetBrains IDEs; for
// PyCharm also the values of its Docker interpreter dialog. A file somebody wrote or edited is
// never replaced without --force: its diff is shown instead (docs/ide.md).

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/run/command.hpp>
#include <furnace/run/launcher.hpp>

#include <string>

namespace furnace::run {

struct IdeOptions {
  std::string tool = "vscode"; // "vscode" or "pycharm"
  RunOptions run;              // the options `furnace run` takes that shape the container
  bool force = false;          // replace a file somebody else wrote or edited
  bool dockerfile = false;     // "build" from the generated Dockerfile instead of "image"
};

// Exit code: 0 written or up to date; 1 a file that is not furnace's own differs (the diff on
// stdout) or the write failed; 2 a bad option; the build's or 125 when the image or the engine
// failed.
int run_ide(core::Context& ctx,
            const IdeOptions& options,
            engine::Engine& engine,
            gpu::GpuProbe& probe,
            Launcher& launcher);

} // namespace furnace::run

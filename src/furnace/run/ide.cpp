#include "ide.hpp"

#include <furnace/image/facts.hpp>
#include <furnace/image/render.hpp>
#include <furnace/run/devcontainer.hpp>
#include <furnace/run/prepare.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/process.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <filesystem>

namespace furnace::run {

namespace {

namespace fs = std::filesystem;

// The file as it is now: nullopt when there is none. Errors: it cannot be read.
core::Result<std::optional<std::string>> read_existing(const std::string& path) {
  auto text = util::read_file(path);
  if (text) {
    return std::optional<std::string>(std::move(*text));
  }
  if (text.error().error_number == ENOENT) {
    return std::optional<std::string>();
  }
  return core::fail(core::ErrorKind::io, text.error().message);
}

core::Result<void> write(const std::string& path, const std::string& text) {
  std::error_code ec;
  util::make_directories(fs::path(path).parent_path().string(), ec); // the project owner's
  if (ec) {
    return core::fail(
        core::ErrorKind::io,
        fmt::format("cannot create {}: {}", fs::path(path).parent_path().string(), ec.message()));
  }
  auto w = util::write_file_atomic(path, text); // given to the directory's owner under sudo
  if (!w) {
    return core::fail(core::ErrorKind::io, w.error().message);
  }
  return {};
}

IdeInput ide_input(core::Context& ctx, const IdeOptions& o, const PlannedRun& p) {
  IdeInput in;
  in.tool = o.tool;
  in.build = o.dockerfile;
  in.project_name = p.image.project_name;
  if (auto facts = image::read_cached_facts(ctx.env, p.image.image_id);
      facts && !facts->python_path.empty()) {
    in.python = facts->python_path;
  }
  for (const std::string& e : o.run.env) {
    if (e.find('=') == std::string::npos) {
      in.from_host.insert(e);
    }
  }
  return in;
}

} // namespace

int run_ide(core::Context& ctx,
            const IdeOptions& o,
            engine::Engine& engine,
            gpu::GpuProbe& probe,
            Launcher& launcher) {
  auto planned = plan_without_running(ctx, o.run, engine, probe, launcher);
  if (!planned) {
    ctx.ui.error(planned.error());
    return planned.error().exit_code;
  }
  const IdeInput in = ide_input(ctx, o, *planned);
  std::vector<std::string> kept_out;
  for (const auto& [k, v] : ide_env(planned->plan, in)) {
    if (v == "${localEnv:" + k + "}") {
      kept_out.push_back(k);
    }
  }
  if (!kept_out.empty()) {
    ctx.ui.warn(fmt::format("the file does not hold the value of {}: the container takes it from "
                            "the environment the IDE starts in (${{localEnv:NAME}})",
                            fmt::join(kept_out, ", ")),
                "start the IDE (or 'devcontainer up') from a shell where they are set");
  }
  if (o.tool == "pycharm") {
    ctx.ui.out() << render_pycharm(planned->plan, in) << '\n';
  }
  const std::string root = planned->image.project_root;
  const std::string dir = root + "/.devcontainer";
  // Under sudo a link there would have root write (and give away) files wherever it points.
  std::error_code link_ec;
  if (fs::is_symlink(dir, link_ec)) {
    ctx.ui.error(core::make_error(
        core::ErrorKind::invalid,
        fmt::format("{} is a symbolic link: furnace does not write through it", dir),
        "make it a plain directory (move the files over) and run 'furnace ide' again"));
    return 1;
  }
  std::map<std::string, std::string> files; // path -> text
  files[dir + "/devcontainer.json"] = render_devcontainer(planned->plan, in);
  if (o.dockerfile) {
    image::ImageRequest request;
    request.path = root;
    request.network = o.run.network;
    auto rendered = image::render_project_dockerfile(ctx, request, engine, probe);
    if (!rendered) {
      ctx.ui.error(rendered.error());
      return rendered.error().exit_code;
    }
    for (auto& [name, text] : render_build_files(
             rendered->dockerfile, rendered->context, planned->plan.spec.user, o.tool)) {
      files[dir + "/" + name] = std::move(text);
    }
  }
  // Every file is decided before any is written: one refused file changes nothing.
  std::map<std::string, IdeWrite> what;
  std::vector<std::string> refused;
  for (const auto& [path, text] : files) {
    if (fs::is_symlink(path, link_ec)) { // neither read (the diff would show it) nor replaced
      ctx.ui.error(core::make_error(
          core::ErrorKind::invalid,
          fmt::format("{} is a symbolic link: furnace does not read or write through it", path),
          "make it a plain file (or remove it) and run 'furnace ide' again"));
      return 1;
    }
    auto existing = read_existing(path);
    if (!existing) {
      ctx.ui.error(existing.error());
      return 1;
    }
    what[path] = decide_write(*existing, text, o.force);
    if (what[path] == IdeWrite::refuse) {
      ctx.ui.out() << unified_diff(**existing, text, path, path + " (furnace)");
      refused.push_back(path);
    }
  }
  if (!refused.empty()) {
    ctx.ui.error(core::make_error(
        core::ErrorKind::invalid,
        fmt::format("{} {} written or edited by someone else: furnace leaves {} alone",
                    fmt::join(refused, ", "),
                    refused.size() == 1 ? "was" : "were",
                    refused.size() == 1 ? "it" : "them"),
        fmt::format("the diff above shows what furnace would write ('-' lines are yours); "
                    "'furnace ide {} --force' replaces {}",
                    o.tool,
                    refused.size() == 1 ? "the file" : "them")));
    return 1;
  }
  for (const auto& [path, text] : files) {
    if (what[path] == IdeWrite::up_to_date) {
      ctx.ui.info(fmt::format("{} is up to date", path));
      continue;
    }
    if (auto w = write(path, text); !w) {
      ctx.ui.error(w.error());
      return 1;
    }
    ctx.ui.info(fmt::format("{} {}", what[path] == IdeWrite::create ? "wrote" : "replaced", path));
  }
  if (o.tool == "vscode") {
    ctx.ui.info(fmt::format("open {} in VS Code and choose 'Reopen in Container', or: devcontainer "
                            "up --workspace-folder {}",
                            root,
                            util::shell_quote(root)));
  } else {
    ctx.ui.info("PyCharm 2023.2 and later: File > Remote Development > Dev Containers > New Dev "
                "Container > From Local Project, and pick that file");
  }
  return 0;
}

} // namespace furnace::run

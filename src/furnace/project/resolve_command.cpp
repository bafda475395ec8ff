#include "resolve_command.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/deps/project.hpp>
#include <furnace/project/host_facts.hpp>
#include <furnace/resolve/report.hpp>

#include <fmt/format.h>

#include <filesystem>

namespace furnace::project {

int run_resolve(core::Context& ctx, const ResolveOptions& options, gpu::GpuProbe& probe) {
  std::error_code ec;
  std::string root = options.path.empty() ? "." : options.path;
  if (!std::filesystem::is_directory(root, ec)) {
    ctx.ui.error(core::make_error(core::ErrorKind::not_found,
                                  fmt::format("cannot read project directory '{}': {}",
                                              root,
                                              ec ? ec.message() : "not a directory"),
                                  "give the directory of the project, e.g. 'furnace resolve .'"));
    return 1;
  }
  deps::Spec project = deps::parse_project(deps::list_project_files(root), deps::disk_reader(root));
  if (auto date = deps::git_commit_date(root)) {
    project.facts.push_back(std::move(*date));
  }
  for (const deps::Diagnostic& d : project.diagnostics) {
    if (d.code != "cuda_extension") {
      ctx.ui.warn(fmt::format("{}: {}", d.where.str(), d.message));
    }
  }
  // With both --gpu and --driver the plan is for another host: this one is not asked.
  core::Result<gpu::GpuInfo> probed =
      options.gpus.empty() || options.driver.empty()
          ? probe.probe()
          : core::Result<gpu::GpuInfo>(core::fail(core::ErrorKind::not_found, "not asked"));
  auto host = make_host(probed, options.gpus, options.driver, resolve::builtin_tables());
  if (!host) {
    ctx.ui.error(host.error());
    return host.error().exit_code;
  }
  host->image_python = read_image_pythons(core::dirs_from_env(ctx.env).cache);
  if (!probed && probed.error().kind != core::ErrorKind::not_found && options.gpus.empty()) {
    ctx.ui.warn(fmt::format("cannot query the GPUs: {}", probed.error().message),
                "run 'furnace doctor'");
  }
  const resolve::Plan plan = resolve::resolve(project, *host, options.overrides);
  if (options.json) {
    ctx.ui.out() << resolve::to_json(plan).dump(2) << '\n';
  } else {
    resolve::print_human(plan, ctx.ui);
  }
  if (plan.ok || (options.overrides.allow_incompatible && !plan.base_image.empty())) {
    return 0;
  }
  return 3;
}

} // namespace furnace::project

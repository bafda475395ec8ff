// furnace build: ensure_image, then the tag (or the build command of a dry run) on stdout.

#include "command.hpp"

#include <furnace/image/device.hpp>
#include <furnace/image/probe.hpp>
#include <furnace/image/verify.hpp>

#include <fmt/format.h>

namespace furnace::image {

namespace {

// The checks of `img`: from the facts cache when the probe after its build answered the same
// request, else one probe container (whose result is cached).
core::Result<Report> verify_image(core::Context& ctx, const BuiltImage& img, gpu::GpuProbe& probe) {
  const resolve::Plan plan = plan_from_json(img.plan_json);
  const ProbeRequest request = probe_request(plan);
  Report report;
  ProbeResult result;
  if (auto cached = read_cached_probe(ctx.env, img.image_id, request)) {
    result = std::move(*cached);
    report.cached = true;
  } else {
    auto probed = run_probe(ctx, img.tag, img.image_id, request);
    if (!probed) {
      return core::fail(probed.error());
    }
    result = std::move(probed->result);
  }
  std::optional<gpu::GpuInfo> host;
  if (auto info = probe.probe()) {
    host = std::move(*info);
  }
  const bool cached = report.cached;
  report = check(result, plan, host);
  report.cached = cached;
  report.image = img.tag;
  report.image_id = img.image_id;
  return report;
}

// The matrix multiply on the GPUs of `gpus` (none: nothing), as a `device` finding of `report`.
// An error when the GPUs cannot be chosen or the docker CLI is missing; a container the engine
// cannot start becomes a failed finding with the engine's message.
std::optional<core::Error> check_on_device(core::Context& ctx,
                                           const BuiltImage& img,
                                           const gpu::GpuRequest& gpus,
                                           gpu::GpuProbe& probe,
                                           const std::string& user,
                                           Report& report) {
  std::optional<gpu::GpuInfo> host;
  if (auto info = probe.probe()) {
    host = std::move(*info);
  }
  auto args = device_gpu_args(gpus, host, user);
  if (!args) {
    return args.error();
  }
  if (args->empty()) {
    return std::nullopt;
  }
  const std::string framework = device_framework(plan_from_json(img.plan_json), report.facts);
  auto ran = run_device_check(ctx, img.tag, report.facts.python_path, framework, *args);
  if (!ran && ran.error().kind != core::ErrorKind::remote) {
    return ran.error();
  }
  DeviceResult result;
  if (ran) {
    result = std::move(*ran);
  } else {
    result.framework = framework;
    result.error = ran.error().message;
  }
  add_device_finding(result, report.facts, gpus.text, report);
  return std::nullopt;
}

} // namespace

int run_build(core::Context& ctx, const BuildOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe) {
  ImageRequest request;
  request.path = options.path;
  request.force = options.force;
  request.dry_run = options.dry_run;
  request.locked = options.locked;
  request.network = options.network;
  request.verify = !options.no_verify;
  gpu::MemoProbe memo(probe);
  auto img = ensure_image(ctx, request, engine, memo);
  if (!img) {
    ctx.ui.error(img.error());
    return img.error().exit_code;
  }
  int code = 0;
  if (img->built && !options.no_verify && !img->image_id.empty()) {
    auto report = verify_image(ctx, *img, memo);
    if (!report) {
      ctx.ui.warn(fmt::format("cannot verify {}: {}", img->tag, report.error().message),
                  "'furnace verify' re-checks it");
    } else {
      ctx.ui.info(summary_line(*report));
      if (!report->ok()) {
        warn_failures(*report, ctx.ui);
        ctx.ui.warn(fmt::format("{} is kept", img->tag),
                    "fix the above and build again; 'furnace verify' re-checks it");
        code = 1;
      }
    }
  }
  if (!img->build_command.empty()) {
    ctx.ui.out() << img->build_command << '\n';
  } else if (!(options.dry_run && img->image_id.empty())) {
    ctx.ui.out() << img->tag << '\n';
  }
  return code;
}

int run_verify(core::Context& ctx, const VerifyOptions& options, engine::Engine& engine,
               gpu::GpuProbe& probe) {
  std::optional<gpu::GpuRequest> gpus;
  if (!options.gpus.empty()) {
    auto parsed = gpu::parse_gpu_request(options.gpus);
    if (!parsed) {
      ctx.ui.error(parsed.error());
      return parsed.error().exit_code;
    }
    gpus = std::move(*parsed);
  }
  ImageRequest request;
  request.path = options.path;
  request.announce = Announce::builds_only;
  gpu::MemoProbe memo(probe);
  auto img = ensure_image(ctx, request, engine, memo);
  if (!img) {
    ctx.ui.error(img.error());
    return img.error().exit_code;
  }
  auto report = verify_image(ctx, *img, memo);
  if (!report) {
    ctx.ui.error(report.error());
    return report.error().exit_code;
  }
  if (gpus) {
    if (auto failed = check_on_device(ctx, *img, *gpus, memo, options.user, *report); failed) {
      ctx.ui.error(*failed);
      return failed->exit_code;
    }
  }
  if (options.json) {
    ctx.ui.out() << to_json(*report).dump(2) << '\n';
  } else {
    print_report(*report, ctx.ui);
  }
  return report->ok() ? 0 : 1;
}

}  // namespace furnace::image

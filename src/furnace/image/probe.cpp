// The probe container after a build (see probe.hpp).

#include "probe.hpp"

#include <furnace/image/builder.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <chrono>

namespace furnace::image {

core::Result<Probed> run_probe(core::Context& ctx,
                               const std::string& tag,
                               const std::string& image_id,
                               const ProbeRequest& request) {
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(180000);
  o.env = ctx.env;
  const HelperContainer helper = helper_container("probe");
  std::vector<std::string> args = probe_env_args(request);
  args.insert(args.end(), helper.run_args.begin(), helper.run_args.end());
  auto ran = ctx.runner.run(probe_command(docker_cli(ctx.env), tag, args), o);
  if (!ran) {
    return core::fail(core::ErrorKind::not_found, ran.error().message);
  }
  if (!ran->status.ok()) {
    remove_helper(ctx, helper); // a timeout killed the CLI, not the container
    const std::string err(util::trim(ran->err));
    return core::fail(core::ErrorKind::remote,
                      fmt::format("listing the packages of {} failed (exit {}){}",
                                  tag,
                                  ran->status.code,
                                  err.empty() ? "" : ": " + err));
  }
  Probed out;
  auto read = read_probe_output(ran->out, out.lock);
  if (!read) {
    return core::fail(read.error());
  }
  out.result = read_probe_result(ran->out, request);
  out.lock.facts = out.result.facts;
  out.lock.facts.python = out.lock.python;
  write_cached_probe(ctx.env, image_id, out.result);
  return out;
}

} // namespace furnace::image

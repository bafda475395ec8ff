// The matrix multiply on the device for `furnace verify --gpus` (see device.hpp).

#include "device.hpp"

#include <furnace/image/builder.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace furnace::image {

namespace {

// [[0, 1], [2, 3]] squared is [[2, 3], [6, 11]]: a product any working device gets right.
constexpr const char* k_program = R"PY(
import json, os, sys
out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
class NoGpu(Exception):
    pass
fw = os.environ.get("FURNACE_DEVICE_FRAMEWORK", "")
res = {"framework": fw, "ok": False, "device": "", "result": "", "error": ""}
try:
    if fw == "torch":
        import torch
        if not torch.cuda.is_available():
            raise NoGpu("torch.cuda.is_available() is False" +
                        ("" if torch.version.cuda else " (torch %s is a CPU build)" % torch.__version__))
        a = torch.arange(4.0, device="cuda").reshape(2, 2)
        r = (a @ a).cpu().tolist()
        res["device"] = torch.cuda.get_device_name(0)
    elif fw == "tensorflow":
        import tensorflow as tf
        lister = getattr(tf.config, "list_physical_devices", None) or \
            tf.config.experimental.list_physical_devices
        gpus = lister("GPU")
        if not gpus:
            raise NoGpu("tf.config.list_physical_devices('GPU') is empty")
        with tf.device("/GPU:0"):
            a = tf.reshape(tf.range(4.0), (2, 2))
            r = tf.matmul(a, a).numpy().tolist()
        res["device"] = gpus[0].name
    elif fw == "jax":
        import jax, jax.numpy as jnp
        devs = [d for d in jax.devices() if d.platform == "gpu"]
        if not devs:
            raise NoGpu("jax.devices() has no GPU: " + ", ".join(str(d) for d in jax.devices()))
        a = jax.device_put(jnp.arange(4.0).reshape(2, 2), devs[0])
        r = (a @ a).tolist()
        res["device"] = str(devs[0])
    else:
        raise NoGpu("no framework to run on the GPU")
    res["result"] = str(r)
    res["ok"] = r == [[2.0, 3.0], [6.0, 11.0]]
    if not res["ok"]:
        res["error"] = "the product is %s, not [[2.0, 3.0], [6.0, 11.0]]" % res["result"]
except BaseException as e:
    text = str(e).strip().splitlines()
    text = text[0] if text else ""
    res["error"] = text if isinstance(e, NoGpu) else "%s: %s" % (type(e).__name__, text)
out.write("#furnace-device " + json.dumps(res, sort_keys=True) + "\n")
out.flush()
)PY";

std::string str_of(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

std::string device_framework(const resolve::Plan& plan, const ImageFacts& facts) {
  const std::string fw = plan.framework.value_or("");
  if (fw == "pytorch" || fw == "torch") {
    return "torch";
  }
  if (fw == "tensorflow" || fw == "jax") {
    return fw;
  }
  return facts.framework;
}

std::string device_program() {
  return k_program;
}

std::optional<DeviceResult> read_device_result(std::string_view output) {
  constexpr std::string_view k_prefix = "#furnace-device ";
  for (const std::string& raw : util::split(output, '\n')) {
    const std::string_view line = util::trim(raw);
    if (line.substr(0, k_prefix.size()) != k_prefix) {
      continue;
    }
    const auto j = nlohmann::json::parse(line.substr(k_prefix.size()), nullptr, false);
    if (!j.is_object()) {
      continue;
    }
    DeviceResult r;
    r.framework = str_of(j, "framework");
    r.ok = j.value("ok", false);
    r.device = str_of(j, "device");
    r.result = str_of(j, "result");
    r.error = str_of(j, "error");
    return r;
  }
  return std::nullopt;
}

core::Result<std::vector<std::string>> device_gpu_args(const gpu::GpuRequest& request,
                                                       const std::optional<gpu::GpuInfo>& host,
                                                       const std::string& user) {
  using Kind = gpu::GpuRequest::Kind;
  if (request.kind == Kind::none) {
    return std::vector<std::string>{};
  }
  if (request.kind == Kind::all) {
    return std::vector<std::string>{"--gpus", "all"};
  }
  auto chosen = gpu::choose(request, host.value_or(gpu::GpuInfo{}), user, {});
  if (!chosen) {
    return core::fail(chosen.error());
  }
  return std::vector<std::string>{"--gpus",
                                  gpu::docker_gpus_value(chosen->indices, chosen->uuids)};
}

core::Result<DeviceResult> run_device_check(core::Context& ctx,
                                            const std::string& tag,
                                            const std::string& python,
                                            const std::string& framework,
                                            const std::vector<std::string>& gpu_args) {
  std::vector<std::string> argv{docker_cli(ctx.env), "run", "--rm", "--network", "none"};
  argv.insert(argv.end(), gpu_args.begin(), gpu_args.end());
  const HelperContainer helper = helper_container("gpu-check");
  argv.insert(argv.end(), helper.run_args.begin(), helper.run_args.end());
  argv.insert(argv.end(),
              {"-e",
               "FURNACE_DEVICE_FRAMEWORK=" + framework,
               "--entrypoint",
               python.empty() ? std::string("python3") : python,
               tag,
               "-c",
               device_program()});
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(180000);
  o.env = ctx.env;
  auto ran = ctx.runner.run(argv, o);
  if (!ran) {
    return core::fail(core::ErrorKind::not_found, ran.error().message);
  }
  if (!ran->status.ok()) {
    remove_helper(ctx, helper); // a timeout killed the CLI, not the container
  }
  if (auto r = read_device_result(ran->out)) {
    return *r;
  }
  const std::string err(util::trim(ran->err));
  return core::fail(core::ErrorKind::remote,
                    fmt::format("the GPU check container of {} failed (exit {}){}",
                                tag,
                                ran->status.code,
                                err.empty() ? "" : ": " + err));
}

void add_device_finding(const DeviceResult& r,
                        const ImageFacts& facts,
                        const std::string& gpus,
                        Report& report) {
  const std::string subject = r.device.empty() ? "--gpus " + gpus : r.device;
  if (r.ok) {
    report.findings.push_back(
        {"device",
         Status::ok,
         subject,
         fmt::format("{} matrix multiply on {}: {}", r.framework, r.device, r.result),
         "",
         "",
         ""});
    return;
  }
  std::string cause;
  std::string fix;
  if (!r.framework.empty() && facts.framework == r.framework && facts.cuda.empty() &&
      !facts.framework_version.empty()) {
    cause = fmt::format("the image's {} {} is a CPU build", r.framework, facts.framework_version);
    fix = "'furnace resolve' shows the CUDA build and index to use; build again";
  } else if (r.error.find("no kernel image") != std::string::npos) {
    cause = "the build has no kernels for this GPU (see the arch check)";
    fix = "allow a release with kernels for it and build again";
  } else if (r.framework.empty()) {
    fix = "name the framework in the requirements, or run 'furnace verify' without --gpus";
  } else {
    cause = "the container sees no working GPU: the driver, the NVIDIA Container Toolkit, or a "
            "framework build for another CUDA";
    fix = "'furnace doctor' checks the driver and the toolkit";
  }
  report.findings.push_back({"device",
                             Status::fail,
                             subject,
                             fmt::format("{} on the GPU (--gpus {}) failed: {}",
                                         r.framework.empty() ? "a matrix multiply" : r.framework,
                                         gpus,
                                         r.error),
                             std::move(cause),
                             std::move(fix),
                             ""});
}

} // namespace furnace::image

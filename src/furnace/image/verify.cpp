// The checks of `furnace verify` over values (see verify.hpp).

#include "verify.hpp"

#include <furnace/deps/pep440.hpp>
#include <furnace/resolve/compat_rules.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace furnace::image {

namespace {

using nlohmann::json;

std::string display_framework(const ImageFacts& f) {
  return f.framework.empty()
             ? std::string("no framework")
             : f.framework + (f.framework_version.empty() ? "" : " ") + f.framework_version;
}

// The first release of the framework (the compat tables) with kernels for the GPU: "torch 2.0.0
// (CUDA 11.8)"; "" when the tables know none.
std::string first_release_with_kernels(const std::string& framework,
                                       const gpu::Gpu& g,
                                       const resolve::Tables& tables) {
  std::optional<std::pair<deps::Version, std::string>> best;
  auto consider = [&](const deps::Version& v,
                      const std::string& text,
                      const std::string& cuda,
                      const resolve::ArchList& archs) {
    if (resolve::sass_for(archs, g.cc_major, g.cc_minor) != nullptr && (!best || v < best->first)) {
      best = std::pair(v, fmt::format("{} {} (CUDA {})", framework, text, cuda));
    }
  };
  if (framework == "torch") {
    for (const resolve::TorchRow& r : tables.torch) {
      consider(r.version, r.version_text, r.cuda, r.sm_archs);
    }
  } else if (framework == "tensorflow") {
    for (const resolve::TfRow& r : tables.tensorflow) {
      consider(r.version, r.version_text, r.cuda, r.cuda_archs);
    }
  }
  return best ? best->second : std::string();
}

void check_python(const ProbeResult& probe, const resolve::Plan& plan, Report& r) {
  const ImageFacts& f = probe.facts;
  if (!probe.facts_seen) {
    r.findings.push_back({"python",
                          Status::fail,
                          "python",
                          "the image's Python did not report its facts (no python3, or the probe "
                          "died)",
                          "",
                          "run 'furnace shell' and try 'python3 -c \"import sys\"'",
                          ""});
    return;
  }
  Finding ok{"python",
             Status::ok,
             "python",
             fmt::format("Python {} ({}), pip {}",
                         f.python,
                         f.python_path,
                         f.pip.empty() ? "not installed" : f.pip),
             "",
             "",
             ""};
  if (!plan.python.empty() && f.python != plan.python &&
      f.python.rfind(plan.python + ".", 0) != 0) {
    ok.status = Status::warn;
    ok.message += fmt::format("; the plan named Python {}", plan.python);
  }
  r.findings.push_back(std::move(ok));
}

void check_framework(const ProbeResult& probe, const resolve::Plan& plan, Report& r) {
  const ImageFacts& f = probe.facts;
  if (!probe.facts_seen || (!plan.framework && f.framework.empty())) {
    return;
  }
  if (f.framework.empty()) {
    r.findings.push_back({"framework",
                          Status::fail,
                          *plan.framework,
                          fmt::format("{} is not installed in the image", *plan.framework),
                          "the base image does not carry it and no requirement installed it",
                          "'furnace resolve' shows the plan; set 'base' in furnace.yaml to an "
                          "image with the framework",
                          ""});
    return;
  }
  if (!f.framework_error.empty()) {
    r.findings.push_back({"framework",
                          Status::fail,
                          f.framework,
                          fmt::format("import {} failed: {}", f.framework, f.framework_error),
                          "",
                          "'furnace shell' and import it to see the whole traceback",
                          ""});
    return;
  }
  std::string build = f.cuda.empty() ? "CPU build" : "CUDA " + f.cuda;
  if (!f.cudnn.empty()) {
    build += ", cuDNN " + f.cudnn;
  }
  Finding ok{"framework",
             Status::ok,
             f.framework,
             fmt::format("{} ({})", display_framework(f), build),
             "",
             "",
             ""};
  if (!plan.framework_version.empty() && !f.framework_version.empty() &&
      f.framework_version.rfind(plan.framework_version, 0) != 0) {
    ok.status = Status::warn;
    ok.message += fmt::format("; the plan named {}", plan.framework_version);
  }
  r.findings.push_back(std::move(ok));
}

// The packages a `pip check` line names: "a 1.0 has requirement b==2, but you have b 3." ->
// a, b; "a 1.0 requires b, which is not installed." -> a, b.
std::vector<std::string> pip_check_packages(const std::string& line) {
  std::vector<std::string> out;
  const auto first = line.find(' ');
  if (first == std::string::npos) {
    return out;
  }
  out.push_back(line.substr(0, first));
  for (const char* word : {"has requirement ", "requires "}) {
    const auto at = line.find(word);
    if (at != std::string::npos) {
      const std::size_t start = at + std::string_view(word).size();
      const auto end = line.find_first_of(" ,;<>=!~[", start);
      out.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
      break;
    }
  }
  return out;
}

void check_pip(const ProbeResult& probe, Report& r) {
  if (!probe.pip_check_exit) {
    return;
  }
  if (*probe.pip_check_exit == 0) {
    r.findings.push_back(
        {"pip-check", Status::ok, "", "pip check: no broken requirements", "", "", ""});
    return;
  }
  bool any = false;
  for (const std::string& raw : probe.pip_check) {
    const std::string line(util::trim(raw));
    if (line.empty() || line.find("No module named pip") != std::string::npos) {
      continue;
    }
    any = true;
    const auto pkgs = pip_check_packages(line);
    std::string subject;
    for (const std::string& p : pkgs) {
      subject += (subject.empty() ? "" : ", ") + p;
    }
    r.findings.push_back({"pip-check",
                          Status::fail,
                          subject,
                          "pip check: " + line,
                          "installed packages conflict: one requires a version the other "
                          "requirement or the image pinned differently",
                          "pin a compatible pair in the project's requirements and build again",
                          ""});
  }
  if (!any) {
    r.findings.push_back({"pip-check",
                          Status::warn,
                          "",
                          fmt::format("pip check could not run (exit {})", *probe.pip_check_exit),
                          "",
                          "",
                          ""});
  }
}

// A cause and a fix for an import's exception, where the message says one.
std::pair<std::string, std::string> import_advice(const ImportResult& i) {
  const std::string& e = i.error;
  if (!i.installed) {
    return {fmt::format("the distribution {} is not installed in the image", i.distribution),
            "check the build log: the requirement may have been skipped by a marker or an index"};
  }
  if (e.find(".so") != std::string::npos &&
      e.find("cannot open shared object") != std::string::npos) {
    return {"a system library the wheel needs is missing from the image",
            "add the Debian package that provides it to furnace.yaml's 'apt' list"};
  }
  if (e.rfind("ModuleNotFoundError", 0) == 0) {
    const auto q = e.find('\'');
    const auto q2 = q == std::string::npos ? q : e.find('\'', q + 1);
    const std::string missing = q2 == std::string::npos ? "" : e.substr(q + 1, q2 - q - 1);
    if (!missing.empty() && missing != i.module) {
      return {fmt::format("{} needs the module '{}', which is not installed", i.module, missing),
              fmt::format("add the distribution that provides '{}' to the requirements", missing)};
    }
    return {
        fmt::format("the module '{}' is not where {} should have put it", i.module, i.distribution),
        "a distribution of that name may not be the package the code means; check the name"};
  }
  if (e.rfind("ImportError: cannot import name", 0) == 0 || e.rfind("AttributeError", 0) == 0) {
    return {"an API this module uses is gone from the version of a dependency installed",
            "pin the dependency the message names to an older release"};
  }
  return {"", "'furnace shell' and import it to see the whole traceback"};
}

void check_imports(const ProbeResult& probe, const resolve::Plan& plan, Report& r) {
  std::map<std::string, std::string> source; // normalised distribution -> file:line
  for (const resolve::Package& p : plan.packages) {
    source.emplace(deps::normalize_name(p.name.substr(0, p.name.find('['))), p.source);
  }
  int ok = 0;
  for (const ImportResult& i : probe.imports) {
    if (i.ok) {
      ++ok;
      continue;
    }
    const auto it = source.find(deps::normalize_name(i.distribution));
    const std::string where = it == source.end() ? std::string() : it->second;
    auto [cause, fix] = import_advice(i);
    r.findings.push_back({"import",
                          Status::fail,
                          i.module,
                          fmt::format("{}{}cannot import {} (from {}): {}",
                                      where,
                                      where.empty() ? "" : ": ",
                                      i.module,
                                      i.distribution,
                                      i.error),
                          std::move(cause),
                          std::move(fix),
                          where});
  }
  if (!probe.request.distributions.empty()) {
    r.findings.push_back({"import",
                          Status::ok,
                          "",
                          fmt::format("{} of {} modules of {} requirements import",
                                      ok,
                                      probe.imports.size(),
                                      probe.request.distributions.size()),
                          "",
                          "",
                          ""});
  }
}

// The framework's kernels against one GPU (the resolver's arch rule, compat_rules.hpp, on the
// measured arch list); returns the arch word for the summary.
std::string check_gpu_arch(const ImageFacts& f,
                           const gpu::Gpu& g,
                           resolve::DriverKind driver,
                           const resolve::Tables& tables,
                           Report& r) {
  std::string joined;
  for (const std::string& a : f.arch_list) {
    joined += (joined.empty() ? "" : ";") + a;
  }
  const resolve::ArchList archs = resolve::parse_arch_list(joined);
  const resolve::CudaRow* toolkit = tables.find_cuda(f.cuda);
  const resolve::ArchVerdict v = resolve::arch_rule(archs, toolkit, g.cc_major, g.cc_minor, driver);
  const std::string who = fmt::format("GPU {} ({}, {})", g.index, g.name, g.sm());
  if (v.kind == resolve::ArchKind::sass) {
    r.findings.push_back(
        {"arch",
         Status::ok,
         g.sm(),
         fmt::format("{}: {} has kernels for it ({})", who, display_framework(f), v.via),
         "",
         "",
         ""});
    return "ok";
  }
  if (v.kind == resolve::ArchKind::ptx) {
    r.findings.push_back(
        {"arch",
         Status::warn,
         g.sm(),
         fmt::format("{}: no {} kernels in {}; the driver JIT-compiles its {} PTX at the first "
                     "start (several minutes for a framework, then cached in ~/.nv/ComputeCache)",
                     who,
                     g.sm(),
                     display_framework(f),
                     v.via),
         "",
         "",
         ""});
    return "ok (PTX JIT)";
  }
  // PTX that only minor-version compatibility keeps from running
  const bool ptx_blocked =
      driver == resolve::DriverKind::minor_compat &&
      resolve::ptx_for(archs, toolkit, g.cc_major, g.cc_minor, resolve::DriverKind::full) !=
          nullptr;
  const std::string first = first_release_with_kernels(f.framework, g, tables);
  r.findings.push_back(
      {"arch",
       Status::fail,
       g.sm(),
       fmt::format("{}: {} (CUDA {}) has no kernels for {}; its arch list: {}",
                   who,
                   display_framework(f),
                   f.cuda,
                   g.sm(),
                   archs.empty() ? "(none)" : archs.str()),
       ptx_blocked
           ? fmt::format("its PTX needs JIT compilation, which the driver cannot do while it runs "
                         "CUDA {} through minor-version compatibility",
                         f.cuda)
           : fmt::format("the build predates {} or leaves it out: it would fail at the first "
                         "CUDA operation ('no kernel image is available')",
                         g.sm()),
       ptx_blocked ? std::string("update the NVIDIA driver to at least the build's CUDA minimum")
       : first.empty() ? fmt::format("a {} build with {} kernels", f.framework, g.sm())
                       : fmt::format("{} is the first release with {} kernels: allow it in the "
                                     "requirements and run 'furnace build'",
                                     first,
                                     g.sm()),
       ""});
  return "not ok";
}

// The driver against the build's CUDA (the resolver's driver rule, compat_rules.hpp).
void check_driver(const ImageFacts& f,
                  const gpu::GpuInfo& host,
                  const resolve::DriverVerdict& v,
                  const resolve::Tables& tables,
                  Report& r) {
  const resolve::CudaRow* row = tables.find_cuda(f.cuda);
  const bool by_version = row != nullptr && !host.driver_version.empty();
  switch (v.kind) {
  case resolve::DriverKind::unknown:
    return; // nothing known to compare
  case resolve::DriverKind::full:
    r.findings.push_back(
        {"driver",
         Status::ok,
         host.driver_version,
         by_version
             ? fmt::format("driver {} >= {}, the minimum for CUDA {}",
                           host.driver_version,
                           row->min_driver.value,
                           f.cuda)
             : fmt::format("the driver supports CUDA {} (>= {})", host.cuda_version(), f.cuda),
         "",
         "",
         ""});
    return;
  case resolve::DriverKind::minor_compat:
    r.findings.push_back(
        {"driver",
         Status::warn,
         host.driver_version,
         fmt::format("driver {} is older than {} (CUDA {}'s) but runs it "
                     "through minor-version compatibility: no PTX JIT",
                     host.driver_version,
                     row->min_driver.empty() ? std::string("its minimum") : row->min_driver.value,
                     f.cuda),
         "",
         "",
         ""});
    return;
  case resolve::DriverKind::too_old:
    break;
  }
  r.findings.push_back(
      {"driver",
       Status::fail,
       host.driver_version,
       fmt::format("driver {} (CUDA {}) is too old for the build's CUDA {}",
                   host.driver_version,
                   host.cuda_version(),
                   f.cuda),
       "the framework was built with a newer CUDA than this driver runs",
       "update the NVIDIA driver, or allow a build for an older CUDA ('furnace resolve' picks one "
       "for this driver)",
       ""});
}

void check_host(const ImageFacts& f,
                const std::optional<gpu::GpuInfo>& host,
                const resolve::Tables& tables,
                Report& r) {
  if (f.framework.empty() || !f.framework_error.empty()) {
    r.arch = "unknown";
    return;
  }
  if (!host || host->gpus.empty()) {
    r.arch = "no GPU";
    return;
  }
  if (f.cuda.empty()) {
    r.arch = "not ok";
    r.findings.push_back({"arch",
                          Status::fail,
                          "cpu",
                          fmt::format("{} is a CPU build: the {} GPU(s) here go unused",
                                      display_framework(f),
                                      host->gpus.size()),
                          "the framework came from an index or a package without CUDA",
                          "'furnace resolve' shows the CUDA build and index to use; build again",
                          ""});
    return;
  }
  const resolve::DriverVerdict driver = resolve::driver_rule(
      f.cuda, tables.find_cuda(f.cuda), host->driver_version, host->cuda_version());
  if (f.arch_list.empty() && f.framework != "jax") {
    r.arch = "unknown";
    r.findings.push_back(
        {"arch",
         Status::warn,
         "",
         fmt::format("{} did not report its GPU architectures", display_framework(f)),
         "",
         "",
         ""});
  } else if (f.framework != "jax") {
    r.arch = "ok";
    for (const gpu::Gpu& g : host->gpus) {
      const std::string word = check_gpu_arch(f, g, driver.kind, tables, r);
      if (word == "not ok" || (word != "ok" && r.arch == "ok")) {
        r.arch = word;
      }
    }
  }
  check_driver(f, *host, driver, tables, r);
}

const char* status_name(Status s) {
  switch (s) {
  case Status::ok:
    return "ok";
  case Status::warn:
    return "warn";
  case Status::fail:
    return "fail";
  }
  return "fail";
}

} // namespace

bool Report::ok() const {
  return std::none_of(
      findings.begin(), findings.end(), [](const Finding& f) { return f.status == Status::fail; });
}

Report check(const ProbeResult& probe,
             const resolve::Plan& plan,
             const std::optional<gpu::GpuInfo>& host,
             const resolve::Tables& tables) {
  Report r;
  r.facts = probe.facts;
  check_python(probe, plan, r);
  check_framework(probe, plan, r);
  check_pip(probe, r);
  check_imports(probe, plan, r);
  check_host(probe.facts, host, tables, r);
  return r;
}

std::string summary_line(const Report& r) {
  const ImageFacts& f = r.facts;
  const auto failed = std::count_if(r.findings.begin(), r.findings.end(), [](const Finding& x) {
    return x.status == Status::fail;
  });
  std::string head =
      r.ok() ? fmt::format("verified {}", r.image)
             : fmt::format(
                   "verify failed for {} ({} problem{})", r.image, failed, failed == 1 ? "" : "s");
  return fmt::format("{}: Python {}, {} ({}), arch {}",
                     head,
                     f.python.empty() ? "none" : f.python,
                     display_framework(f),
                     f.cuda.empty() ? "CPU build" : "CUDA " + f.cuda,
                     r.arch);
}

json to_json(const Report& r) {
  json findings = json::array();
  for (const Finding& f : r.findings) {
    findings.push_back({{"check", f.check},
                        {"status", status_name(f.status)},
                        {"subject", f.subject},
                        {"message", f.message},
                        {"cause", f.cause},
                        {"fix", f.fix},
                        {"source", f.source}});
  }
  return json{{"schema_version", 1},
              {"image", r.image},
              {"image_id", r.image_id},
              {"ok", r.ok()},
              {"cached", r.cached},
              {"facts", to_json(r.facts)},
              {"arch", r.arch},
              {"checks", findings},
              {"summary", summary_line(r)}};
}

void print_report(const Report& r, core::Ui& ui) {
  for (const Finding& f : r.findings) {
    const char* style =
        f.status == Status::ok ? "green" : (f.status == Status::warn ? "yellow" : "red");
    ui.out() << ui.paint(fmt::format("{:<5}", status_name(f.status)), style)
             << fmt::format("{:<10}{}\n", f.check, f.message);
    if (!f.cause.empty()) {
      ui.out() << "               cause: " << f.cause << '\n';
    }
    if (!f.fix.empty() && f.status != Status::ok) {
      ui.out() << "               fix: " << f.fix << '\n';
    }
  }
  ui.out() << summary_line(r) << '\n';
}

void warn_failures(const Report& r, core::Ui& ui) {
  for (const Finding& f : r.findings) {
    if (f.status == Status::fail) {
      ui.warn(f.message + (f.cause.empty() ? "" : " (" + f.cause + ")"), f.fix);
    }
  }
}

} // namespace furnace::image

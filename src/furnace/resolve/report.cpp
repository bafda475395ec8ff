#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace furnace::resolve {

namespace {

nlohmann::json null_if_empty(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

} // namespace

nlohmann::json to_json(const Plan& plan) {
  using nlohmann::json;
  json j;
  j["framework"] = plan.framework ? json(*plan.framework) : json(nullptr);
  j["framework_version"] = null_if_empty(plan.framework_version);
  j["python"] = null_if_empty(plan.python);
  j["python_source"] = null_if_empty(plan.python_source);
  j["python_install"] = plan.python_install;
  j["era"] =
      plan.era_date.empty()
          ? json(nullptr)
          : json{{"date", plan.era_date}, {"source", plan.era_source}, {"detail", plan.era_detail}};
  j["cuda"] = plan.cuda ? json(*plan.cuda) : json(nullptr);
  j["cudnn"] = null_if_empty(plan.cudnn);
  j["base_image"] = null_if_empty(plan.base_image);
  j["image_unverified"] = plan.image_unverified;
  j["pip_index"] = null_if_empty(plan.pip_index);
  json packages = json::array();
  for (const Package& p : plan.packages) {
    json pj{{"name", p.name}, {"specifier", p.specifier}, {"source", p.source}};
    if (!p.marker.empty()) {
      pj["marker"] = p.marker;
    }
    if (p.from_image) {
      pj["from_image"] = true;
    }
    packages.push_back(std::move(pj));
  }
  j["packages"] = std::move(packages);
  json evidence = json::array();
  for (const Evidence& e : plan.evidence) {
    evidence.push_back({{"kind", e.kind},
                        {"text", e.text},
                        {"source", e.source},
                        {"confidence", e.confidence},
                        {"used", e.used}});
  }
  j["evidence"] = std::move(evidence);
  json reasons = json::array();
  for (const Reason& r : plan.reasons) {
    json ev = json::array();
    for (const std::string& s : r.evidence) {
      if (!s.empty()) {
        ev.push_back(s);
      }
    }
    reasons.push_back(
        {{"message", r.message}, {"evidence", std::move(ev)}, {"unverified", r.unverified}});
  }
  j["reasons"] = std::move(reasons);
  json warnings = json::array();
  for (const Warning& w : plan.warnings) {
    warnings.push_back({{"code", w.code}, {"message", w.message}});
  }
  j["warnings"] = std::move(warnings);
  json alternatives = json::array();
  for (const Alternative& a : plan.alternatives) {
    alternatives.push_back({{"framework", a.framework},
                            {"framework_version", a.framework_version},
                            {"cuda", a.cuda},
                            {"python", a.python},
                            {"base_image", a.base_image},
                            {"note", a.note}});
  }
  j["alternatives"] = std::move(alternatives);
  json gpus = json::array();
  for (const HostGpu& g : plan.host.gpus) {
    gpus.push_back({{"name", g.name}, {"compute_capability", g.cc()}, {"sm", g.sm()}});
  }
  j["host"] = {{"driver", null_if_empty(plan.host.driver)},
               {"cuda_driver", null_if_empty(plan.host.cuda_driver)},
               {"source", plan.host.source},
               {"gpus", std::move(gpus)}};
  j["ok"] = plan.ok;
  return j;
}

void print_human(const Plan& plan, core::Ui& ui) {
  std::ostream& out = ui.out();
  auto row = [&](const char* key, const std::string& value) {
    out << fmt::format("{:<12} {}\n", key, value);
  };
  if (plan.ok) {
    out << ui.paint("furnace resolve: a plan that runs on this host", "green") << "\n\n";
  } else if (!plan.base_image.empty()) {
    out << ui.paint("furnace resolve: chosen anyway; it does not run on this host", "yellow")
        << "\n\n";
  } else {
    out << ui.paint("furnace resolve: nothing the project asks for runs on this host", "red")
        << "\n\n";
  }
  if (!plan.base_image.empty()) {
    row("image",
        ui.paint(plan.base_image, "bold") + (plan.image_unverified ? " (tag unverified)" : ""));
  }
  if (plan.framework) {
    row("framework",
        *plan.framework + (plan.framework_version.empty() ? "" : " " + plan.framework_version));
  }
  if (!plan.python.empty()) {
    const std::string from = plan.python_source == "image"     ? " (the image's)"
                             : plan.python_source == "project" ? " (the project's)"
                                                               : "";
    row("python", plan.python + from);
  }
  if (!plan.era_date.empty()) {
    row("era", fmt::format("{} ({})", plan.era_date, plan.era_detail));
  }
  if (plan.cuda) {
    row("cuda", *plan.cuda + (plan.cudnn.empty() ? "" : ", cudnn " + plan.cudnn));
  }
  if (!plan.pip_index.empty()) {
    row("pip index", plan.pip_index);
  }
  std::string host;
  if (!plan.host.driver.empty()) {
    host = "driver " + plan.host.driver;
  } else {
    host = "driver unknown";
  }
  if (plan.host.gpus.empty()) {
    host += ", no GPU";
  }
  for (const HostGpu& g : plan.host.gpus) {
    host += fmt::format(", {} ({})", g.name, g.sm());
  }
  if (plan.host.source == "--gpu") {
    host += " [--gpu]";
  }
  row("host", host);
  if (!plan.reasons.empty()) {
    out << '\n' << ui.paint("reasons", "bold") << '\n';
    for (const Reason& r : plan.reasons) {
      std::string ev;
      for (const std::string& e : r.evidence) {
        if (!e.empty() && r.message.find(e) == std::string::npos) {
          ev += (ev.empty() ? "" : ", ") + e;
        }
      }
      out << "  - " << r.message;
      if (r.unverified && r.message.find("unverified") == std::string::npos) {
        out << ui.paint(" (unverified)", "yellow");
      }
      if (!ev.empty()) {
        out << ui.paint(" [" + ev + "]", "dim");
      }
      out << '\n';
    }
  }
  const bool any_warning = std::any_of(
      plan.warnings.begin(), plan.warnings.end(), [](const Warning& w) { return !w.input; });
  if (any_warning) {
    out << '\n' << ui.paint("warnings", "bold") << '\n';
    for (const Warning& w : plan.warnings) {
      if (w.input) {
        continue;
      }
      out << "  " << ui.paint("warning", "yellow") << " [" << w.code << "] " << w.message << '\n';
    }
  }
  if (!plan.alternatives.empty()) {
    out << '\n' << ui.paint("alternatives that run here", "bold") << '\n';
    for (const Alternative& a : plan.alternatives) {
      out << fmt::format("  - {} {} (CUDA {}, Python {}): {} — {}\n",
                         a.framework,
                         a.framework_version,
                         a.cuda,
                         a.python,
                         a.base_image,
                         a.note);
    }
  }
  if (!plan.packages.empty()) {
    out << '\n' << ui.paint("packages", "bold") << '\n';
    for (const Package& p : plan.packages) {
      out << fmt::format("  {}{}{}",
                         p.name,
                         p.specifier.empty() ? "" : " " + p.specifier,
                         p.from_image ? " (in the image)" : "")
          << ui.paint(" [" + p.source + "]", "dim") << '\n';
    }
  }
}

} // namespace furnace::resolve

#include "spec.hpp"

#include <furnace/util/strings.hpp>

namespace furnace::deps {

std::string Location::str() const {
  if (line <= 0) {
    return file;
  }
  return file + ":" + std::to_string(line);
}

void Spec::add_fact(FactKind kind, std::string value, Location where, Confidence confidence,
                    std::string detail) {
  facts.push_back(Fact{kind, std::move(value), std::move(where), confidence, std::move(detail)});
}

void Spec::diagnose(Location where, std::string code, std::string message) {
  diagnostics.push_back(Diagnostic{std::move(where), std::move(code), std::move(message)});
}

std::string join_path(const std::string& from_file, std::string_view relative) {
  std::string joined;
  if (!relative.empty() && relative.front() == '/') {
    joined = std::string(relative);
  } else {
    const std::size_t slash = from_file.rfind('/');
    joined = (slash == std::string::npos ? std::string() : from_file.substr(0, slash + 1)) +
             std::string(relative);
  }
  std::vector<std::string> parts;
  for (const std::string& p : util::split(joined, '/')) {
    if (p.empty() || p == ".") {
      continue;
    }
    if (p == ".." && !parts.empty() && parts.back() != "..") {
      parts.pop_back();
      continue;
    }
    parts.push_back(p);
  }
  std::string out = !joined.empty() && joined.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += (i ? "/" : "") + parts[i];
  }
  return out;
}

}  // namespace furnace::deps

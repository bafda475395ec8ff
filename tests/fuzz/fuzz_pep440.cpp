// PEP 440 versions and specifiers, PEP 508 requirements and markers, conda and Poetry specs.
#include <furnace/deps/pep440.hpp>
#include <furnace/deps/requirement.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace::deps;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto v = parse_version(text)) {
    (void)v->str();
    (void)compare(*v, *v);
  }
  if (auto set = parse_specifiers(text)) {
    (void)set->str();
    if (auto v = parse_version("1.4.0")) {
      (void)set->contains(*v);
    }
  }
  MarkerEnv env;
  (void)evaluate_marker(text, env);
  env.python_version = "3.8";
  (void)evaluate_marker(text, env);
  (void)parse_pep508(text);
  (void)parse_conda_spec(text);
  (void)poetry_to_pep440(text);
  (void)conda_to_pep440(text);
  (void)cuda_from_tag(text);
  (void)requirement_from_wheel_url(text);
  (void)normalize_name(text);
  return 0;
}

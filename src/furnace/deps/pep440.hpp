#pragma once
// PEP 440 versions and specifiers, PEP 503 name normalisation and PEP 508 environment markers.
// Pure functions; nothing here reads files or the environment.

#include <furnace/core/error.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::deps {

// A PEP 440 version: [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local].
struct Version {
  long long epoch = 0;
  std::vector<long long> release;
  int pre_kind = -1;  // -1 none, 0 a, 1 b, 2 rc
  long long pre_num = 0;
  long long post = -1;  // -1: none
  long long dev = -1;   // -1: none
  std::string local;    // normalised ("cu111"), "" when none

  bool is_prerelease() const { return pre_kind >= 0 || dev >= 0; }
  // The canonical text ("1.8.1+cu111", "2.0.0rc1").
  std::string str() const;
  // Without the local part.
  Version public_version() const;
  // Release component `i`, 0 beyond the end (PEP 440 zero padding).
  long long at(std::size_t i) const { return i < release.size() ? release[i] : 0; }
};

// Parses with PEP 440's normalisation rules ("v1.0", "1.0-post1", "1.0.RC1"). nullopt if invalid.
std::optional<Version> parse_version(std::string_view text);

// Total order of PEP 440 (local versions sort after their public version).
int compare(const Version& a, const Version& b);
inline bool operator<(const Version& a, const Version& b) { return compare(a, b) < 0; }
inline bool operator==(const Version& a, const Version& b) { return compare(a, b) == 0; }

enum class Op { equal, not_equal, compatible, greater_equal, less_equal, greater, less, arbitrary };

struct Specifier {
  Op op = Op::equal;
  Version version;
  bool wildcard = false;  // "==1.4.*"
  std::string text;       // as written in the operand, for ===

  bool contains(const Version& v) const;
  std::string str() const;
};

// A comma-separated list of specifiers; empty means "any version".
struct SpecifierSet {
  std::vector<Specifier> items;

  bool empty() const { return items.empty(); }
  // Whether `v` satisfies every specifier. Pre-releases only match when a specifier names one.
  bool contains(const Version& v) const;
  std::string str() const;
};

// Parses ">=1.7,<2", "==1.8.1+cu111", "~=2.4", "" (any). Errors name the bad piece.
core::Result<SpecifierSet> parse_specifiers(std::string_view text);

// PEP 503: lowercase, runs of '-', '_' and '.' become '-'.
std::string normalize_name(std::string_view name);

// The values PEP 508 markers are evaluated against: Linux x86-64, CPython, and a Python version
// that may be unknown (comparisons against it then evaluate to "unknown").
struct MarkerEnv {
  std::optional<std::string> python_version;  // "3.10"
  std::map<std::string, std::string> extras_active;
};

enum class Tristate { no, yes, unknown };

// Evaluates a PEP 508 marker ('python_version < "3.8" and sys_platform == "linux"').
// Errors: invalid syntax or an unknown variable.
core::Result<Tristate> evaluate_marker(std::string_view marker, const MarkerEnv& env);

}  // namespace furnace::deps

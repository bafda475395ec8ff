// The compatibility rules (see compat_rules.hpp).

#include "compat_rules.hpp"

#include <fmt/format.h>

namespace furnace::resolve {

namespace {

// An unparsable version compares as the empty one, as everywhere in the resolver.
deps::Version version_of(std::string_view s) {
  auto v = deps::parse_version(s);
  return v ? *v : deps::Version{};
}

} // namespace

std::pair<int, int> sm_of(const Cell& c) {
  const ArchList l = parse_arch_list(c.value);
  if (l.empty()) {
    return {0, 0};
  }
  return {l.items[0].major, l.items[0].minor};
}

const Arch* sass_for(const ArchList& archs, int cc_major, int cc_minor) {
  const Arch* best = nullptr;
  for (const Arch& a : archs.items) {
    if (a.ptx || a.major != cc_major) {
      continue;
    }
    const bool fits = a.suffix == 'a' ? a.minor == cc_minor : a.minor <= cc_minor;
    if (fits && (best == nullptr || a.minor > best->minor)) {
      best = &a;
    }
  }
  return best;
}

const Arch* ptx_for(
    const ArchList& archs, const CudaRow* toolkit, int cc_major, int cc_minor, DriverKind driver) {
  const int max_major = toolkit != nullptr ? sm_of(toolkit->sm_max).first : 0;
  if (max_major < cc_major || driver == DriverKind::minor_compat) {
    return nullptr;
  }
  const Arch* best = nullptr;
  for (const Arch& a : archs.items) {
    if (a.ptx && std::pair(a.major, a.minor) <= std::pair(cc_major, cc_minor) &&
        (best == nullptr || std::pair(a.major, a.minor) >= std::pair(best->major, best->minor))) {
      best = &a;
    }
  }
  return best;
}

ArchVerdict arch_rule(
    const ArchList& archs, const CudaRow* toolkit, int cc_major, int cc_minor, DriverKind driver) {
  ArchVerdict out;
  if (archs.empty()) {
    if (toolkit == nullptr) {
      return out;
    }
    const auto [min_major, min_minor] = sm_of(toolkit->sm_min);
    const int max_major = sm_of(toolkit->sm_max).first;
    if (std::pair(cc_major, cc_minor) >= std::pair(min_major, min_minor) && cc_major <= max_major) {
      out.kind = ArchKind::assumed;
      out.via = fmt::format(
          "CUDA {} targets {}..{}", toolkit->cuda, toolkit->sm_min.value, toolkit->sm_max.value);
      out.unverified = true;
    }
    return out;
  }
  if (const Arch* a = sass_for(archs, cc_major, cc_minor)) {
    out.kind = ArchKind::sass;
    out.via = a->str();
    out.unverified = a->unverified;
  } else if (const Arch* p = ptx_for(archs, toolkit, cc_major, cc_minor, driver)) {
    out.kind = ArchKind::ptx;
    out.via = p->str();
    out.unverified = p->unverified;
  }
  return out;
}

DriverVerdict driver_rule(std::string_view cuda,
                          const CudaRow* toolkit,
                          std::string_view driver,
                          std::string_view cuda_driver) {
  DriverVerdict out;
  if (toolkit != nullptr && !driver.empty()) {
    const deps::Version d = version_of(driver);
    const bool has_min = !toolkit->min_driver.empty();
    if (has_min && !(d < version_of(toolkit->min_driver.value))) {
      out.kind = DriverKind::full;
      out.unverified = toolkit->min_driver.unverified;
    } else if (toolkit->version.at(0) >= 11 && !toolkit->minor_compat_driver.empty() &&
               !(d < version_of(toolkit->minor_compat_driver.value))) {
      out.kind = DriverKind::minor_compat;
      out.unverified = toolkit->minor_compat_driver.unverified || !has_min;
    } else {
      out.kind = DriverKind::too_old;
    }
  } else if (!cuda_driver.empty()) {
    out.kind = version_of(cuda_driver) < version_of(cuda) ? DriverKind::too_old : DriverKind::full;
  }
  return out;
}

} // namespace furnace::resolve

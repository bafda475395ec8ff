// Python sources: which frameworks the code imports, and API calls that exist only in some
// releases. The markers are a small table of substrings, each with what it needs; a file that
// reaches TensorFlow 1.x through `tensorflow.compat.v1` runs on TensorFlow 2, so its tf.Session is
// no marker.

#include "parsers.hpp"

#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <optional>

namespace furnace::deps {

namespace {

struct Marker {
  std::string_view text;  // substring of a code line
  std::string_view needs; // PEP 508: what the call needs
  bool tf1 = false;       // a TensorFlow 1.x API: void in files that use tensorflow.compat.v1
};

// Sources: each API's documented removal or introduction (TensorFlow 2.0 release notes and
// migration guide; PyTorch 0.4.0 release notes for Variable/volatile and `.data[0]` on 0-dim
// tensors; 1.0 release notes for torch.utils.ffi; 1.8 for torch.rfft; 2.0 for torch.compile,
// torch.func and torch._six; TensorFlow 2.16 for tf.keras becoming Keras 3; JAX changelog 0.2.25 for jax.experimental.stax -> example_libraries).
constexpr std::array<Marker, 34> k_markers{{
    {"tf.Session(", "tensorflow<2", true},
    {"tf.InteractiveSession(", "tensorflow<2", true},
    {"tf.placeholder(", "tensorflow<2", true},
    {"tf.contrib.", "tensorflow<2", true},
    {"tf.app.flags", "tensorflow<2", true},
    {"tf.app.run(", "tensorflow<2", true},
    {"tf.variable_scope(", "tensorflow<2", true},
    {"tf.get_variable(", "tensorflow<2", true},
    {"tf.global_variables_initializer(", "tensorflow<2", true},
    {"tf.train.Saver(", "tensorflow<2", true},
    {"tf.summary.FileWriter(", "tensorflow<2", true},
    {"tf.gfile.", "tensorflow<2", true},
    {"tf.python_io.", "tensorflow<2", true},
    {"tf.layers.", "tensorflow<2", true},
    {"tf.ConfigProto(", "tensorflow<2", true},
    {"tf.GPUOptions(", "tensorflow<2", true},
    {"tf.reset_default_graph(", "tensorflow<2", true},
    {"tf.keras.layers.experimental.preprocessing", "tensorflow>=2.3", false},
    {"tf.experimental.numpy", "tensorflow>=2.4", false},
    // tf.keras is Keras 3 from TensorFlow 2.16 (its release notes): Keras 2 code stops there
    {"tf.keras.", "tensorflow<2.16", false},
    {"from tensorflow.keras", "tensorflow<2.16", false},
    {"from tensorflow import keras", "tensorflow<2.16", false},
    {"volatile=True", "torch<0.4", false},
    {"torch.utils.ffi", "torch<1.0", false},
    {".data[0]", "torch<0.4", false},
    {"torch.rfft(", "torch<1.8", false},
    {"torch.irfft(", "torch<1.8", false},
    {"from torch._six import", "torch<2.0", false},
    {"torch.compile(", "torch>=2.0", false},
    {"torch.func.", "torch>=2.0", false},
    {"from torch.func import", "torch>=2.0", false},
    {"scaled_dot_product_attention(", "torch>=2.0", false},
    {"jax.experimental.stax", "jax<0.2.25", false},
    {"jax.example_libraries", "jax>=0.2.25", false},
}};

constexpr std::size_t k_max_marker_facts = 40;

bool imports_name(std::string_view t, std::string_view n) {
  return t.rfind(n, 0) == 0 &&
         (t.size() == n.size() || t[n.size()] == '.' || t[n.size()] == ' ' || t[n.size()] == ',');
}

// Python 2 only: `except E, e:`, `.iteritems()`, `xrange(` without a Python 3 shim.
bool python2_syntax(std::string_view t, bool shimmed) {
  if (t.rfind("except ", 0) == 0 && t.find(',') != std::string_view::npos &&
      t.find('(') == std::string_view::npos && t.back() == ':') {
    return true;
  }
  return t.find(".iteritems()") != std::string_view::npos ||
         (!shimmed && t.find("xrange(") != std::string_view::npos);
}

// `print "x"` / `print 'x'` / `print x` at the start of a statement: Python 2.
bool python2_print(std::string_view t) {
  if (t.rfind("print ", 0) != 0) {
    return false;
  }
  const std::string_view rest = util::trim(t.substr(6));
  return !rest.empty() && rest.front() != '(' && rest.front() != '=' && rest.front() != ',' &&
         rest.front() != ')' && rest.front() != '>'; // print >>f, x is Python 2 too, but rare
}

} // namespace

void parse_python_source(std::string_view text, const std::string& file, Spec& spec) {
  std::array<bool, 3> seen{false, false, false};
  static constexpr std::array<std::string_view, 3> k_names{"torch", "tensorflow", "jax"};
  const bool compat_v1 = text.find("tensorflow.compat.v1") != std::string_view::npos ||
                         text.find("tf.compat.v1.disable_v2_behavior") != std::string_view::npos;
  const bool may_have_markers = text.find("tf.") != std::string_view::npos ||
                                text.find("tensorflow") != std::string_view::npos ||
                                text.find("torch") != std::string_view::npos ||
                                text.find("jax") != std::string_view::npos ||
                                text.find("volatile") != std::string_view::npos ||
                                text.find(".data[0]") != std::string_view::npos;
  std::array<bool, k_markers.size()> marked{};
  const bool shimmed = text.find("six.moves") != std::string_view::npos ||
                       text.find("past.builtins") != std::string_view::npos ||
                       text.find("xrange = range") != std::string_view::npos ||
                       text.find("from builtins") != std::string_view::npos;
  bool py2 = false;
  std::size_t facts = 0;
  for (const deps::Fact& f : spec.facts) {
    facts += f.kind == FactKind::api ? 1 : 0;
  }
  for (const Line& l : lines_of(text)) {
    const std::string_view t = util::trim(l.text);
    if (t.empty() || t.front() == '#') {
      continue;
    }
    if (t.rfind("import ", 0) == 0 || t.rfind("from ", 0) == 0) {
      std::string_view m = t.substr(t.front() == 'i' ? 7 : 5);
      m = util::trim(m);
      for (std::size_t k = 0; k < k_names.size(); ++k) {
        if (!seen[k] && imports_name(m, k_names[k])) {
          seen[k] = true;
          spec.add_fact(FactKind::imports,
                        std::string(k_names[k]),
                        Location{file, l.number},
                        Confidence::medium);
        }
      }
    }
    if (!py2 && (python2_print(t) || python2_syntax(t, shimmed))) {
      py2 = true;
      spec.add_fact(FactKind::api,
                    "python<3",
                    Location{file, l.number},
                    Confidence::medium,
                    python2_print(t) ? "a print statement" : "Python 2 syntax");
    }
    if (!may_have_markers || facts >= k_max_marker_facts) {
      continue;
    }
    for (std::size_t k = 0; k < k_markers.size(); ++k) {
      const Marker& mk = k_markers[k];
      if (marked[k] || (mk.tf1 && compat_v1) || t.find(mk.text) == std::string_view::npos) {
        continue;
      }
      marked[k] = true;
      ++facts;
      std::string call(mk.text);
      while (!call.empty() && (call.back() == '(' || call.back() == '.')) {
        call.pop_back();
      }
      spec.add_fact(
          FactKind::api, std::string(mk.needs), Location{file, l.number}, Confidence::medium, call);
    }
  }
}

void parse_python_hints(std::string_view text, const std::string& file, Spec& spec) {
  // classifiers "Programming Language :: Python :: 3.6" .. ":: 3.8": the range the authors tested
  std::optional<Version> lo;
  std::optional<Version> hi;
  int lo_line = 0;
  for (const Line& l : lines_of(text)) {
    const std::size_t at = l.text.find("Programming Language :: Python :: ");
    if (at != std::string_view::npos) {
      std::string_view rest = l.text.substr(at + 34);
      std::size_t n = 0;
      while (n < rest.size() &&
             (std::isdigit(static_cast<unsigned char>(rest[n])) != 0 || rest[n] == '.')) {
        ++n;
      }
      auto v = parse_version(rest.substr(0, n));
      if (v && v->release.size() == 2) {
        if (!lo || *v < *lo) {
          lo = v;
          lo_line = l.number;
        }
        if (!hi || *hi < *v) {
          hi = v;
        }
      }
    }
    // assert sys.version_info >= (3, 6) / sys.version_info.minor >= 6
    std::size_t vi = l.text.find("sys.version_info");
    while (vi != std::string_view::npos && util::trim(l.text.substr(vi + 16)).rfind(">=", 0) != 0 &&
           l.text.substr(vi + 16).rfind(".minor >=", 0) != 0) {
      vi = l.text.find("sys.version_info", vi + 16);
    }
    if (vi != std::string_view::npos) {
      std::string_view rest = util::trim(l.text.substr(vi + 16));
      int major = 3;
      int minor = -1;
      if (rest.rfind(">= (", 0) == 0 || rest.rfind(">=(", 0) == 0) {
        const std::size_t open = rest.find('(');
        const std::size_t comma = rest.find(',', open);
        if (comma != std::string_view::npos) {
          major = std::atoi(std::string(rest.substr(open + 1, comma - open - 1)).c_str());
          minor = std::atoi(std::string(util::trim(rest.substr(comma + 1))).c_str());
        }
      } else if (rest.rfind(".minor >=", 0) == 0 || rest.rfind("[1] >=", 0) == 0) {
        minor = std::atoi(std::string(util::trim(rest.substr(rest.find(">=") + 2))).c_str());
      }
      if (minor >= 0 && major >= 2 && major <= 3 && minor < 30) {
        spec.add_fact(FactKind::python,
                      fmt::format(">={}.{}", major, minor),
                      Location{file, l.number},
                      Confidence::medium,
                      "sys.version_info check");
      }
    }
  }
  if (lo && hi && lo->at(0) == 3) {
    spec.add_fact(
        FactKind::python,
        fmt::format(">={}.{},<={}.{}", lo->at(0), lo->at(1), hi->at(0), hi->at(1)),
        Location{file, lo_line},
        Confidence::medium,
        fmt::format("classifiers Python {}.{}-{}.{}", lo->at(0), lo->at(1), hi->at(0), hi->at(1)));
  }
}

} // namespace furnace::deps

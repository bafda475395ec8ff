#include <furnace/deps/pep440.hpp>
#include <furnace/deps/requirement.hpp>

#include <gtest/gtest.h>

namespace {

using namespace furnace::deps;

Version v(const char* s) {
  auto r = parse_version(s);
  EXPECT_TRUE(r.has_value()) << s;
  return r.value_or(Version{});
}

bool in(const char* spec, const char* version) {
  auto set = parse_specifiers(spec);
  EXPECT_TRUE(set.has_value()) << spec;
  return set && set->contains(v(version));
}

TEST(Pep440, parses_and_normalises_versions) {
  EXPECT_EQ(v("1.8.1+cu111").str(), "1.8.1+cu111");
  EXPECT_EQ(v("v1.0").str(), "1.0");
  EXPECT_EQ(v("1.0-post1").str(), "1.0.post1");
  EXPECT_EQ(v("1.0.RC1").str(), "1.0rc1");
  EXPECT_EQ(v("2!1.0.dev3").str(), "2!1.0.dev3");
  EXPECT_EQ(v("1.0alpha2").str(), "1.0a2");
  EXPECT_EQ(v("1.0-1").str(), "1.0.post1");
  EXPECT_EQ(v("1.0+ubuntu-1").local, "ubuntu.1");
  EXPECT_FALSE(parse_version("").has_value());
  EXPECT_FALSE(parse_version("abc").has_value());
  EXPECT_FALSE(parse_version("1.0+").has_value());
  EXPECT_FALSE(parse_version("1.0 junk").has_value());
}

TEST(Pep440, orders_versions_like_pip) {
  EXPECT_LT(compare(v("1.0.dev1"), v("1.0a1")), 0);
  EXPECT_LT(compare(v("1.0a1"), v("1.0b1")), 0);
  EXPECT_LT(compare(v("1.0rc1"), v("1.0")), 0);
  EXPECT_LT(compare(v("1.0"), v("1.0.post1")), 0);
  EXPECT_LT(compare(v("1.0"), v("1.0+cu111")), 0);
  EXPECT_EQ(compare(v("1.0"), v("1.0.0")), 0);
  EXPECT_LT(compare(v("1.9"), v("1.10")), 0);
  EXPECT_GT(compare(v("1!0.1"), v("2.0")), 0);
  EXPECT_LT(compare(v("1.0+abc"), v("1.0+1")), 0);
}

TEST(Pep440, matches_specifiers) {
  EXPECT_TRUE(in("==1.4", "1.4.0"));
  EXPECT_TRUE(in("==1.4.*", "1.4.1"));
  EXPECT_FALSE(in("==1.4.*", "1.5.0"));
  EXPECT_TRUE(in("~=2.4", "2.9.1"));
  EXPECT_FALSE(in("~=2.4", "3.0"));
  EXPECT_TRUE(in("~=2.4.1", "2.4.5"));
  EXPECT_FALSE(in("~=2.4.1", "2.5.0"));
  EXPECT_TRUE(in(">=1.7,<2", "1.13.1"));
  EXPECT_FALSE(in(">=1.7,<2", "2.0.0"));
  EXPECT_FALSE(in("<2.0", "2.0rc1"));
  EXPECT_FALSE(in(">1.7", "1.7.post1"));
  EXPECT_TRUE(in("!=1.5.0", "1.5.1"));
  EXPECT_FALSE(in("!=1.5.*", "1.5.1"));
  EXPECT_TRUE(in("==1.8.1", "1.8.1+cu111"));
  EXPECT_TRUE(in("==1.8.1+cu111", "1.8.1+cu111"));
  EXPECT_FALSE(in("==1.8.1+cu111", "1.8.1+cu102"));
  EXPECT_TRUE(in("===1.0", "1.0"));
  EXPECT_TRUE(in("", "0.1"));
  EXPECT_FALSE(in(">=1.0", "2.0b1")) << "pre-releases only when asked for";
  EXPECT_TRUE(in(">=2.0b1", "2.0b2"));
}

TEST(Pep440, rejects_bad_specifiers_with_a_message) {
  auto r = parse_specifiers(">=1.x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "invalid version '1.x' in '>=1.x'");
  EXPECT_FALSE(parse_specifiers("~=1").has_value());
  EXPECT_FALSE(parse_specifiers(">=1,,<2").has_value());
}

TEST(Pep440, normalises_names) {
  EXPECT_EQ(normalize_name("TensorFlow_GPU"), "tensorflow-gpu");
  EXPECT_EQ(normalize_name("tf.nightly"), "tf-nightly");
  EXPECT_EQ(normalize_name("Pillow__SIMD"), "pillow-simd");
}

TEST(Pep440, evaluates_markers_for_linux_and_a_python) {
  MarkerEnv env;
  env.python_version = "3.8";
  EXPECT_EQ(*evaluate_marker("python_version < \"3.9\"", env), Tristate::yes);
  EXPECT_EQ(*evaluate_marker("python_version >= '3.9'", env), Tristate::no);
  EXPECT_EQ(*evaluate_marker("sys_platform == 'win32'", env), Tristate::no);
  EXPECT_EQ(*evaluate_marker("platform_system == 'Linux' and platform_machine == 'x86_64'", env),
            Tristate::yes);
  EXPECT_EQ(*evaluate_marker("(sys_platform == 'darwin' or os_name == 'posix')", env), Tristate::yes);
  EXPECT_EQ(*evaluate_marker("'linux' in sys_platform", env), Tristate::yes);
  EXPECT_EQ(*evaluate_marker("extra == 'dev'", env), Tristate::no);
  const MarkerEnv unknown;
  EXPECT_EQ(*evaluate_marker("python_version < '3.9'", unknown), Tristate::unknown);
  EXPECT_EQ(*evaluate_marker("python_version < '3.9' and sys_platform == 'win32'", unknown),
            Tristate::no);
  EXPECT_FALSE(evaluate_marker("python_version <", env).has_value());
  EXPECT_FALSE(evaluate_marker("foo == 'x'", env).has_value());
  EXPECT_FALSE(evaluate_marker("(((", env).has_value());
}

TEST(Requirement, parses_pep508_lines) {
  auto r = parse_pep508("Torch[extra1, Extra2] >=1.7 , <2; python_version<'3.10'");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->name, "torch");
  EXPECT_EQ(r->extras, (std::vector<std::string>{"extra1", "extra2"}));
  EXPECT_EQ(r->specifier, ">=1.7,<2");
  EXPECT_EQ(r->marker, "python_version<'3.10'");
  auto u = parse_pep508("pkg @ https://example.com/pkg.zip ; sys_platform == 'linux'");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->url, "https://example.com/pkg.zip");
  EXPECT_EQ(u->marker, "sys_platform == 'linux'");
  auto old = parse_pep508("numpy (>=1.16)");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->specifier, ">=1.16");
  EXPECT_FALSE(parse_pep508("torch 1.4").has_value());
  EXPECT_FALSE(parse_pep508("==1.4").has_value());
}

TEST(Requirement, converts_conda_and_poetry_constraints) {
  EXPECT_EQ(conda_to_pep440("1.4"), "==1.4.*");
  EXPECT_EQ(conda_to_pep440("1.4.*"), "==1.4.*");
  EXPECT_EQ(conda_to_pep440(">=1.4,<1.6"), ">=1.4,<1.6");
  EXPECT_EQ(conda_to_pep440("*"), "");
  EXPECT_EQ(poetry_to_pep440("^1.9"), ">=1.9,<2");
  EXPECT_EQ(poetry_to_pep440("^0.4.1"), ">=0.4.1,<0.5");
  EXPECT_EQ(poetry_to_pep440("~1.12.1"), ">=1.12.1,<1.13");
  EXPECT_EQ(poetry_to_pep440("1.9"), "==1.9");
  EXPECT_EQ(poetry_to_pep440("*"), "");
  auto c = parse_conda_spec("pytorch::pytorch=2.0.0=py3.9_cuda11.7_cudnn8.5.0_0");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->name, "pytorch");
  EXPECT_EQ(c->specifier, "==2.0.0.*");
  EXPECT_EQ(c->conda_build, "py3.9_cuda11.7_cudnn8.5.0_0");
  auto d = parse_conda_spec("tensorflow-gpu 1.14.0");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->specifier, "==1.14.0.*");
}

TEST(Requirement, reads_cuda_from_tags_and_urls) {
  EXPECT_EQ(cuda_from_tag("cu111"), "11.1");
  EXPECT_EQ(cuda_from_tag("cu92"), "9.2");
  EXPECT_EQ(cuda_from_tag("cu100"), "10.0");
  EXPECT_EQ(cuda_from_tag("cuda11"), "11");
  EXPECT_EQ(cuda_from_tag("cuda10.1.243"), "10.1");
  EXPECT_FALSE(cuda_from_tag("cpu").has_value());
  EXPECT_EQ(cuda_from_index_url("https://download.pytorch.org/whl/cu111/torch_stable.html"), "11.1");
  EXPECT_EQ(cuda_from_index_url("https://download.pytorch.org/whl/lts/1.8/cu102"), "10.2");
  EXPECT_FALSE(cuda_from_index_url("https://download.pytorch.org/whl/torch_stable.html").has_value());
  auto w = requirement_from_wheel_url(
      "https://download.pytorch.org/whl/cu111/torch-1.8.1%2Bcu111-cp38-cp38-linux_x86_64.whl");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->name, "torch");
  EXPECT_EQ(w->specifier, "==1.8.1+cu111");
}

}  // namespace

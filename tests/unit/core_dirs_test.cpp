// One rule for furnace's directories: every area that names a data, cache or config path agrees,
// and a relative XDG variable is ignored everywhere (it used to split logs from history.db).

#include <furnace/core/dirs.hpp>
#include <furnace/history/store.hpp>
#include <furnace/image/build_log.hpp>
#include <furnace/run/support.hpp>
#include <furnace/setup/user_config.hpp>

#include <gtest/gtest.h>

namespace furnace::core {
namespace {

TEST(Dirs, xdg_when_absolute_else_under_home) {
  const Dirs d = dirs_from_env({{"HOME", "/home/alice"},
                                {"XDG_DATA_HOME", "/data"},
                                {"XDG_CACHE_HOME", "relative/cache"},
                                {"XDG_CONFIG_HOME", ""}});
  EXPECT_EQ(d.data, "/data/furnace");
  EXPECT_EQ(d.cache, "/home/alice/.cache/furnace");
  EXPECT_EQ(d.config, "/home/alice/.config/furnace");
  EXPECT_EQ(d.state, "/home/alice/.local/state/furnace");
  EXPECT_EQ(dirs_from_env({}).data, "/root/.local/share/furnace");
}

TEST(Dirs, every_area_follows_the_same_rule) {
  const Env env{{"HOME", "/home/alice"}, {"XDG_DATA_HOME", "relative/data"}};
  EXPECT_EQ(history::default_path(env), "/home/alice/.local/share/furnace/history.db");
  EXPECT_EQ(image::log_dir(env), "/home/alice/.local/share/furnace/logs");
  EXPECT_EQ(run::run_log_path(env, "x"), "/home/alice/.local/share/furnace/logs/run-x.log");
  EXPECT_EQ(image::cache_dir(env), "/home/alice/.cache/furnace");
  EXPECT_EQ(setup::user_config_path(env), "/home/alice/.config/furnace/config.yaml");
}

} // namespace
} // namespace furnace::core

#include "credentials.hpp"

#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <iterator>

namespace furnace::dataset {

namespace {

namespace fs = std::filesystem;

core::Result<std::string> prompt_tty(const std::string& prompt) {
  const int fd = ::open("/dev/tty",
                        O_RDWR | O_CLOEXEC | O_NOCTTY); // NOLINT(cppcoreguidelines-pro-type-vararg)
  if (fd < 0) {
    return core::fail(core::ErrorKind::usage,
                      "no terminal to ask for the password",
                      "pipe it in with --password-stdin (e.g. from a password manager: "
                      "'pass show nas | furnace dataset add … --password-stdin')");
  }
  termios old{};
  const bool tty = ::tcgetattr(fd, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') {
    line += c;
  }
  if (tty) {
    ::tcsetattr(fd, TCSAFLUSH, &old);
  }
  ::close(fd);
  return line;
}

} // namespace

std::string credentials_path(const Scope& scope, const std::string& name) {
  return scope.credentials_dir + "/" + name;
}

uid_t credentials_owner(const Scope& scope) {
  if (scope.system) {
    return 0;
  }
  struct stat st {};
  const std::string dir = fs::path(scope.file).parent_path().string();
  if (::geteuid() == 0 && ::stat(dir.c_str(), &st) == 0) {
    return st.st_uid;
  }
  return ::geteuid();
}

core::Result<std::string>
read_password(bool from_stdin, std::istream& in, const std::string& prompt) {
  std::string pw;
  if (from_stdin) {
    pw.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!pw.empty() && pw.back() == '\n') {
      pw.pop_back();
    }
    if (!pw.empty() && pw.back() == '\r') {
      pw.pop_back();
    }
  } else {
    auto p = prompt_tty(prompt);
    if (!p) {
      return p;
    }
    pw = std::move(*p);
  }
  if (pw.empty()) {
    return core::fail(core::ErrorKind::usage,
                      "the password is empty",
                      from_stdin ? "pipe the password into --password-stdin"
                                 : "type it at the prompt");
  }
  if (pw.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
    return core::fail(core::ErrorKind::usage,
                      "the password has a line break or NUL: mount.cifs's credentials file "
                      "cannot hold it",
                      "give the password on one line");
  }
  return pw;
}

std::string
credentials_text(const std::string& user, const std::string& password, const std::string& domain) {
  std::string t = "username=" + user + "\npassword=" + password + "\n";
  if (!domain.empty()) {
    t += "domain=" + domain + "\n";
  }
  return t;
}

core::Result<void>
write_credentials(const Scope& scope, const std::string& name, const std::string& text) {
  const std::string& dir = scope.credentials_dir;
  const uid_t owner = credentials_owner(scope);
  std::error_code ec;
  if (!util::make_directories(dir, ec) && ec) {
    return core::fail(core::ErrorKind::io, fmt::format("cannot create {}: {}", dir, ec.message()));
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return core::fail(core::ErrorKind::permission,
                      fmt::format("cannot make {} private (chmod 700)", dir));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || st.st_uid != owner) {
    return core::fail(
        core::ErrorKind::permission,
        fmt::format("{} is not owned by uid {}", dir, owner),
        fmt::format("'chown {} {}' (or remove it) and add the dataset again", owner, dir));
  }
  util::AtomicWriteOptions w;
  w.mode = 0600;
  w.owner = owner;
  w.group = st.st_gid;
  const std::string path = credentials_path(scope, name);
  if (auto ok = util::write_file_atomic(path, text, w); !ok) {
    return core::fail(core::ErrorKind::io, ok.error().message);
  }
  return {};
}

core::Result<void> check_credentials(const std::string& path, uid_t owner) {
  const std::string dir = fs::path(path).parent_path().string();
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("the credentials file {} is missing", path),
                      "add the dataset again ('furnace dataset rm NAME', then 'furnace dataset "
                      "add NAME SOURCE --user U'): the password is asked for, or read with "
                      "--password-stdin");
  }
  if (!S_ISREG(st.st_mode)) {
    return core::fail(
        core::ErrorKind::permission,
        fmt::format("the credentials file {} is not a regular file (a symlink?)", path),
        fmt::format("replace it with a plain file: 'rm {}' and add the dataset again", path));
  }
  if (st.st_uid != owner) {
    return core::fail(core::ErrorKind::permission,
                      fmt::format("the credentials file {} is owned by uid {}, not uid {}: "
                                  "refused",
                                  path,
                                  st.st_uid,
                                  owner),
                      fmt::format("'chown {} {} && chmod 600 {}' if you trust its content, else "
                                  "remove it and add the dataset again",
                                  owner,
                                  path,
                                  path));
  }
  if ((st.st_mode & 077U) != 0) {
    return core::fail(core::ErrorKind::permission,
                      fmt::format("the credentials file {} has mode {:04o}: other users can read "
                                  "or change it, so it is refused",
                                  path,
                                  st.st_mode & 07777U),
                      fmt::format("'chmod 600 {}' (and change the password if others may have "
                                  "read it)",
                                  path));
  }
  struct stat ds {};
  if (::stat(dir.c_str(), &ds) == 0 && ((ds.st_mode & 022U) != 0 || ds.st_uid != owner)) {
    return core::fail(core::ErrorKind::permission,
                      fmt::format("the credentials directory {} is not private (mode {:04o}, "
                                  "owner uid {})",
                                  dir,
                                  ds.st_mode & 07777U,
                                  ds.st_uid),
                      fmt::format("'chmod 700 {}' (owned by uid {})", dir, owner));
  }
  return {};
}

} // namespace furnace::dataset

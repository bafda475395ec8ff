#pragma once
// CIFS credentials: the file mount.cifs reads (`credentials=FILE`), so that the password is
// never in an argv, an environment, a log or the engine. One file per dataset, mode 0600 in a
// 0700 directory, owned by the scope's owner (the caller, or root for the lab's datasets). The
// password comes from a prompt with echo off or from stdin (--password-stdin), never argv.

#include <furnace/core/error.hpp>
#include <furnace/dataset/store.hpp>

#include <sys/types.h>

#include <istream>
#include <string>

namespace furnace::dataset {

// The credentials file of dataset `name` in `scope`.
std::string credentials_path(const Scope& scope, const std::string& name);

// Who must own the scope's credentials: root for the lab's; for the caller's, the owner of the
// directory holding datasets.yaml (the caller, also when root runs with the caller's HOME).
uid_t credentials_owner(const Scope& scope);

// The password: all of `in` less one final newline when `from_stdin`, else a prompt on
// /dev/tty with echo off. Errors: no terminal (use --password-stdin), an empty password, a line
// break inside it (the credentials file is line-based).
core::Result<std::string>
read_password(bool from_stdin, std::istream& in, const std::string& prompt);

// The text of a credentials file ("username=…\npassword=…\n[domain=…\n]").
std::string
credentials_text(const std::string& user, const std::string& password, const std::string& domain);

// Writes the credentials file: the directory made 0700, the file written atomically with mode
// 0600 (never readable in between), both owned by credentials_owner. Errors name the path.
core::Result<void>
write_credentials(const Scope& scope, const std::string& name, const std::string& text);

// Refuses a credentials file that is missing, not a regular file (a symlink), readable or
// writable by others, or owned by anyone but `owner`, and a directory others may write; the
// hint gives the `chmod 600` / `chown` to run. Never suggests putting the password in argv.
core::Result<void> check_credentials(const std::string& path, uid_t owner);

} // namespace furnace::dataset

#pragma once
// A small std::expected look-alike (GCC 12 in C++20 mode has none): a value or an error.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace furnace::util {

template <class E> class Unexpected {
public:
  explicit Unexpected(E error) : m_error(std::move(error)) {}
  E& error() & { return m_error; }
  E&& error() && { return std::move(m_error); }

private:
  E m_error;
};

template <class T, class E> class Expected {
public:
  using value_type = T;
  using error_type = E;

  // NOLINTNEXTLINE(google-explicit-constructor): implicit, like std::expected
  Expected(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  template <class G>
  // NOLINTNEXTLINE(google-explicit-constructor)
  Expected(Unexpected<G> error) : m_v(std::in_place_index<1>, std::move(error).error()) {}

  bool has_value() const { return m_v.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(m_v);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(m_v);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(m_v));
  }
  const E& error() const& {
    assert(!has_value());
    return std::get<1>(m_v);
  }
  E&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(m_v));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  template <class U> T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(m_v) : static_cast<T>(std::forward<U>(fallback));
  }

private:
  std::variant<T, E> m_v;
};

// Expected<void, E>: success carries nothing.
template <class E> class Expected<void, E> {
public:
  Expected() = default;
  template <class G>
  // NOLINTNEXTLINE(google-explicit-constructor)
  Expected(Unexpected<G> error) : m_error(std::move(error).error()), m_failed(true) {}

  bool has_value() const { return !m_failed; }
  explicit operator bool() const { return has_value(); }
  const E& error() const& {
    assert(m_failed);
    return m_error;
  }

private:
  E m_error{};
  bool m_failed = false;
};

} // namespace furnace::util

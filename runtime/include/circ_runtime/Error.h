//===- Error.h - error results of the Circ runtime --------------*- C++ -*-===//
//
// The runtime never throws across its API and never aborts on bad input:
// functions that can fail return an `Error` (falsy on success, like
// llvm::Error) or an `Expected<T>` (truthy on success). Messages are complete
// sentences that name the file and the problem, e.g.
//   "run/ckpt.safetensors: truncated: header needs 1024 bytes, file has 900";
// a tool prints them after its own "error: " prefix.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_ERROR_H
#define CIRC_RUNTIME_ERROR_H

#include <string>
#include <utility>
#include <variant>

namespace circ::rt {

/// Success (empty) or a failure carrying a message.
class [[nodiscard]] Error {
public:
  Error() = default;
  static Error success() { return Error(); }
  static Error failure(std::string message) {
    Error e;
    e.failed = true;
    e.msg = std::move(message);
    return e;
  }
  /// True on failure, so `if (Error e = f()) return e;` propagates.
  explicit operator bool() const { return failed; }
  const std::string &message() const { return msg; }

private:
  bool failed = false;
  std::string msg;
};

/// A value or the Error explaining why there is none.
template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : storage(std::in_place_index<0>, std::move(value)) {}
  /// `error` must be a failure.
  Expected(Error error) : storage(std::in_place_index<1>, std::move(error)) {}

  /// True on success.
  explicit operator bool() const { return storage.index() == 0; }
  T &operator*() { return std::get<0>(storage); }
  const T &operator*() const { return std::get<0>(storage); }
  T *operator->() { return &std::get<0>(storage); }
  const T *operator->() const { return &std::get<0>(storage); }
  /// The failure (only valid when falsy).
  const Error &error() const { return std::get<1>(storage); }
  const std::string &message() const { return error().message(); }
  Error takeError() { return std::move(std::get<1>(storage)); }

private:
  std::variant<T, Error> storage;
};

} // namespace circ::rt

#endif // CIRC_RUNTIME_ERROR_H

// The tests' only assertion helpers: count failures, print each with its line, and turn the
// count into the exit code.
#pragma once

#include <iostream>
#include <string>

namespace check {

inline int& failures() {
  static int count = 0;
  return count;
}

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::cerr << file << ":" << line << ": FAILED: " << what << std::endl;
}

inline int finish(const char* name) {
  if (failures() == 0) {
    std::cout << name << ": all checks passed" << std::endl;
    return 0;
  }
  std::cerr << name << ": " << failures() << " check(s) failed" << std::endl;
  return 1;
}

}  // namespace check

#define CHECK(condition)                                                   \
  do {                                                                     \
    if (!(condition)) check::fail(__FILE__, __LINE__, #condition);         \
  } while (0)

#define CHECK_EQ(actual, expected)                                                                   \
  do {                                                                                               \
    const auto& check_actual_ = (actual);                                                            \
    const auto& check_expected_ = (expected);                                                        \
    if (!(check_actual_ == check_expected_))                                                         \
      check::fail(__FILE__, __LINE__,                                                                \
                  std::string(#actual " == " #expected ": got ") + check::show(check_actual_) +     \
                      ", expected " + check::show(check_expected_));                                 \
  } while (0)

namespace check {
inline std::string show(const std::string& value) { return "\"" + value + "\""; }
inline std::string show(const char* value) { return show(std::string(value)); }
inline std::string show(bool value) { return value ? "true" : "false"; }
#ifdef LIVEKIT_FFI_H
inline std::string show(LkFfiErrorCode code) { return livekit::ffi::FfiError::code_name(code); }
#endif
template <typename T>
std::string show(const T& value) {
  return std::to_string(static_cast<long long>(value));
}
}  // namespace check

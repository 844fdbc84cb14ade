// The command line the game examples share: [--seconds N] URL TOKEN_A TOKEN_B, or the URL and
// two tokens from LK_URL, LK_TOKEN_A and LK_TOKEN_B (as with_server.py sets them).
#pragma once

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace examples {

struct Args {
  double seconds;
  std::string url, token_a, token_b;
};

inline const char* env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// None when the arguments are incomplete (the caller prints its usage).
inline std::optional<Args> parse_args(int argc, char** argv, double default_seconds) {
  double seconds = default_seconds;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      positional.emplace_back(argv[i]);
    }
  }
  if (positional.empty() && env_or_null("LK_URL") && env_or_null("LK_TOKEN_A") && env_or_null("LK_TOKEN_B")) {
    positional = {env_or_null("LK_URL"), env_or_null("LK_TOKEN_A"), env_or_null("LK_TOKEN_B")};
  }
  if (positional.size() != 3) return std::nullopt;
  return Args{seconds, positional[0], positional[1], positional[2]};
}

}  // namespace examples

#pragma once
// Which code registers functions right now ("builtin", "program", a plugin's path).

#include <string>

namespace crew::detail {

/// While alive, functions registered on this thread record `origin`.
class OriginScope {
public:
  explicit OriginScope(std::string origin);
  ~OriginScope();
  OriginScope(const OriginScope&) = delete;
  OriginScope& operator=(const OriginScope&) = delete;

private:
  std::string previous_;
};

}  // namespace crew::detail

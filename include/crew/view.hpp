#pragma once
// crew::DirectView: work addressed to exactly its engines, in submission order per engine.
// A view captures its targets when it is created.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crew/async_result.hpp"
#include "crew/value.hpp"

namespace crew {

namespace detail {
class ClientCore;
}

class DirectView {
public:
  const std::vector<int>& targets() const noexcept { return targets_; }

  /// Calls a registered function by name on every target: view.apply("mul", 5, 6).
  /// Arguments are converted with crew::to_value; crew::Ref("x") names a variable on the engine.
  template <class... A>
  AsyncResult apply(std::string_view function, const A&... args) const {
    return apply_list(function, Value::List{to_value(args)...});
  }
  AsyncResult apply_list(std::string_view function, Value::List args) const;

  /// Runs a shell command on each engine's host: {"stdout", "stderr", "status"} per engine.
  AsyncResult exec(const std::string& command) const;
  /// Sets variables in every target's namespace.
  AsyncResult push(Value::Dict values) const;
  /// One variable's value per engine.
  AsyncResult pull(const std::string& name) const;
  /// Several variables: a dict {name: value} per engine.
  AsyncResult pull(const std::vector<std::string>& names) const;
  /// Loads a plugin library on every target (a path the engines can read).
  AsyncResult load_plugin(const std::string& path) const;
  /// Empties every target's namespace.
  AsyncResult clear() const;

private:
  friend class Client;
  DirectView(std::shared_ptr<detail::ClientCore> core, std::vector<int> targets, bool single)
      : core_(std::move(core)), targets_(std::move(targets)), single_(single) {}

  std::shared_ptr<detail::ClientCore> core_;
  std::vector<int> targets_;
  bool single_ = false;
};

}  // namespace crew

// Engine properties from the command line.
#include "values/properties.hpp"

#include "crew/error.hpp"
#include "crew/json.hpp"

namespace crew {

Value::Dict parse_properties(const std::vector<std::string>& assignments, std::string_view option) {
  Value::Dict out;
  for (const auto& a : assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw_error(errc::bad_option, std::string(option) + " '" + a + "': expected KEY=VALUE, e.g. gpu=true");
    const std::string key = a.substr(0, eq), text = a.substr(eq + 1);
    Value v;
    try {
      v = parse_json(text);
    } catch (const InputError&) {
      v = Value(text);  // not JSON: the text itself
    }
    out.insert_or_assign(key, std::move(v));
  }
  return out;
}

}  // namespace crew

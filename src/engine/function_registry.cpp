// The process-wide function registry and Namespace.
#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>

#include "common/near_words.hpp"
#include "crew/context.hpp"
#include "crew/engine.hpp"
#include "crew/function.hpp"
#include "engine/function_origin.hpp"
#include "engine/function_registry.hpp"

namespace crew {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, FunctionInfo, std::less<>> functions;
};

Registry& registry() {
  static Registry r;  // constructed on first use: safe from static initialisers of plugins
  return r;
}

thread_local std::string current_origin = "program";

}  // namespace

namespace detail {

OriginScope::OriginScope(std::string origin) : previous_(std::move(current_origin)) {
  current_origin = std::move(origin);
}
OriginScope::~OriginScope() { current_origin = std::move(previous_); }

void throw_bad_argument(std::size_t index, const std::string& signature, const Error& why) {
  throw_error(errc::bad_arguments, "argument " + std::to_string(index + 1) + " of " + signature + ": " + why.message());
}

void throw_arity(const std::string& signature, std::size_t wanted, std::size_t got) {
  throw_error(errc::bad_arguments, signature + " takes " + std::to_string(wanted) + " argument" +
                                       (wanted == 1 ? "" : "s") + ", got " + std::to_string(got));
}

}  // namespace detail

void register_invoker(std::string name, std::string signature, Invoker invoke) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  FunctionInfo info{name, std::move(signature), current_origin, std::move(invoke)};
  r.functions.insert_or_assign(std::move(name), std::move(info));
}

const FunctionInfo* find_function(std::string_view name) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.functions.find(name);
  return it == r.functions.end() ? nullptr : &it->second;
}

std::vector<const FunctionInfo*> list_functions() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<const FunctionInfo*> out;
  for (const auto& [name, info] : r.functions) out.push_back(&info);
  return out;
}

std::vector<std::string> near_function_names(std::string_view name, std::size_t max) {
  // crew's internal functions (crew.map, crew.shape_of, ...) are not for users to call: they are
  // suggested only to a name that is itself one of them.
  const bool internal = name.rfind("crew.", 0) == 0;
  std::vector<std::string> names;
  for (const FunctionInfo* f : list_functions())
    if (internal || f->name.rfind("crew.", 0) != 0) names.push_back(f->name);
  return near_words(name, names, max);
}

std::vector<std::string> load_plugin(const std::string& path) {
  std::vector<std::string> added;
  {
    detail::OriginScope scope(path);
    // RTLD_GLOBAL: a plugin's symbols may be used by plugins loaded after it.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      throw_error(errc::plugin_failed, "cannot load plugin " + path + ": " + (why ? why : "unknown error") +
                                           " (give an absolute path, or a path relative to the engine's directory)");
    }
  }
  for (const FunctionInfo* f : list_functions())
    if (f->origin == path) added.push_back(f->name);
  return added;
}

// ------------------------------------------------------------------------------------- Namespace

const Value& Namespace::get(std::string_view name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  std::string have;
  for (const auto& [k, v] : values_) have += (have.empty() ? "" : ", ") + k;
  throw_error(errc::unknown_name, "no variable '" + std::string(name) + "' in the engine's namespace" +
                                      (have.empty() ? " (it is empty; push one first)" : " (it has: " + have + ")"));
}

Value* Namespace::find(std::string_view name) {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

bool Namespace::erase(std::string_view name) {
  auto it = values_.find(name);
  if (it == values_.end() || exposed(name)) return false;
  values_.erase(it);
  return true;
}

void Namespace::clear() {
  std::erase_if(values_, [&](const auto& entry) { return !exposed(entry.first); });
}

namespace {
/// Element `i` of `from` as `to`'s type at `out` (out-of-range integers refused: `what` names them).
void put_element(const Array& from, std::size_t i, dtype to, std::byte* out, const std::string& what) {
  auto* p = out + i * dtype_size(to);
  const auto store = [&](auto v) { std::memcpy(p, &v, sizeof v); };
  const auto integer = [&](auto type_tag) {
    using T = decltype(type_tag);
    const std::int64_t v = from.at_int(i);
    if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
        (v > 0 && static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())))
      throw_error(errc::mismatch, what + ": element " + std::to_string(i) + " (" + std::to_string(v) +
                                      ") does not fit its " + std::string(dtype_name(to)));
    store(static_cast<T>(v));
  };
  switch (to) {
  case dtype::float64: return store(from.at_double(i));
  case dtype::float32: return store(static_cast<float>(from.at_double(i)));
  case dtype::int8: return integer(std::int8_t{});
  case dtype::int16: return integer(std::int16_t{});
  case dtype::int32: return integer(std::int32_t{});
  case dtype::int64: return integer(std::int64_t{});
  case dtype::uint8: return integer(std::uint8_t{});
  case dtype::uint16: return integer(std::uint16_t{});
  case dtype::uint32: return integer(std::uint32_t{});
  case dtype::uint64: return integer(std::uint64_t{});
  }
}
}  // namespace

void Namespace::set(std::string name, Value value) {
  const auto mine = exposed_.find(name);
  if (mine == exposed_.end()) {
    values_.insert_or_assign(std::move(name), std::move(value));
    return;
  }
  const Array& target = values_.at(name).as_array();
  const std::optional<Array> given = to_array(value);
  const std::string what = "'" + name + "' is the application's own " + std::string(dtype_name(target.type())) + "[" +
                           std::to_string(target.size()) + "] array";
  if (!given)
    throw_error(errc::mismatch,
                what + ", which takes numbers only: give it " + std::to_string(target.size()) + " numbers");
  if (given->size() != target.size())
    throw_error(errc::mismatch, what + ": it takes " + std::to_string(target.size()) + " elements, not " +
                                    std::to_string(given->size()));
  const auto floating = [](dtype t) { return t == dtype::float32 || t == dtype::float64; };
  if (!floating(target.type()) && floating(given->type()))
    throw_error(errc::mismatch, what + ": it takes integers, not " + std::string(dtype_name(given->type())));
  if (given->type() == target.type()) {
    std::memmove(mine->second, given->data().data(), given->data().size());  // (it may be itself: a Ref)
    return;
  }
  // Converted whole before any of it is written: a value that does not fit changes nothing.
  std::vector<std::byte> converted(target.size() * dtype_size(target.type()));
  try {
    for (std::size_t i = 0; i < target.size(); ++i) put_element(*given, i, target.type(), converted.data(), what);
  } catch (const Error& e) {
    if (e.code() == errc::mismatch) throw;
    throw_error(errc::mismatch, what + ": " + e.message());
  }
  std::memcpy(mine->second, converted.data(), converted.size());
}

void Namespace::expose(std::string name, Array view, void* writable) {
  exposed_.insert_or_assign(name, writable);
  values_.insert_or_assign(std::move(name), Value(std::move(view)));
}

std::vector<std::string> Namespace::names() const {
  std::vector<std::string> out;
  out.reserve(values_.size());
  for (const auto& [k, v] : values_) out.push_back(k);
  return out;
}

}  // namespace crew

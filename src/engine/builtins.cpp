// The functions every engine has.
#include "engine/builtins.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "common/process.hpp"
#include "common/profile.hpp"
#include "crew/engine.hpp"
#include "crew/function.hpp"
#include "crew/version.hpp"
#include "engine/forwarded_exception.hpp"
#include "engine/function_origin.hpp"
#include "engine/function_registry.hpp"
#include "engine/output_pump.hpp"
#include "engine/peer_memory.hpp"
#include "values/sequence.hpp"

namespace crew::detail {
namespace {

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(text, &len);
  std::string v(text, static_cast<std::size_t>(len));
  if (auto nl = v.find_first_of(",\n"); nl != std::string::npos) v.resize(nl);
  return v;
}

Value summary(Context& ctx) {
  std::error_code ec;
  return Value::dict({
      {"cwd", std::filesystem::current_path(ec).string()},
      {"host", ctx.host()},
      {"pid", static_cast<std::int64_t>(::getpid())},
      {"engine_id", ctx.engine_id()},
      {"rank", ctx.rank()},
      {"world_size", ctx.world_size()},
      {"world", ctx.world_id()},
      {"crew_version", version_string},
      {"mpi", mpi_library_version()},
  });
}

/// No arguments: null; one: itself; several: the list of them.
Value echo(Context&, const Value::List& args) {
  if (args.empty()) return Value();
  if (args.size() == 1) return args.front();
  return Value(args);
}

void sleep_seconds(double seconds) {
  if (!(seconds >= 0) || seconds > 86400 * 365)
    throw_error(errc::bad_arguments, "sleep(seconds) needs 0 <= seconds, got " + std::to_string(seconds));
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

std::vector<std::string> names_of(const Value::List& args, const char* fn) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!args[i].is_string())
      throw_error(errc::bad_arguments, std::string("argument ") + std::to_string(i + 1) + " of " + fn +
                                           "(names...): expected string, got " + std::string(args[i].type_name()));
    names.push_back(args[i].as_string());
  }
  return names;
}

Value del(Context& ctx, const Value::List& args) {
  const auto names = names_of(args, "del");
  for (const auto& n : names) {  // all or nothing: fail before erasing any
    (void)ctx.ns().get(n);
    if (ctx.ns().exposed(n))
      throw_error(errc::bad_arguments, "'" + n + "' is the application's own array (exposed): it cannot be deleted");
  }
  for (const auto& n : names) ctx.ns().erase(n);
  return Value();
}

/// `name`'s value for a reply. An application's exposed array is copied: a reply may leave after
/// the step its task ran in (a large one as a frame that points into it), when the application
/// writes the array again.
Value reply_value(Namespace& ns, const std::string& name) {
  const Value& v = ns.get(name);
  if (!ns.exposed(name)) return v;
  const Array& a = v.as_array();
  return Value(Array(a.type(), a.shape(), Buffer::copy(a.data().data(), a.data().size())));
}

Value pull(Context& ctx, const Value::List& args) {
  const auto names = names_of(args, "pull");
  if (names.empty()) throw_error(errc::bad_arguments, "pull(names...) needs at least one name");
  if (names.size() == 1) return reply_value(ctx.ns(), names.front());
  Value::Dict out;
  for (const auto& n : names) out.insert_or_assign(n, reply_value(ctx.ns(), n));
  return Value(std::move(out));
}

void push(Context& ctx, const Value::Dict& values) {
  for (const auto& [k, v] : values) ctx.ns().set(k, v);
}

Value exec(const std::string& command) {
  // Its output is in its result; followers of live output see it as it comes too.
  proc::RunOptions options;
  options.on_output = write_live_only;
  const proc::CommandResult r = proc::run_shell(command, options);
  Value::Dict out{{"stdout", r.out}, {"stderr", r.err}, {"status", r.status}};
  if (r.signal != 0) out.emplace("signal", r.signal);
  if (r.truncated) out.emplace("truncated", true);
  return Value(std::move(out));
}

/// crew.map(function, sequence, ...): the function on every item (zipped over several sequences),
/// in order; the results packed (an array when they are numbers). A failing item fails the chunk
/// with an error that says which item.
Value map_items(Context& ctx, const Value::List& args) {
  if (args.size() < 2 || !args[0].is_string())
    throw_error(errc::bad_arguments, "crew.map(function, sequence, ...) needs a function name and a sequence");
  const std::string& name = args[0].as_string();
  const FunctionInfo* fn = find_function(name);
  if (fn == nullptr)
    throw_error(errc::unknown_function, "map: no function '" + name + "' on this engine (`crew functions` lists them)");
  const std::uint64_t n = seq::length(args[1], "map");
  for (std::size_t s = 2; s < args.size(); ++s)
    if (seq::length(args[s], "map") != n)
      throw_error(errc::bad_arguments, "map: sequence " + std::to_string(s) + " has " +
                                           std::to_string(seq::length(args[s], "map")) + " items, the first " +
                                           std::to_string(n));
  Value::List results;
  results.reserve(n);
  Value::List call(args.size() - 1);
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::size_t s = 1; s < args.size(); ++s) call[s - 1] = seq::item(args[s], i);
    try {
      results.push_back(fn->invoke(ctx, call));
    } catch (const Error& e) {
      throw_error(e.code(), "item " + std::to_string(i) + " of this chunk: " + e.message());
    } catch (const std::exception& e) {
      throw ForwardedException(current_exception_type(), "item " + std::to_string(i) + " of this chunk: " + e.what());
    }
  }
  return seq::pack(std::move(results));
}

/// crew.can_copy(pid, address, token): whether this engine can copy from that process's memory
/// (engine/peer_memory.hpp): it reads the token's length there and compares. The client asks
/// before it offers single-copy transfers; a process elsewhere, or one it may not read, says no.
bool can_copy(std::int64_t pid, std::int64_t address, const std::string& token) {
  if (pid <= 0 || token.empty()) return false;
  std::string seen(token.size(), '\0');
  return peer_memory::read(static_cast<std::uint64_t>(pid), static_cast<std::uint64_t>(address),
                           reinterpret_cast<std::byte*>(seen.data()), seen.size())
             .empty() &&
         seen == token;
}

/// crew.shape_of(name, pid, address, token): {dtype, shape} of the array held under `name` (none
/// for a missing name or another value), and {can_copy} as crew.can_copy answers it. gather and
/// reduce ask it first when they may copy into the client's memory.
Value shape_of(Context& ctx, const std::string& name, std::int64_t pid, std::int64_t address,
               const std::string& token) {
  Value::Dict out{{"can_copy", can_copy(pid, address, token)}};
  if (const Value* v = ctx.ns().find(name); v != nullptr && v->is_array()) {
    const Array& a = v->as_array();
    out.emplace("dtype", static_cast<std::int64_t>(a.type()));
    out.emplace("shape", Value(Value::List(a.shape().begin(), a.shape().end())));
  }
  return Value(std::move(out));
}

/// crew.pull_inline(name, limit): pull(name), except that an array above `limit` bytes is not
/// sent: the answer says so ([crew.remote.copy_instead]), and the client, on this host, gathers
/// it by copy (client/single_copy.cpp), so that it never passes the controller whole.
Value pull_inline(Context& ctx, const std::string& name, std::int64_t limit) {
  const Value& v = ctx.ns().get(name);
  if (v.is_array() && v.as_array().ndim() >= 1 && static_cast<std::int64_t>(v.as_array().data().size()) > limit)
    throw_error(errc::copy_instead, "'" + name + "' is an array of " + std::to_string(v.as_array().data().size()) +
                                        " bytes, above the " + std::to_string(limit) + " this call answers inline");
  return reply_value(ctx.ns(), name);
}

Value functions() {
  Value::List out;
  for (const FunctionInfo* f : list_functions())
    out.push_back(Value::dict({{"name", f->name}, {"signature", f->signature}, {"origin", f->origin}}));
  return Value(std::move(out));
}

}  // namespace

void register_builtins() {
  static std::once_flag once;
  std::call_once(once, [] {
    OriginScope scope("builtin");
    register_function("hostname", [] { return host_name(); });
    register_function("pid", [] { return static_cast<std::int64_t>(::getpid()); });
    register_function("summary", summary);
    register_invoker("echo", "echo(values...) -> value", echo);
    register_function("sleep", sleep_seconds);
    // print(text): one line on the task's stdout (what `crew tail` and --follow-output show).
    register_function("print", [](const std::string& text) { std::cout << text << std::endl; });
    register_function("keys", [](Context& ctx) { return ctx.ns().names(); });
    register_invoker("del", "del(names...) -> void", del);
    register_function("clear", [](Context& ctx) { ctx.ns().clear(); });
    register_function("push", push);
    register_invoker("pull", "pull(names...) -> value (a dict for several names)", pull);
    register_function("exec", exec);
    register_function("functions", functions);
    register_function("load_plugin", [](const std::string& path) { return load_plugin(path); });
    register_invoker("crew.map", "crew.map(function, sequences...) -> results", map_items);
    register_function("crew.can_copy", can_copy);
    register_function("crew.shape_of", shape_of);
    register_function("crew.pull_inline", pull_inline);
  });
}

}  // namespace crew::detail

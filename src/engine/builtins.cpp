// The functions every engine has.
#include "engine/builtins.hpp"

#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "common/process.hpp"
#include "common/profile.hpp"
#include "crew/engine.hpp"
#include "crew/function.hpp"
#include "crew/version.hpp"
#include "engine/function_origin.hpp"

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
    throw Error(errc::bad_arguments, "sleep(seconds) needs 0 <= seconds, got " + std::to_string(seconds));
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

std::vector<std::string> names_of(const Value::List& args, const char* fn) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!args[i].is_string())
      throw Error(errc::bad_arguments, std::string("argument ") + std::to_string(i + 1) + " of " + fn +
                                           "(names...): expected string, got " + std::string(args[i].type_name()));
    names.push_back(args[i].as_string());
  }
  return names;
}

Value del(Context& ctx, const Value::List& args) {
  const auto names = names_of(args, "del");
  for (const auto& n : names) (void)ctx.ns().get(n);  // all or nothing: fail before erasing any
  for (const auto& n : names) ctx.ns().erase(n);
  return Value();
}

Value pull(Context& ctx, const Value::List& args) {
  const auto names = names_of(args, "pull");
  if (names.empty()) throw Error(errc::bad_arguments, "pull(names...) needs at least one name");
  if (names.size() == 1) return ctx.ns().get(names.front());
  Value::Dict out;
  for (const auto& n : names) out.insert_or_assign(n, ctx.ns().get(n));
  return Value(std::move(out));
}

void push(Context& ctx, const Value::Dict& values) {
  for (const auto& [k, v] : values) ctx.ns().set(k, v);
}

Value exec(const std::string& command) {
  const proc::CommandResult r = proc::run_shell(command);
  Value::Dict out{{"stdout", r.out}, {"stderr", r.err}, {"status", r.status}};
  if (r.signal != 0) out.emplace("signal", r.signal);
  if (r.truncated) out.emplace("truncated", true);
  return Value(std::move(out));
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
    register_function("keys", [](Context& ctx) { return ctx.ns().names(); });
    register_invoker("del", "del(names...) -> void", del);
    register_function("clear", [](Context& ctx) { ctx.ns().clear(); });
    register_function("push", push);
    register_invoker("pull", "pull(names...) -> value (a dict for several names)", pull);
    register_function("exec", exec);
    register_function("functions", functions);
    register_function("load_plugin", [](const std::string& path) { return load_plugin(path); });
  });
}

}  // namespace crew::detail

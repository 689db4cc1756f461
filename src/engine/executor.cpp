// Running one task.
#include "engine/executor.hpp"

#include <cxxabi.h>

#include <iostream>
#include <memory>
#include <sstream>
#include <typeinfo>

#include "common/clock.hpp"
#include "common/near_words.hpp"
#include "crew/function.hpp"
#include "engine/collectives.hpp"
#include "engine/forwarded_exception.hpp"
#include "engine/function_registry.hpp"
#include "protocol/collective.hpp"
#include "protocol/value_codec.hpp"

namespace crew::detail {
namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

/// Replaces Refs (at any depth) with the namespace's values.
Value resolve_refs(const Value& v, const Namespace& ns) {
  switch (v.type()) {
  case Value::kind::ref: return ns.get(v.as_ref().name);
  case Value::kind::list: {
    Value::List out;
    out.reserve(v.as_list().size());
    for (const auto& x : v.as_list()) out.push_back(resolve_refs(x, ns));
    return Value(std::move(out));
  }
  case Value::kind::dict: {
    Value::Dict out;
    for (const auto& [k, x] : v.as_dict()) out.emplace(k, resolve_refs(x, ns));
    return Value(std::move(out));
  }
  default: return v;
  }
}

bool has_refs(const Value& v) {
  if (v.is_ref()) return true;
  if (v.is_list())
    for (const auto& x : v.as_list())
      if (has_refs(x)) return true;
  if (v.is_dict())
    for (const auto& [k, x] : v.as_dict())
      if (has_refs(x)) return true;
  return false;
}

/// Routes std::cout / std::cerr into the task's streams while it runs.
class StreamCapture {
public:
  StreamCapture(std::ostream& out, std::ostream& err)
      : old_out_(std::cout.rdbuf(out.rdbuf())), old_err_(std::cerr.rdbuf(err.rdbuf())) {}
  ~StreamCapture() {
    std::cout.flush();
    std::cerr.flush();
    std::cout.rdbuf(old_out_);
    std::cerr.rdbuf(old_err_);
  }
  StreamCapture(const StreamCapture&) = delete;
  StreamCapture& operator=(const StreamCapture&) = delete;

private:
  std::streambuf* old_out_;
  std::streambuf* old_err_;
};

std::string unknown_function_message(const std::string& name) {
  // Said the same by every engine, so that the CLI can say it once for all of them.
  std::string msg = "no function '" + name + "'";
  const auto near = near_function_names(name);
  if (!near.empty()) msg += "; did you mean " + or_list(near) + "?";
  return msg + " (`crew functions` lists them; load more with --plugin or load_plugin)";
}

}  // namespace

std::string current_exception_type() {
  const std::type_info* t = abi::__cxa_current_exception_type();
  return t ? demangle(t->name()) : "unknown";
}

Executor::Executor(EngineIdentity identity) : id_(std::move(identity)) {
  if (id_.data_comm != MPI_COMM_NULL) collectives_ = std::make_unique<Collectives>(id_.data_comm, id_, ns_);
}

Executor::~Executor() = default;

void Executor::set_chunk_source(ChunkSource source) {
  if (collectives_) collectives_->set_chunk_source(std::move(source));
}

void Executor::set_message_sink(MessageSink sink) {
  if (collectives_) collectives_->set_message_sink(std::move(sink));
}

void Executor::set_output_sink(OutputPump::Sink sink, OutputPump::Followed followed) {
  output_.reset();
  if (sink)
    output_ = std::make_unique<OutputPump>(OutputPump::Place{id_.engine_id, id_.world_id, id_.rank}, std::move(sink),
                                           std::move(followed));
}

std::optional<wire::Outgoing> Executor::run(const wire::Header& task, std::span<const Buffer> payload) {
  if (task.kind == wire::MsgKind::collective_task && collectives_) {
    // Failures the ranks agreed on come back as verdicts inside the reply; what escapes is this
    // rank's own: an MPI routine that failed (MpiError, [crew.mpi.failed]: crew's communicators
    // return errors rather than abort the world) or a bug. Either is this engine's answer.
    wire::ErrorInfo error;
    try {
      return collectives_->run(task.collective, task, payload);
    } catch (const Error& e) {
      error = {e.code(), "crew." + std::string(errc_name(e.code())), e.message(), task.function};
    } catch (const std::exception& e) {
      error = {errc::internal, "crew.internal.bug", e.what(), task.function};
    }
    std::string msg_id;
    for (std::size_t i = 0; i < task.targets.size(); ++i)
      if (task.targets[i] == id_.engine_id && i < task.msg_ids.size()) msg_id = task.msg_ids[i];
    if (msg_id.empty()) return std::nullopt;
    return failure_reply(task, msg_id, id_.engine_id, error);
  }
  return run_function(task, payload);
}

void Executor::capture_fds() {
  if (!fds_) fds_ = std::make_unique<FdCapture>();
}

wire::Outgoing Executor::run_function(const wire::Header& task, std::span<const Buffer> payload) {
  wire::Header reply;
  reply.kind = wire::MsgKind::apply_reply;
  reply.engine_id = id_.engine_id;
  reply.function = task.function;
  reply.submitted_us = task.submitted_us;
  for (std::size_t i = 0; i < task.targets.size(); ++i)
    if (task.targets[i] == id_.engine_id && i < task.msg_ids.size()) reply.msg_ids = {task.msg_ids[i]};
  static const std::string no_id;
  const std::string& msg_id = reply.msg_ids.empty() ? no_id : reply.msg_ids.front();

  // std::cout and std::cerr write into memory (a line costs no system call); what goes to the
  // descriptors is read from them (fds_).
  std::ostream& out = out_;
  std::ostream& err = err_;
  out_buf_.start(output_.get());
  err_buf_.start(output_.get());
  out.clear();
  err.clear();
  if (output_) output_->begin(msg_id);
  if (fds_) fds_->begin(output_.get());
  Value result;
  reply.started_us = now_us();
  try {
    Value args = wire::decode_value(payload);
    if (!args.is_list()) throw_error(errc::malformed, "task arguments are not a list");
    if (has_refs(args)) args = resolve_refs(args, ns_);
    const FunctionInfo* fn = find_function(task.function);
    if (fn == nullptr) throw_error(errc::unknown_function, unknown_function_message(task.function));
    Context ctx(id_.engine_id, id_.rank, id_.world_size, id_.world_id, id_.user_comm, ns_, out, err, msg_id, id_.host);
    StreamCapture capture(out, err);
    LivePumpScope live(output_.get());
    result = fn->invoke(ctx, args.as_list());
  } catch (const Error& e) {
    reply.error = {e.code(), "crew." + std::string(errc_name(e.code())), e.message(), task.function};
  } catch (const ForwardedException& e) {
    reply.error = {errc::exception, e.type(), e.what(), task.function};
  } catch (const std::exception& e) {
    reply.error = {errc::exception, current_exception_type(), e.what(), task.function};
  } catch (...) {
    reply.error = {errc::exception, current_exception_type(), "a non-standard exception was thrown", task.function};
  }
  reply.completed_us = now_us();
  out.flush();
  err.flush();
  reply.out = out_buf_.take();
  reply.err = err_buf_.take();
  if (fds_) {
    // The two ways each keep their order; in the reply, the descriptors' text follows.
    FdCapture::Text text = fds_->end();
    reply.out += text.out;
    reply.err += text.err;
  }
  if (output_) output_->end();  // the last of its live output goes before its reply
  if (reply.error.failed()) result = Value();
  try {
    return wire::make_message(reply, result);
  } catch (const std::exception& e) {
    reply.error = {errc::exception, current_exception_type(), std::string("cannot encode the result: ") + e.what(),
                   task.function};
    return wire::make_message(reply, Value());
  }
}

wire::Outgoing failure_reply(const wire::Header& task, const std::string& msg_id, int engine_id,
                             const wire::ErrorInfo& error) {
  wire::Header reply;
  reply.kind = wire::MsgKind::apply_reply;
  reply.engine_id = engine_id;
  reply.function = task.function;
  reply.msg_ids = {msg_id};
  reply.submitted_us = task.submitted_us;
  reply.completed_us = now_us();
  reply.error = error;
  return wire::make_message(reply, Value());
}

}  // namespace crew::detail

// Header serialization, and the names of collective operations.
#include "protocol/header.hpp"

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "protocol/archive.hpp"
#include "protocol/collective.hpp"
#include "protocol/scratch.hpp"

namespace crew::wire {

std::string_view kind_name(MsgKind k) noexcept {
  switch (k) {
  case MsgKind::hello: return "hello";
  case MsgKind::hello_reply: return "hello_reply";
  case MsgKind::engines_request: return "engines_request";
  case MsgKind::engines_reply: return "engines_reply";
  case MsgKind::direct_task: return "direct_task";
  case MsgKind::apply_reply: return "apply_reply";
  case MsgKind::stats_request: return "stats_request";
  case MsgKind::stats_reply: return "stats_reply";
  case MsgKind::shutdown_request: return "shutdown_request";
  case MsgKind::shutdown_reply: return "shutdown_reply";
  case MsgKind::request_error: return "request_error";
  case MsgKind::balanced_request: return "balanced_request";
  case MsgKind::queue_request: return "queue_request";
  case MsgKind::queue_reply: return "queue_reply";
  case MsgKind::result_request: return "result_request";
  case MsgKind::result_reply: return "result_reply";
  case MsgKind::abort_request: return "abort_request";
  case MsgKind::abort_reply: return "abort_reply";
  case MsgKind::stream_chunk: return "stream_chunk";
  case MsgKind::collective_request: return "collective_request";
  case MsgKind::history_request: return "history_request";
  case MsgKind::history_reply: return "history_reply";
  case MsgKind::purge_request: return "purge_request";
  case MsgKind::purge_reply: return "purge_reply";
  case MsgKind::restored: return "restored";
  case MsgKind::resume_request: return "resume_request";
  case MsgKind::resume_reply: return "resume_reply";
  case MsgKind::output_subscribe: return "output_subscribe";
  case MsgKind::output_subscribe_reply: return "output_subscribe_reply";
  case MsgKind::output: return "output";
  case MsgKind::output_ack: return "output_ack";
  case MsgKind::engine_status: return "engine_status";
  case MsgKind::register_request: return "register_request";
  case MsgKind::register_reply: return "register_reply";
  case MsgKind::balanced_task: return "balanced_task";
  case MsgKind::heartbeat: return "heartbeat";
  case MsgKind::shutdown_world: return "shutdown_world";
  case MsgKind::goodbye: return "goodbye";
  case MsgKind::withdraw_request: return "withdraw_request";
  case MsgKind::withdraw_reply: return "withdraw_reply";
  case MsgKind::collective_task: return "collective_task";
  case MsgKind::reattach_request: return "reattach_request";
  case MsgKind::reattach_reply: return "reattach_reply";
  case MsgKind::reply_ack: return "reply_ack";
  case MsgKind::output_wanted: return "output_wanted";
  case MsgKind::batch: return "batch";
  }
  return "invalid";
}

bool kind_valid(std::uint8_t raw) noexcept {
  return (raw >= static_cast<std::uint8_t>(MsgKind::hello) &&
          raw <= static_cast<std::uint8_t>(MsgKind::engine_status)) ||
         (raw >= static_cast<std::uint8_t>(MsgKind::register_request) &&
          raw <= static_cast<std::uint8_t>(MsgKind::output_wanted));
}

void encode_header_into(const Header& h, std::vector<std::byte>& out) {
  Writer ar(out);
  ar(h);
}

Buffer encode_header(const Header& h) {
  ScratchBytes out;
  encode_header_into(h, *out);
  return Buffer::copy(out->data(), out->size());
}

Header decode_header(std::span<const std::byte> bytes) {
  if (bytes.empty() || !kind_valid(static_cast<std::uint8_t>(bytes[0])))
    throw_error(errc::malformed, "unknown message kind");
  Header h;
  try {
    Reader ar(bytes);
    ar(h);
    if (ar.remaining() != 0)
      throw_error(errc::malformed, std::to_string(ar.remaining()) + " stray bytes after the header");
  } catch (const cereal::Exception& e) {
    throw_error(errc::malformed, std::string("bad header: ") + e.what());
  }
  if (h.targets.size() != h.msg_ids.size() && !h.msg_ids.empty() && h.kind != MsgKind::apply_reply &&
      h.kind != MsgKind::balanced_request && h.kind != MsgKind::stream_chunk && h.kind != MsgKind::output)
    throw_error(errc::malformed, "header has " + std::to_string(h.targets.size()) + " targets but " +
                                     std::to_string(h.msg_ids.size()) + " msg_ids");
  if (names_collective(h.kind) && (h.collective == Collective::none || h.collective > Collective::load_h5))
    throw_error(errc::malformed, std::string(kind_name(h.kind)) + " names no known collective op (" +
                                     std::to_string(static_cast<int>(h.collective)) + ")");
  return h;
}

}  // namespace crew::wire

namespace crew::wire {

namespace {
constexpr std::pair<Collective, std::string_view> collective_names[] = {
    {Collective::scatter, "crew.scatter"}, {Collective::gather, "crew.gather"},   {Collective::push, "crew.push"},
    {Collective::reduce, "crew.reduce"},   {Collective::save_h5, "crew.save_h5"}, {Collective::load_h5, "crew.load_h5"},
};
}  // namespace

Collective collective_of(std::string_view function) noexcept {
  if (function.size() < 6 || function.substr(0, 5) != "crew.") return Collective::none;
  for (const auto& [c, name] : collective_names)
    if (name == function) return c;
  return Collective::none;
}

std::string_view collective_function(Collective c) noexcept {
  for (const auto& [k, name] : collective_names)
    if (k == c) return name;
  return {};
}

}  // namespace crew::wire

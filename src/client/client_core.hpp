#pragma once
// The client's engine room: one I/O thread owns the DEALER socket to the controller; user threads
// hand it encoded messages through a Mailbox and wait on per-call ResultStates.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "common/clock.hpp"
#include "crew/async_result.hpp"
#include "protocol/header.hpp"
#include "protocol/wire.hpp"
#include "transport/mailbox.hpp"

namespace crew::detail {

struct ResultSlot {
  bool done = false;
  wire::ErrorInfo error;
  std::vector<Buffer> payload;  ///< the reply body, decoded on first use
  std::optional<Value> value;
  ResultMetadata meta;
};

struct ResultState {
  mutable std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> msg_ids;
  std::vector<int> targets;
  bool single = false;
  bool joined = false;  ///< one result for all targets (gather, reduce): slots share it
  std::vector<ResultSlot> slots;
  std::size_t remaining = 0;
  SteadyClock::time_point submitted_at;
  SteadyClock::time_point finished_at;
};

class ClientCore {
public:
  ClientCore(std::filesystem::path controller_file, std::string profile_hint, std::chrono::milliseconds timeout);
  ~ClientCore();

  /// Sends an apply_request to `targets`; results arrive in the returned state.
  std::shared_ptr<ResultState> submit(std::string_view function, Value::List args, const std::vector<int>& targets,
                                      bool single, bool joined = false);
  /// A blocking request/reply with the controller. Throws TimeoutError / ConnectionError.
  wire::Packet request(wire::MsgKind kind, const Value& body, std::chrono::milliseconds timeout);

  std::size_t outstanding() const;
  bool wait_all(std::chrono::milliseconds timeout);

  std::chrono::milliseconds timeout() const noexcept { return timeout_; }
  const std::filesystem::path& controller_file() const noexcept { return file_; }

private:
  struct Pending {
    std::shared_ptr<ResultState> state;
    std::size_t slot;
  };
  struct Outbound {
    Buffer header_bytes;
    std::vector<Buffer> payload;
    bool stop = false;
  };

  void io_loop();
  void on_packet(wire::Packet&& p);
  void on_result(wire::Packet&& p);
  [[noreturn]] void throw_timeout(std::string_view what, std::chrono::milliseconds timeout) const;

  std::filesystem::path file_;
  std::string profile_hint_;
  std::string url_;
  std::chrono::milliseconds timeout_;
  std::uint64_t max_message_bytes_ = 0;  ///< the controller's limit (0: unknown)
  std::string session_;
  std::string key_;

  zmq::context_t ctx_;
  zmq::socket_t socket_;  ///< used only by the I/O thread after construction
  Mailbox<Outbound> outbox_;
  std::thread io_;

  mutable std::mutex pending_mutex_;
  std::condition_variable all_done_;
  std::unordered_map<std::string, Pending> pending_;
  std::unordered_map<std::uint64_t, std::promise<wire::Packet>> requests_;
  std::atomic<std::uint64_t> next_seq_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace crew::detail

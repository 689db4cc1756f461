#pragma once
// A client's live-output feeds (crew/output.hpp): what it follows, and where each piece goes.
// The controller sends the client what matches any feed's term (output_subscribe carries them
// all); here each piece goes to every feed whose own term matches: into a feed's queue
// (OutputFeed::next), or to its callback (AsyncResult::on_output), on the thread that read it.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/output.hpp"
#include "protocol/output_filter.hpp"
#include "protocol/wire.hpp"

namespace crew::detail {

struct CREW_INTERNAL_API OutputFeedState {
  wire::OutputTerm term;
  std::function<void(const OutputEvent&)> callback;  ///< set: events go to it, not to the queue
  std::mutex mutex;
  std::condition_variable arrived;
  std::deque<OutputEvent> queue;
  std::size_t queued_bytes = 0;
  std::uint64_t dropped = 0;  ///< bytes not queued since the last event taken
  bool closed = false;
  /// Most text a feed queues; more is dropped (and counted) until next() takes some.
  static constexpr std::size_t most_queued = std::size_t{16} << 20;

  /// Queues `e` (or drops it, counted, if the queue is full) and wakes a waiting next().
  void push(OutputEvent e);
  void close();
};

/// What an output or engine_status message says.
CREW_INTERNAL_API OutputEvent event_of(const wire::Packet& p);

class CREW_INTERNAL_API OutputFeeds {
public:
  void add(std::shared_ptr<OutputFeedState> feed);
  /// True if it was here.
  bool remove(const OutputFeedState* feed);
  bool empty() const;
  /// Every feed's term: what the controller is asked to send.
  wire::OutputSubscribe subscription() const;
  /// An output or engine_status message, to the feeds it matches; `own(msg_id)`: a task of this client.
  void deliver(const wire::Packet& p, const std::function<bool(const std::string&)>& own);
  /// The client closes: every feed ends (a waiting next() returns).
  void close_all();

private:
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<OutputFeedState>> feeds_;
};

}  // namespace crew::detail

#pragma once
// When an engine sends back the replies it has collected. A stream of quick tasks answers in
// batches (one message for many replies); but a reply is never held long: it leaves once no more
// work is waiting here, once it is `hold` old, and before any task that may take long (the last
// one did, or a collective, which waits for other ranks).

#include <chrono>

namespace crew::detail {

class ReplyHold {
public:
  using clock = std::chrono::steady_clock;
  static constexpr auto hold = std::chrono::microseconds(200);
  static constexpr auto quick = std::chrono::microseconds(50);

  /// Before running a task: should the replies collected so far leave first?
  bool send_first(bool collective, clock::time_point now) const {
    return pending_ && (collective || last_task_ > quick || now - oldest_ >= hold);
  }
  /// A task ran, taking `took`; `replied` if it added a reply.
  void ran(clock::duration took, bool replied, clock::time_point now) {
    last_task_ = took;
    if (replied && !pending_) oldest_ = now;
    pending_ = pending_ || replied;
  }
  void sent() noexcept { pending_ = false; }
  bool pending() const noexcept { return pending_; }

private:
  bool pending_ = false;
  clock::time_point oldest_{};
  clock::duration last_task_{};
};

}  // namespace crew::detail

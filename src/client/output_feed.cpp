// crew::OutputFeed, Client::subscribe_output and AsyncResult::on_output: live output for users.
#include "crew/output.hpp"

#include "client/client_core.hpp"
#include "crew/client.hpp"
#include "crew/error.hpp"

namespace crew {

OutputFeed::OutputFeed(std::weak_ptr<detail::ClientCore> core, std::shared_ptr<detail::OutputFeedState> state)
    : core_(std::move(core)), state_(std::move(state)) {}

OutputFeed::~OutputFeed() { close(); }

OutputFeed::OutputFeed(OutputFeed&& other) noexcept : core_(std::move(other.core_)), state_(std::move(other.state_)) {}

OutputFeed& OutputFeed::operator=(OutputFeed&& other) noexcept {
  if (this != &other) {
    close();
    core_ = std::move(other.core_);
    state_ = std::move(other.state_);
  }
  return *this;
}

std::optional<OutputEvent> OutputFeed::next(std::chrono::milliseconds timeout) {
  if (!state_) return std::nullopt;
  detail::OutputFeedState& s = *state_;
  std::unique_lock lock(s.mutex);
  const auto ready = [&] { return !s.queue.empty() || s.dropped != 0 || s.closed; };
  if (timeout == forever)
    s.arrived.wait(lock, ready);
  else
    s.arrived.wait_for(lock, timeout, ready);
  if (s.queue.empty()) {
    if (s.dropped == 0) return std::nullopt;
    // Caught up after losing some: said now, not only with the next event (which may never come).
    OutputEvent lost;
    lost.dropped_bytes = std::exchange(s.dropped, 0);
    return lost;
  }
  OutputEvent e = std::move(s.queue.front());
  s.queue.pop_front();
  s.queued_bytes -= e.text.size();
  return e;
}

void OutputFeed::close() {
  if (!state_) return;
  if (auto core = core_.lock()) core->unfollow(state_.get());
  state_->close();
  state_.reset();
}

namespace {

wire::OutputTerm term_of(const OutputFilter& filter) {
  wire::OutputTerm term;
  for (const int id : filter.targets) {
    if (id < 0)
      throw_error(errc::bad_option, "engine id " + std::to_string(id) + " in the output filter's targets",
                  "engine ids are 0 or more (`crew ids` lists them)");
    term.engines.push_back(id);
  }
  term.msg_ids = filter.msg_ids;
  term.mine = filter.mine;
  term.status = filter.status;
  term.activity = filter.activity;
  return term;
}

}  // namespace

OutputFeed Client::subscribe_output(const OutputFilter& filter) const {
  return OutputFeed(core_, core_->follow(term_of(filter)));
}

void AsyncResult::on_output(std::function<void(const OutputEvent&)> callback) const {
  check_valid();
  if (!callback) throw_error(errc::bad_option, "on_output needs a callback", "pass a function of (const OutputEvent&)");
  auto core = state_->core.lock();
  if (!core) return;  // its client closed: no more output will come
  wire::OutputTerm term;
  term.msg_ids = msg_ids();
  {
    std::lock_guard lock(state_->mutex);
    if (state_->remaining == 0) return;  // done: its whole output is in its metadata
  }
  auto feed = core->follow(std::move(term), std::move(callback));
  // Once every answer came (behind all of its output), the feed ends.
  std::weak_ptr<detail::ClientCore> weak = core;
  when_ready([weak, feed](const AsyncResult&) {
    if (auto c = weak.lock()) c->unfollow(feed.get());
  });
}

}  // namespace crew

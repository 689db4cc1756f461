// A client's live-output feeds.
#include "client/output_feeds.hpp"

#include <algorithm>

namespace crew::detail {

void OutputFeedState::push(OutputEvent e) {
  {
    std::lock_guard lock(mutex);
    if (closed) return;
    if (queued_bytes + e.text.size() > most_queued) {
      dropped += e.text.size() + e.dropped_bytes;
      return;
    }
    e.dropped_bytes += std::exchange(dropped, 0);
    queued_bytes += e.text.size();
    queue.push_back(std::move(e));
  }
  arrived.notify_all();
}

void OutputFeedState::close() {
  {
    std::lock_guard lock(mutex);
    closed = true;
  }
  arrived.notify_all();
}

OutputEvent event_of(const wire::Packet& p) {
  const wire::Header& h = p.header;
  OutputEvent e;
  e.dropped_bytes = h.request_id;
  if (h.kind == wire::MsgKind::engine_status) {
    e.kind = OutputEvent::Kind::status;
    e.engines.assign(h.targets.begin(), h.targets.end());
    e.engine_id = e.engines.empty() ? -1 : e.engines.front();
    e.text = h.function;
    e.detail = h.out;
    return e;
  }
  e.kind = h.err.empty() ? OutputEvent::Kind::out : OutputEvent::Kind::err;
  e.engine_id = h.engine_id;
  try {
    const Value where = p.body();  // [world, rank]
    if (where.is_list() && where.as_list().size() == 2) {
      e.world = static_cast<int>(where.as_list()[0].as_int());
      e.rank = static_cast<int>(where.as_list()[1].as_int());
    }
  } catch (const Error&) {
    // (where it came from is unknown: -1)
  }
  if (!h.msg_ids.empty()) e.msg_id = h.msg_ids.front();
  e.text = h.err.empty() ? h.out : h.err;
  return e;
}

void OutputFeeds::add(std::shared_ptr<OutputFeedState> feed) {
  std::lock_guard lock(mutex_);
  feeds_.push_back(std::move(feed));
}

bool OutputFeeds::remove(const OutputFeedState* feed) {
  std::lock_guard lock(mutex_);
  const auto it = std::find_if(feeds_.begin(), feeds_.end(), [&](const auto& f) { return f.get() == feed; });
  if (it == feeds_.end()) return false;
  feeds_.erase(it);
  return true;
}

bool OutputFeeds::empty() const {
  std::lock_guard lock(mutex_);
  return feeds_.empty();
}

wire::OutputSubscribe OutputFeeds::subscription() const {
  wire::OutputSubscribe s;
  std::lock_guard lock(mutex_);
  for (const auto& f : feeds_) s.terms.push_back(f->term);
  return s;
}

void OutputFeeds::deliver(const wire::Packet& p, const std::function<bool(const std::string&)>& own) {
  const wire::Header& h = p.header;
  const bool status = h.kind == wire::MsgKind::engine_status;
  const std::string no_task;
  const std::string& msg_id = h.msg_ids.empty() ? no_task : h.msg_ids.front();
  std::vector<std::shared_ptr<OutputFeedState>> matching;
  {
    std::lock_guard lock(mutex_);
    for (const auto& f : feeds_) {
      const bool match = status ? f->term.matches_change(h.targets, h.function)
                                : f->term.matches_output(h.engine_id, msg_id, f->term.mine && own(msg_id));
      if (match) matching.push_back(f);
    }
  }
  if (matching.empty()) return;
  const OutputEvent e = event_of(p);
  for (const auto& f : matching) {
    if (!f->callback) {
      f->push(e);
      continue;
    }
    try {
      f->callback(e);  // (no lock held: it may follow or stop following output itself)
    } catch (...) {
      // A callback must not throw (AsyncResult::on_output): this one loses only its own event.
    }
  }
}

void OutputFeeds::close_all() {
  std::vector<std::shared_ptr<OutputFeedState>> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(feeds_);
  }
  for (const auto& f : all) f->close();
}

}  // namespace crew::detail

// Live output: a rank's task output, sent on while the task runs.
#include "engine/output_pump.hpp"

#include <utility>

#include "protocol/header.hpp"

namespace crew::detail {

OutputPump::OutputPump(Place place, Sink sink, Followed followed, Limits limits)
    : place_(place), sink_(std::move(sink)), followed_(std::move(followed)), limits_(limits) {}

OutputPump::~OutputPump() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutputPump::begin(const std::string& msg_id) noexcept {
  std::lock_guard lock(mutex_);
  task_ = &msg_id;
  task_id_.clear();
}

void OutputPump::write(bool err, std::string_view text) {
  if (text.empty() || (followed_ && !followed_())) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (task_ == nullptr) return;  // between tasks: nobody's output
    if (waiting_bytes_ + text.size() > limits_.most) {
      dropped_unsaid_ += text.size();
      dropped_ += text.size();
      return;
    }
    if (task_id_.empty()) task_id_ = *task_;
    const bool first = waiting_.empty();
    if (first) first_waiting_ = std::chrono::steady_clock::now();
    if (!waiting_.empty() && waiting_.back().err == err)
      waiting_.back().text.append(text);
    else
      waiting_.push_back({err, std::string(text)});
    waiting_bytes_ += text.size();
    wake = (first && idle_) || waiting_bytes_ >= limits_.chunk;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  if (wake) wake_.notify_one();
}

void OutputPump::end() {
  std::lock_guard sending(send_mutex_);
  send_waiting(true);
  std::lock_guard lock(mutex_);
  task_ = nullptr;
}

void OutputPump::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    idle_ = true;
    wake_.wait(lock, [&] { return stop_ || !waiting_.empty(); });
    idle_ = false;
    // Lines that come close together leave together; a full chunk leaves at once. Tasks that end
    // meanwhile send their own text (end()), and the next ones' lines wake nobody: this thread
    // looks again when the oldest line waiting is due (one wake-up per `delay`, not per task).
    while (!stop_ && !waiting_.empty() && waiting_bytes_ < limits_.chunk &&
           std::chrono::steady_clock::now() < first_waiting_ + limits_.delay)
      wake_.wait_until(lock, first_waiting_ + limits_.delay);
    if (stop_) return;
    if (waiting_.empty()) continue;  // end() sent it
    lock.unlock();
    {
      std::lock_guard sending(send_mutex_);
      send_waiting(false);
    }
    lock.lock();
  }
}

void OutputPump::send_waiting(bool last) {
  std::vector<Piece> pieces;
  std::string task;
  std::uint64_t dropped = 0;
  {
    std::lock_guard lock(mutex_);
    if (waiting_.empty() && dropped_unsaid_ == 0) return;
    pieces.swap(waiting_);
    waiting_bytes_ = 0;
    task = task_id_;
    dropped = std::exchange(dropped_unsaid_, 0);
  }
  wire::Header h;
  h.kind = wire::MsgKind::output;
  h.engine_id = place_.engine_id;
  if (!task.empty()) h.msg_ids = {task};
  const Value where(Value::List{Value(place_.world_id), Value(place_.rank)});
  std::uint64_t sent = 0;
  auto send_text = [&](bool err, std::string_view text) {
    h.request_id = std::exchange(dropped, 0);
    (err ? h.err : h.out).assign(text);
    (err ? h.out : h.err).clear();
    sent += text.size();
    sink_(wire::make_message(h, where), last);
  };
  for (const Piece& p : pieces) {
    std::string_view text = p.text;
    while (text.size() > limits_.chunk) {
      // Cut after the last newline within the chunk, if there is one: lines stay whole.
      std::size_t cut = text.rfind('\n', limits_.chunk - 1);
      cut = cut == std::string_view::npos ? limits_.chunk : cut + 1;
      send_text(p.err, text.substr(0, cut));
      text.remove_prefix(cut);
    }
    if (!text.empty()) send_text(p.err, text);
  }
  if (dropped != 0) send_text(false, {});  // only drops to report
  std::lock_guard lock(mutex_);
  sent_ += sent;
}

std::uint64_t OutputPump::bytes_sent() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

std::uint64_t OutputPump::bytes_dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

namespace {
thread_local OutputPump* live_pump = nullptr;
}  // namespace

LivePumpScope::LivePumpScope(OutputPump* pump) noexcept : previous_(std::exchange(live_pump, pump)) {}
LivePumpScope::~LivePumpScope() { live_pump = previous_; }

void write_live_only(bool err, std::string_view text) {
  if (live_pump != nullptr) live_pump->write(err, text);
}

}  // namespace crew::detail

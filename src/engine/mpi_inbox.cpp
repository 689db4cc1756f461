// The inbox and outbox of every rank but 0: MPI to and from rank 0, with a doorbell or probing.
#include "engine/mpi_inbox.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "crew/error.hpp"

namespace crew::detail {

MpiInbox::MpiInbox(MPI_Comm comm, Doorbell* doorbell, int rank) : comm_(comm), doorbell_(doorbell), rank_(rank) {
  IdleBackoff::tighten_timer_slack();
}

void MpiInbox::take(mpi_frames::Message&& m) {
  try {
    for (auto& p : wire::unpack(std::move(m.header), std::move(m.payload))) work_.push_back(std::move(p));
  } catch (const Error& e) {
    spdlog::error("rank {} dropped a message from the bridge that does not decode: {}", rank_, e.what());
  }
}

void MpiInbox::take_arrived() {
  if (!doorbell_) {
    while (auto m = mpi_frames::try_recv(comm_, 0)) take(std::move(*m));
    return;
  }
  // Rings that came while this rank worked, so that replies wait for the work they announce (not
  // right after a wait, which collected them itself).
  if (work_.empty() && !just_rung_) doorbell_->collect(announced_);
  just_rung_ = false;
  for (; !announced_.empty() && announced_[0] > 0; --announced_[0]) take(mpi_frames::recv(comm_, 0));
}

wire::Packet MpiInbox::next() {
  idle_.worked();
  return work_.pop_front();
}

void MpiInbox::wait(bool replies_leaving) {
  if (!doorbell_) {
    idle_.sleep();
    return;
  }
  // Asleep until rung; briefly while replies or their announcements are still going out (a large
  // reply cannot finish before the bridge hears of it and receives it).
  const auto timeout = replies_leaving ? std::chrono::milliseconds(1) : std::chrono::milliseconds(100);
  just_rung_ = doorbell_->wait(timeout, announced_);
}

void MpiOutbox::add(wire::Outgoing reply, std::string_view) {
  std::lock_guard lock(mutex_);
  replies_.add(std::move(reply.header_bytes), std::move(reply.payload));
}

bool MpiOutbox::empty() const {
  std::lock_guard lock(mutex_);
  return replies_.empty();
}

void MpiOutbox::send(std::size_t) {
  std::lock_guard lock(mutex_);
  send_locked();
}

void MpiOutbox::output(wire::Outgoing message, bool last) {
  std::lock_guard lock(mutex_);
  replies_.add(std::move(message.header_bytes), std::move(message.payload));
  if (!last) send_locked();
}

void MpiOutbox::send_locked() {
  std::uint32_t messages = 0;
  for (const wire::Frames& m : replies_.take()) {
    sends_.send(comm_, 0, m.header_bytes, m.payload);
    ++messages;
  }
  sends_.progress();
  if (doorbell_ && messages > 0) doorbell_->ring(0, messages);
}

bool MpiOutbox::progress() {
  std::lock_guard lock(mutex_);
  sends_.progress();
  if (!doorbell_) return false;  // nobody to tell: the inbox's naps do not depend on it
  const bool all_announced = doorbell_->retry();
  return !sends_.idle() || !all_announced;
}

void MpiOutbox::goodbye() {
  wire::Header bye;
  bye.kind = wire::MsgKind::goodbye;
  add(wire::make_message(bye), {});
  std::lock_guard lock(mutex_);
  send_locked();
  sends_.wait_all();
  while (doorbell_ && !doorbell_->retry()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace crew::detail

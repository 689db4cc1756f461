// The client's socket: who sends and receives, and when.
//
// Whoever holds io_mutex_ moves messages, and nobody else touches the socket. Mostly that is the
// I/O thread. Two kinds of user thread take it over, each sparing a thread hand-over (a wake-up,
// tens of microseconds on a virtual machine) on the path of one round trip:
// - a thread that sends after a quiet spell (no send for `quiet_gap`) sends itself, straight out;
//   busy threads leave their messages to the I/O thread, which sends each burst as one batch;
// - a thread that waits for a result polls the socket itself while it waits, so the answer wakes
//   it, not the I/O thread that would then wake it.
//
// Waiting goes through the socket's ZMQ_FD, which any thread may poll without holding the
// socket. It only says "look again": whoever holds the socket therefore receives until nothing is
// left before letting go (move_io), so no answer is ever left behind without a signal to come.
#include "client/client_core.hpp"

#include <poll.h>

#include <algorithm>

namespace crew::detail {
namespace {

/// Set while this thread holds io_mutex_: what it runs then (a state's hook that sends) queues,
/// and must not take the socket again.
thread_local bool moving_io = false;

struct MovingIo {
  MovingIo() { moving_io = true; }
  ~MovingIo() { moving_io = false; }
  MovingIo(const MovingIo&) = delete;
  MovingIo& operator=(const MovingIo&) = delete;
};

/// No send for this long: the next one goes straight out (one request at a time, awaited).
constexpr std::chrono::microseconds quiet_gap{50};

/// The longest the I/O thread leaves the socket to a waiting thread before it looks itself.
constexpr std::chrono::milliseconds park_period{2};

}  // namespace

void ClientCore::send(wire::Outgoing&& m) {
  const std::int64_t now = SteadyClock::now().time_since_epoch().count();
  const std::int64_t last = last_send_ns_.exchange(now, std::memory_order_relaxed);
  const bool quiet = now - last > std::chrono::nanoseconds(quiet_gap).count();
  if (quiet && !moving_io) {
    std::unique_lock io(io_mutex_, std::try_to_lock);
    if (io.owns_lock()) {
      MovingIo mark;
      move_io(&m);  // after what is queued already: in order
      return;
    }
  }
  outbox_.push(std::move(m));
}

void ClientCore::move_io(wire::Outgoing* last) {
  // One pass: what a burst queues meanwhile waits for the next (the outbox's eventfd stays
  // armed), and leaves as one batch then, not message by message.
  outbox_.drain(batch_);
  for (auto& out : batch_)
    if (!out.header_bytes.empty()) queue_.add(std::move(out.header_bytes), std::move(out.payload));
  batch_.clear();
  if (last) queue_.add(std::move(last->header_bytes), std::move(last->payload));
  if (socket_->send_queued(queue_) != transport::Sent::ok) ++dropped_;
  // Until the socket says "nothing": that last look takes in whatever signal the send above
  // consumed, so every answer that comes later signals anew.
  socket_->receive(
      [&](transport::Received&& received) {
        for (auto& packet : received.messages) on_packet(std::move(packet));
      },
      [&](const wire::Rejection&) { ++dropped_; });
}

void ClientCore::poll_io(std::chrono::milliseconds timeout) {
  pollfd fds[] = {{socket_->fd(), POLLIN, 0}, {outbox_.fd(), POLLIN, 0}};
  (void)::poll(fds, 2, static_cast<int>(timeout.count()));
}

// While a waiting thread holds the socket, it reads whatever comes, for every state: the I/O
// thread then parks (watches only the outbox) instead of queueing for the socket, so answers wake
// one thread, not two. It is called back (need_io) by whoever waits on it, by a waiting thread that
// leaves answers still due, and by anything put in the outbox; and it looks again after
// `park_period` in any case, so a park never strands an answer for longer than that.
void ClientCore::io_loop() {
  bool outbox_rang = false;
  for (;;) {
    bool park = false;
    {
      std::unique_lock io(io_mutex_, std::try_to_lock);
      if (!io.owns_lock()) {
        // Parked is announced before awaiting_ is read; a waiting thread leaves in the opposite
        // order (await_until), so one of the two always sees the other.
        io_parked_.store(true);
        park = !outbox_rang && awaiting_.load() > 0;
        if (!park) {
          io_parked_.store(false);
          io.lock();  // a sender: it lets go in a moment
        }
      }
      if (io.owns_lock()) {
        // Read before the drain: what was queued before the stop goes out in this pass. (Read
        // after it, a message queued between the drain and the stop would be left behind.)
        const bool last_pass = stopping_.load();
        MovingIo mark;
        move_io();
        if (last_pass) return;
        // A stop that came after the read above had its wake-up taken by this pass's drain:
        // waiting for another one would wait forever. Pass again, as the last one.
        if (stopping_.load()) continue;
      }
    }
    if (park) {
      pollfd outbox{outbox_.fd(), POLLIN, 0};
      (void)::poll(&outbox, 1, static_cast<int>(park_period.count()));
      outbox_rang = outbox.revents != 0;
      io_parked_.store(false);
    } else {
      outbox_rang = false;
      poll_io(std::chrono::milliseconds(-1));
    }
  }
}

void ClientCore::need_io() {
  if (io_parked_.exchange(false)) outbox_.push(wire::Outgoing{});  // no header: only a wake-up
}

bool ClientCore::await_until(ResultState& state, Deadline deadline, const std::function<bool()>& done) {
  auto ready = [&] {
    std::lock_guard lock(state.mutex);
    return done();
  };
  // Waits in slices: a thread that cannot take the socket now (another holds it) tries again.
  constexpr auto slice = std::chrono::milliseconds(1);
  for (;;) {
    if (ready()) return true;
    if (SteadyClock::now() >= deadline) return false;
    // (A hook run while this thread moves messages waits without the socket: it holds it.)
    std::unique_lock io(io_mutex_, std::defer_lock);
    if (!moving_io && io.try_lock()) {
      MovingIo mark;
      struct Awaiting {
        ClientCore& c;
        explicit Awaiting(ClientCore& core) : c(core) { c.awaiting_.fetch_add(1); }
        ~Awaiting() {
          // Answers still due for others (or this one, on a timeout): the I/O thread takes over.
          if (c.awaiting_.fetch_sub(1) == 1 && c.io_parked_.load() && c.answers_due()) c.need_io();
        }
        Awaiting(const Awaiting&) = delete;
        Awaiting& operator=(const Awaiting&) = delete;
      } awaiting(*this);
      // The socket was last left with nothing to read, so its ZMQ_FD signals whatever comes
      // next: poll first, and read once it says so.
      if (!socket_->armed()) move_io();
      for (;;) {
        if (ready()) return true;
        const auto left = time_left(deadline);
        if (left.count() == 0) return false;
        // Rounded up: a poll of 0 ms would spin until the last millisecond.
        poll_io(std::clamp(std::chrono::ceil<std::chrono::milliseconds>(left), std::chrono::milliseconds(1),
                           std::chrono::milliseconds(100)));
        move_io();
      }
    }
    if (io.owns_lock()) io.unlock();
    std::unique_lock lock(state.mutex);
    const Deadline until = time_left(deadline) > slice ? SteadyClock::now() + slice : deadline;
    state.cv.wait_until(lock, until, done);
  }
}

bool wait_on(ResultState& state, std::unique_lock<std::mutex>& lock, Deadline deadline,
             const std::function<bool()>& done) {
  if (done()) return true;
  // A then() callback may run on the thread that moves the socket: waiting there would wait on itself.
  if (running_continuations)
    throw Error(errc::bad_option,
                "an AsyncResult::then callback waited for a result that has not arrived; it runs on the client's "
                "I/O path, so it must not wait: chain another then() on that result instead");
  if (auto core = state.core.lock()) {
    // The client is open: its socket may be watched by this thread itself.
    lock.unlock();
    const bool ok = core->await_until(state, deadline, done);
    core.reset();  // the last owner closes the client here, which takes this state's lock
    lock.lock();
    return ok || done();
  }
  // The client is closed: every answer that will ever come has come.
  if (deadline == Deadline::max()) {
    state.cv.wait(lock, done);
    return true;
  }
  return state.cv.wait_until(lock, deadline, done);
}

}  // namespace crew::detail

#pragma once
// FdCapture: what a task writes to file descriptors 1 and 2 is its output too: printf and puts,
// Fortran's WRITE(*,*), write(2), libraries and child processes that inherit the descriptors.
//
// From the engine's start both descriptors are pipes, read by a thread of FdCapture's own. While a
// task runs, what that thread reads belongs to the task: kept whole for its reply, and passed to
// the rank's live output (engine/output_pump.hpp) a line at a time. Between tasks, it goes where
// the descriptors went before (mpirun's output: the world's log). C stdio's stdout is made line
// buffered, and std::cout and std::cerr write through stdio, so every way a task writes keeps one
// order. When the task ends, end() flushes stdio and reads what is left in the pipes on the
// task's own thread: the reply has everything the task wrote before it returned. Text a child
// process writes after its task ended belongs to the next task, or to the log.
//
// The engine's own log goes to the original stderr meanwhile (common/log.hpp). One per process
// (it owns the process's descriptors 1 and 2): crew-engine's ranks have one; an application that
// embeds an engine keeps its own stdout unless it asks (EngineOptions::capture_fds).

#include <array>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/internal_api.hpp"

namespace crew::detail {

class OutputPump;

class CREW_INTERNAL_API FdCapture {
public:
  /// Turns descriptors 1 and 2 into pipes; throws Error [crew.internal.bug] if it cannot.
  FdCapture();
  /// Puts the descriptors back (what is still in the pipes goes to them first).
  ~FdCapture();
  FdCapture(const FdCapture&) = delete;
  FdCapture& operator=(const FdCapture&) = delete;

  /// A task starts: what is written until end() is its own; lines also go to `pump` (null: none).
  void begin(OutputPump* pump);
  struct Text {
    std::string out, err;
  };
  /// The task ended: everything it wrote to the descriptors, stdout's and stderr's.
  Text end();

private:
  void run();
  /// Reads what waits in pipe `which` (0: stdout, 1: stderr); mutex_ held.
  void read_ready(int which);
  /// Bytes from pipe `which`: the task's, or passed on to where the descriptor went before.
  void deliver(int which, std::string_view bytes);
  /// The task's unfinished last line goes to live output too (at its end, or when it grows long).
  void pass_pending(int which);

  std::array<int, 2> read_{-1, -1};   ///< the pipes' read ends
  std::array<int, 2> saved_{-1, -1};  ///< descriptors 1 and 2 as they were
  int stop_ = -1;                     ///< an eventfd: the thread ends
  std::mutex mutex_;
  bool in_task_ = false;
  OutputPump* pump_ = nullptr;
  std::array<std::string, 2> text_;     ///< the running task's, whole
  std::array<std::string, 2> pending_;  ///< not yet passed to live output (no newline yet)
  std::thread thread_;
};

}  // namespace crew::detail

#pragma once
// FdCapture: what a task writes to file descriptors 1 and 2 is its output too: printf and puts,
// Fortran's WRITE(*,*), write(2), libraries and child processes that inherit the descriptors.
//
// From the engine's start both descriptors are memory files (memfd), each mapped into the engine.
// Whoever writes (the task, a child it started) appends at the file's shared offset; the engine
// reads what was written straight from the mapping. So a task's end costs no system call when it
// wrote nothing to them: a byte that is no longer zero at the read position says something came
// (a task that only ever writes NUL bytes first is read a moment later, by the thread below). That
// matters: a system call costs 1.4 us on this project's test machine, and a no-op task 4 us.
//
// While a task runs, what was written is the task's: kept whole for its reply (after the text
// that went through std::cout / std::cerr, which stay in memory and keep their own order), and
// passed to the rank's live output (engine/output_pump.hpp) a line at a time, by a thread that
// looks every 20 ms. C stdio's stdout is line buffered, as on a terminal, so printf's lines and a
// child's keep their order. Between tasks, what comes goes where the descriptors went before
// (mpirun's output: the world's log), looked at every 200 ms. When a task ends, end() flushes
// stdio and takes what is left on the task's own thread: the reply has everything the task wrote
// before it returned. Text a child process writes after its task ended belongs to the next task,
// or to the log. Memory: what was read is given back as it goes (every 8 MiB); a file starts over
// once 512 MiB were written to it. (A program that opens /dev/stdout anew writes from the file's
// start, over what was read: such text is not seen.)
//
// The engine's own log goes to the original stderr meanwhile (common/log.hpp). One per process (it
// owns the process's descriptors 1 and 2): crew-engine's ranks have one; an application that
// embeds an engine keeps its own stdout unless it asks (EngineOptions::capture_fds).

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/internal_api.hpp"

namespace crew::detail {

class OutputPump;

class CREW_INTERNAL_API FdCapture {
public:
  /// Turns descriptors 1 and 2 into memory files; throws Error [crew.internal.bug] if it cannot
  /// (the descriptors are then as they were).
  FdCapture();
  /// Puts the descriptors back (what was written and not read goes to them first).
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
  struct Stream {
    int fd = -1;                   ///< the memory file (descriptor 1 or 2 shares its offset)
    int saved = -1;                ///< the descriptor as it was
    const char* map = nullptr;     ///< the file, mapped
    std::uint64_t read = 0;        ///< bytes of it taken so far
    std::uint64_t given_back = 0;  ///< bytes before this are punched out (zero, and no memory)
    std::string text;              ///< the running task's, whole
    std::string pending;           ///< not yet passed to live output (no newline yet)
  };
  void run();
  /// Takes what was written to `s` since it was last read. `probe`: first look at the mapping
  /// (no system call when nothing came). mutex_ held.
  void take(int which, bool probe);
  /// Bytes from stream `which` (0: stdout, 1: stderr): the task's, or passed on to where the
  /// descriptor went before. mutex_ held.
  void deliver(int which, std::string_view bytes);
  /// The task's unfinished last line goes to live output too (at its end, or when it grows long).
  void pass_pending(int which);
  /// Between tasks: gives back read memory, and starts the files over once they grew large.
  void tidy();

  std::array<Stream, 2> streams_;
  int stop_ = -1;  ///< an eventfd: the thread ends
  std::mutex mutex_;
  bool in_task_ = false;
  OutputPump* pump_ = nullptr;
  std::thread thread_;
};

}  // namespace crew::detail

#pragma once
// Task claims: who gets a load-balanced task that waits, unstarted, in an engine's queue — the
// engine, which starts it, or the bridge, which gives it back to the controller (to abort it, or
// to run it on an engine that fell idle). A rank busy with a long task cannot answer anything, so
// the two meet in shared memory, one atomic word per task: whoever changes it first wins.
//
// One table per world, in a POSIX shared-memory object that rank 0 creates and the ranks on its
// host map (then its name is removed: nothing is left behind). Each rank has a ring of slots
// indexed by the task's sequence number (the controller numbers each engine's balanced tasks,
// Header::request_id), plus a word saying the rank checks its claims: a rank on another host
// never maps the table, and its tasks are never given back (the bridge says so).
//
// A slot holds (seq << 2 | state). The bridge writes `queued` before it forwards the task; the
// rank turns it into `started`, the bridge into `withdrawn`, by compare-and-swap. A slot that a
// later task reused (a ring's worth of tasks behind) belongs to that one: the rank runs the
// older task regardless, and the bridge refuses to withdraw it.
//
// One more word, the world's: whether some client follows live output. The bridge sets it; the
// ranks on its host read it before passing a line on (engine/output_pump.hpp), so a world that
// nobody follows builds and sends no output messages at all.

#include <cstdint>
#include <string>

#include "common/internal_api.hpp"

namespace crew::detail {

class CREW_INTERNAL_API TaskClaims {
public:
  /// Rank 0: creates the table for `ranks` ranks, named after the world's tag.
  static TaskClaims create(const std::string& world_tag, int ranks);
  /// Another rank on rank 0's host: maps the table rank 0 created.
  static TaskClaims open(const std::string& world_tag, int ranks, int rank);
  /// Rank 0, once every rank has mapped it (or given up): the name goes; the mappings stay.
  static void unlink(const std::string& world_tag) noexcept;

  TaskClaims() = default;
  ~TaskClaims();
  TaskClaims(TaskClaims&& other) noexcept;
  TaskClaims& operator=(TaskClaims&& other) noexcept;
  TaskClaims(const TaskClaims&) = delete;
  TaskClaims& operator=(const TaskClaims&) = delete;

  bool mapped() const noexcept { return base_ != nullptr; }

  // The rank's side.
  /// This rank checks its claims from now on (the bridge may withdraw its tasks).
  void attend(int rank) noexcept;
  /// Before starting task `seq`: false if the bridge has withdrawn it (skip it: it was answered).
  bool start(int rank, std::uint64_t seq) noexcept;

  // The bridge's side.
  bool attended(int rank) const noexcept;
  /// Before forwarding task `seq` to `rank`.
  void queued(int rank, std::uint64_t seq) noexcept;
  /// True if task `seq` had not started: it never will.
  bool withdraw(int rank, std::uint64_t seq) noexcept;

  // Live output.
  /// The bridge: some client follows live output (or none does any longer).
  void set_output_followed(bool followed) noexcept;
  /// A rank: false once the bridge said nobody follows (true where the table is not mapped: the
  /// bridge filters then).
  bool output_followed() const noexcept;

  static constexpr std::uint64_t slots = 4096;  ///< per rank; more than an engine holds at once

private:
  std::uint64_t* word(int rank, std::uint64_t index) const noexcept;
  std::uint64_t* world_word() const noexcept;
  std::uint64_t* base_ = nullptr;
  std::size_t bytes_ = 0;
  int ranks_ = 0;
};

}  // namespace crew::detail

#pragma once
// crew::Client: the connection to a cluster's controller.
//
//   crew::Client rc;                          // profile "default" ($CREW_HOME/profile_default)
//   crew::Client rc{"/path/to/controller.json"};
//   rc.ids();                                 // [0, 1, 2, 3]
//   rc[0].apply("mul", 5, 6).get();           // 30
//   rc.view().apply("summary").get_dict();    // every engine
//
// A Client is thread-safe; one I/O thread per Client owns its socket.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "crew/async_result.hpp"
#include "crew/view.hpp"

namespace crew {

struct EngineInfo {
  int id = -1;
  std::string host;
  std::int64_t pid = 0;
  int rank = 0;        ///< MPI rank within its world
  int world = -1;      ///< which MPI job
  int world_size = 0;  ///< ranks in that job
  std::string state;   ///< "alive", "dead" or "stopped"
  int tasks = 0;       ///< tasks in flight
  std::int64_t completed = 0;
};

struct ClientOptions {
  /// How long to wait for the controller: at connect and for each query.
  std::chrono::milliseconds timeout{10000};
  /// Keep freed blocks of up to 1 GiB for reuse instead of returning them to the kernel (glibc
  /// mallopt, process-wide). Large results then land in memory touched before, which on many
  /// machines (VMs above all) is several times faster than fresh pages. Set false to leave the
  /// process's allocator alone.
  bool keep_freed_memory = true;
};

class Client {
public:
  /// A profile name ($CREW_HOME/profile_<name>/controller.json) or a path to a controller.json.
  /// Throws ConnectionError naming the profile and file if there is no controller, or if it does
  /// not answer within the timeout.
  explicit Client(const std::string& profile_or_file = "default", ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  /// Ids of the alive engines, ascending.
  std::vector<int> ids() const;
  /// Every engine the controller knows, alive or not.
  std::vector<EngineInfo> engines() const;
  /// The engine list as soon as at least `at_least` engines are alive, or once `max_wait` passed.
  std::vector<EngineInfo> engines(int at_least, std::chrono::milliseconds max_wait) const;
  /// Waits until at least `n` engines are alive; throws TimeoutError saying how many there are.
  std::vector<int> wait_for_engines(int n, std::chrono::milliseconds timeout) const;

  DirectView operator[](int id) const;
  DirectView operator[](std::vector<int> ids) const;
  /// All engines alive now.
  DirectView view() const;
  /// The alive engines of one MPI world (one mpirun job): the view for code that runs its own
  /// collectives on Context::comm(). Throws InputError [crew.input.unknown_target] if the world
  /// has no alive engines.
  DirectView view(int world) const;

  /// Waits for every result this client is still owed; true if none is left.
  bool wait(std::chrono::milliseconds timeout = forever) const;
  /// Results this client is still owed.
  std::size_t outstanding() const;

  /// The controller's counters (dropped messages, tasks, ...).
  Value controller_stats() const;
  /// Stops the engines and the controller; returns when the controller has answered.
  void shutdown() const;

  const std::filesystem::path& connection_file() const;

private:
  std::shared_ptr<detail::ClientCore> core_;
};

}  // namespace crew

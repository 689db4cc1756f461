// The controller's ZAP handler (transport/zap_handler.hpp).
#include "transport/zap_handler.hpp"

#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "transport/keyring.hpp"

namespace crew::transport {

namespace fs = std::filesystem;

namespace {

constexpr const char* zap_address = "inproc://zeromq.zap.01";
constexpr int failed_handshakes = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

}  // namespace

/// What the handler knows of authorized.json, read again when the file changes.
class Admissions {
public:
  explicit Admissions(fs::path file) : file_(std::move(file)) {}

  /// The entry for `public_key` (its newest), or null.
  /// (As last read: the caller refreshes first, so that the revoked set goes with what it finds.)
  const AuthorizedKey* find(const std::string& public_key) const {
    const auto it = by_key_.find(public_key);
    return it == by_key_.end() ? nullptr : &it->second;
  }

  /// Reads the file again if it changed; true if it did.
  bool refresh() {
    struct stat st {};
    const bool present = ::stat(file_.c_str(), &st) == 0;
    const auto stamp = present ? std::tuple(st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
                               : std::tuple(ino_t{0}, off_t{-1}, time_t{0}, long{0});
    if (loaded_ && stamp == stamp_) return false;
    try {
      std::map<std::string, AuthorizedKey> keys;
      for (auto& k : Keyring::read_authorized(file_)) {
        // A key listed twice (revoked, then admitted again): the admitted entry wins.
        auto [it, fresh] = keys.try_emplace(k.public_key, k);
        if (!fresh && k.revoked.empty()) it->second = k;
      }
      by_key_ = std::move(keys);
    } catch (const std::exception& e) {
      spdlog::error("{}; keeping the keys read before ({} of them)", e.what(), by_key_.size());
    }
    stamp_ = stamp;
    loaded_ = true;
    return true;
  }

  /// The public keys revoked and not admitted again.
  std::unordered_set<std::string> revoked() const {
    std::unordered_set<std::string> out;
    for (const auto& [key, k] : by_key_)
      if (!k.revoked.empty()) out.insert(key);
    return out;
  }

private:
  fs::path file_;
  std::map<std::string, AuthorizedKey> by_key_;
  std::tuple<ino_t, off_t, time_t, long> stamp_{};
  bool loaded_ = false;
};

namespace {

std::string frame_text(const zmq::message_t& m) { return std::string(static_cast<const char*>(m.data()), m.size()); }

/// Whether refusal number `n` (from 1) goes to the log: the first hundred, then one in a thousand.
bool worth_logging(std::uint64_t n) { return n <= 100 || n % 1000 == 0; }

}  // namespace

struct ZapHandler::State {
  State(zmq::context_t& context, fs::path file)
      : requests(context, zmq::socket_type::rep), admissions(std::move(file)),
        stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~State() {
    if (stop_fd >= 0) ::close(stop_fd);
  }
  zmq::socket_t requests;
  std::vector<zmq::socket_t> monitors;
  Admissions admissions;
  int stop_fd;
  std::atomic<std::uint64_t> admitted{0}, unknown{0}, revoked{0}, plaintext{0}, handshake{0};
  mutable std::mutex revoked_mutex;
  std::unordered_set<std::string> revoked_keys;  ///< revoked_mutex
  std::atomic<bool> any_revoked{false};
  std::atomic<std::uint64_t> revocations{0};

  /// Reads authorized.json again if it changed, and the set of revoked keys with it.
  void refresh() {
    if (!admissions.refresh()) return;
    auto keys = admissions.revoked();
    std::lock_guard lock(revoked_mutex);
    if (keys == revoked_keys) return;
    revoked_keys = std::move(keys);
    any_revoked.store(!revoked_keys.empty());
    revocations.fetch_add(1);
  }
  void answer();
  void count_failure(zmq::socket_t& monitor);
};

ZapHandler::ZapHandler(zmq::context_t& context, fs::path authorized_file, const std::vector<Endpoint*>& watched)
    : state_(std::make_unique<State>(context, std::move(authorized_file))), watched_(watched) {
  state_->requests.set(zmq::sockopt::linger, 0);
  state_->requests.bind(zap_address);
  static std::atomic<unsigned> next{0};
  for (Endpoint* e : watched_) {
    const std::string address = fmt::format("inproc://crew-zap-monitor-{}", next.fetch_add(1));
    e->monitor(address, failed_handshakes);
    auto& m = state_->monitors.emplace_back(context, zmq::socket_type::pair);
    m.set(zmq::sockopt::linger, 0);
    m.connect(address);
  }
  thread_ = std::thread([this] { serve(); });
}

ZapHandler::~ZapHandler() {
  // The monitors first: an event nobody reads any more would block the I/O thread that sends it.
  for (Endpoint* e : watched_) {
    try {
      e->monitor("", 0);
    } catch (const zmq::error_t&) {
    }
  }
  const std::uint64_t one = 1;
  (void)!::write(state_->stop_fd, &one, sizeof one);
  thread_.join();
}

CurveCounts ZapHandler::counts() const {
  return {state_->admitted.load(), state_->unknown.load(), state_->revoked.load(), state_->plaintext.load(),
          state_->handshake.load()};
}

bool ZapHandler::from_revoked_key(const zmq::message_t& frame) const {
  if (!state_->any_revoked.load(std::memory_order_relaxed)) return false;
  return revoked(key_of(frame));
}

std::string ZapHandler::key_of(const zmq::message_t& frame) {
  const char* user = zmq_msg_gets(const_cast<zmq_msg_t*>(frame.handle()), "User-Id");
  return user == nullptr ? std::string() : std::string(user);
}

bool ZapHandler::revoked(const std::string& public_key) const {
  if (public_key.empty()) return false;
  std::lock_guard lock(state_->revoked_mutex);
  return state_->revoked_keys.count(public_key) != 0;
}

std::uint64_t ZapHandler::revocations() const { return state_->revocations.load(); }

void ZapHandler::serve() {
  State& s = *state_;
  std::vector<zmq::pollitem_t> items;
  items.push_back({nullptr, s.stop_fd, ZMQ_POLLIN, 0});
  items.push_back({s.requests.handle(), 0, ZMQ_POLLIN, 0});
  for (auto& m : s.monitors) items.push_back({m.handle(), 0, ZMQ_POLLIN, 0});
  // Never ends but when told: the monitors' events must always be read (unread, they block the
  // I/O thread that sends them), and libzmq waits for every ZAP answer.
  for (;;) {
    try {
      s.refresh();
      zmq::poll(items, std::chrono::milliseconds(1000));
      if (items[0].revents != 0) return;
      if (items[1].revents != 0) s.answer();
      for (std::size_t i = 0; i < s.monitors.size(); ++i)
        if (items[2 + i].revents != 0) s.count_failure(s.monitors[i]);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::error("the ZAP handler: {}", e.what());
    } catch (const std::exception& e) {
      spdlog::error("the ZAP handler: {}", e.what());
    }
  }
}

void ZapHandler::State::answer() {
  // RFC 27: version, request id, domain, address, routing id, mechanism, credentials.
  std::vector<zmq::message_t> frames;
  for (;;) {
    zmq::message_t m;
    if (!requests.recv(m, zmq::recv_flags::dontwait)) break;
    const bool more = m.more();
    frames.push_back(std::move(m));
    if (!more) break;
  }
  if (frames.empty()) return;
  const std::string request_id = frames.size() > 1 ? frame_text(frames[1]) : "";
  const std::string domain = frames.size() > 2 ? frame_text(frames[2]) : "";
  const std::string address = frames.size() > 3 ? frame_text(frames[3]) : "";
  const std::string mechanism = frames.size() > 5 ? frame_text(frames[5]) : "";

  std::string status = "400", text = "not admitted", user;
  if (mechanism == "CURVE" && frames.size() > 6 && frames[6].size() == 32) {
    char z85[41] = {};
    zmq_z85_encode(z85, static_cast<const std::uint8_t*>(frames[6].data()), 32);
    const std::string key = z85;
    refresh();
    const AuthorizedKey* k = admissions.find(key);
    const KeyRole role = domain == "worlds" ? KeyRole::world : KeyRole::client;
    if (k != nullptr && k->revoked.empty() && k->role == role) {
      status = "200";
      text = "OK";
      user = key;  // what from_revoked_key() reads back from the connection's messages
      admitted.fetch_add(1);
    } else if (k != nullptr && !k->revoked.empty()) {
      text = "key revoked";
      if (const auto n = revoked.fetch_add(1) + 1; worth_logging(n))
        spdlog::warn("refused {} at the {} port: its key '{}' ({}...) was revoked {} ({} refused so far)", address,
                     domain, k->name, key_fingerprint(key), k->revoked, n);
    } else {
      text = "unknown key";
      if (const auto n = unknown.fetch_add(1) + 1; worth_logging(n))
        spdlog::warn("refused {} at the {} port: key {}... is not admitted there ({} refused so far; "
                     "`crew keys add NAME KEY` admits one)",
                     address, domain, key_fingerprint(key), n);
    }
  } else {
    handshake.fetch_add(1);
  }
  std::vector<zmq::message_t> reply;
  reply.emplace_back(std::string("1.0"));
  reply.emplace_back(request_id);
  reply.emplace_back(status);
  reply.emplace_back(text);
  reply.emplace_back(user);
  reply.emplace_back();
  for (std::size_t i = 0; i < reply.size(); ++i)
    (void)requests.send(reply[i], i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

void ZapHandler::State::count_failure(zmq::socket_t& monitor) {
  for (;;) {
    zmq::message_t head;
    if (!monitor.recv(head, zmq::recv_flags::dontwait)) return;
    std::string address;
    if (head.more()) {
      zmq::message_t where;
      (void)monitor.recv(where);
      address = frame_text(where);
    }
    if (head.size() < 6) continue;
    std::uint16_t event = 0;
    std::uint32_t value = 0;
    std::memcpy(&event, head.data(), 2);
    std::memcpy(&value, static_cast<const char*>(head.data()) + 2, 4);
    // A plaintext peer is seen as such only when this side notices first; when the peer hangs
    // up first (it saw "CURVE" in this side's greeting), the handshake ends without detail.
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
      if (const auto n = plaintext.fetch_add(1) + 1; worth_logging(n))
        spdlog::warn("refused a plaintext peer at {}: this controller takes CURVE only ({} refused so far)", address,
                     n);
    } else {
      if (const auto n = handshake.fetch_add(1) + 1; worth_logging(n))
        spdlog::warn("a handshake at {} failed (event 0x{:x}, 0x{:x}): a plaintext peer that hung up first, a wrong "
                     "server key, or not crew ({} so far)",
                     address, event, value, n);
    }
  }
}

}  // namespace crew::transport

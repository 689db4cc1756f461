// Endpoint: one crew socket (transport/endpoint.hpp).
#include "transport/endpoint.hpp"

#include "crew/error.hpp"

namespace crew::transport {

Endpoint::Endpoint(zmq::context_t& context, const std::string& key, const EndpointOptions& options)
    : socket_(context, options.type), sealer_(key), guard_(options.replay_guard) {
  if (!guard_) guard_ = std::make_shared<ReplayGuard>();
  guard_->add_own(sealer_.sender);
  if (!options.routing_id.empty()) socket_.set(zmq::sockopt::routing_id, options.routing_id);
  if (options.unlimited_queues) {
    socket_.set(zmq::sockopt::sndhwm, 0);
    socket_.set(zmq::sockopt::rcvhwm, 0);
  }
  if (options.router_mandatory) socket_.set(zmq::sockopt::router_mandatory, 1);
  socket_.set(zmq::sockopt::linger, static_cast<int>(options.linger.count()));
  if (options.curve_server.on()) {
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, options.curve_server.secret_key);
    socket_.set(zmq::sockopt::zap_domain, options.curve_server.domain);
  } else if (options.curve_client.on()) {
    socket_.set(zmq::sockopt::curve_serverkey, options.curve_client.server_key);
    socket_.set(zmq::sockopt::curve_publickey, options.curve_client.own.public_key);
    socket_.set(zmq::sockopt::curve_secretkey, options.curve_client.own.secret_key);
  }
  fd_ = socket_.get(zmq::sockopt::fd);
}

std::string Endpoint::bind(const std::string& url) {
  socket_.bind(url);
  return socket_.get(zmq::sockopt::last_endpoint);
}

void Endpoint::connect(const std::string& url) { socket_.connect(url); }

void Endpoint::monitor(const std::string& address, int events) {
  if (zmq_socket_monitor(socket_.handle(), address.empty() ? nullptr : address.c_str(), events) != 0)
    throw zmq::error_t();
}

bool Endpoint::input_waiting() {
  const bool waiting = has_input(socket_);
  armed_ = !waiting;
  return waiting;
}

Sent Endpoint::send(const wire::Outgoing& m, std::span<const zmq::message_t> routing) {
  return sent(transport::send(socket_, routing, m.header_bytes, m.payload, sealer_));
}

Sent Endpoint::send(const Buffer& header_bytes, std::span<const Buffer> payload,
                    std::span<const zmq::message_t> routing) {
  return sent(transport::send(socket_, routing, header_bytes, payload, sealer_));
}

Sent Endpoint::send(const wire::Frames& m, std::span<const zmq::message_t> routing) {
  return sent(transport::send(socket_, routing, m, sealer_));
}

Sent Endpoint::send_queued(wire::Batcher& queue, std::span<const zmq::message_t> routing) {
  if (queue.empty()) return Sent::ok;
  return sent(transport::send_queued(socket_, routing, queue, sealer_));
}

void Endpoint::set_linger(std::chrono::milliseconds linger) {
  socket_.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
}

}  // namespace crew::transport

#pragma once
// Single-copy transfers with a client on the same host: the kernel copies between the client's
// memory and this engine's (process_vm_readv / process_vm_writev, the cross-memory attach that
// Open MPI's shared-memory transport uses for large messages). A large scatter, push or gather
// then crosses once, engine by engine in parallel, instead of through the controller and rank 0.
// The client offers it only after it checked that its engines can (client/single_copy.cpp).

#include <cstddef>
#include <cstdint>
#include <string>

namespace crew::detail::peer_memory {

/// Copies `n` bytes at `address` in process `pid` into `out`. "" when all came, else why not.
std::string read(std::uint64_t pid, std::uint64_t address, std::byte* out, std::uint64_t n);
/// Copies `n` bytes from `in` to `address` in process `pid`. "" when all went, else why not.
std::string write(std::uint64_t pid, std::uint64_t address, const std::byte* in, std::uint64_t n);

}  // namespace crew::detail::peer_memory

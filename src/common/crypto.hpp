#pragma once
// OpenSSL's libcrypto, loaded on first use. Every process crew starts links crew_core, but only
// those that sign or check messages (the controller, clients, rank 0 of a world) or write bytes
// as base64 use libcrypto; the other ranks of a world, nearly all the processes of a large
// cluster, mapped it and bound its 3,400 symbols at start (it is linked with BIND_NOW) for
// nothing: ~4 ms of CPU and 1.4 MiB of RSS (0.4 MiB of it private) in every rank.

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace crew::crypto {

/// The libcrypto functions crew calls.
struct Api {
  decltype(&::EVP_MAC_fetch) mac_fetch;
  decltype(&::EVP_MAC_free) mac_free;
  decltype(&::EVP_MAC_CTX_new) ctx_new;
  decltype(&::EVP_MAC_CTX_free) ctx_free;
  decltype(&::EVP_MAC_init) mac_init;
  decltype(&::EVP_MAC_update) mac_update;
  decltype(&::EVP_MAC_final) mac_final;
  decltype(&::OSSL_PARAM_construct_utf8_string) param_utf8_string;
  decltype(&::OSSL_PARAM_construct_end) param_end;
  decltype(&::OPENSSL_cleanse) cleanse;
  decltype(&::CRYPTO_memcmp) memcmp;
  decltype(&::EVP_EncodeBlock) encode_block;
  decltype(&::EVP_DecodeBlock) decode_block;
};

/// Loads libcrypto the first time (thread-safe); throws Error(internal) if it cannot.
const Api& api();

}  // namespace crew::crypto

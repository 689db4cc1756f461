// libcrypto through dlopen (common/crypto.hpp).
#include "common/crypto.hpp"

#include <dlfcn.h>

#include <string>

#include "crew/error.hpp"

namespace crew::crypto {
namespace {

constexpr const char* library = "libcrypto.so." OPENSSL_MSTR(OPENSSL_SHLIB_VERSION);

template <typename F>
void bind(void* handle, F& function, const char* name, std::string& missing) {
  function = reinterpret_cast<F>(::dlsym(handle, name));
  if (function == nullptr) missing += std::string(missing.empty() ? "" : ", ") + name;
}

}  // namespace

const Api& api() {
  static const Api loaded = [] {
    void* handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr)
      throw_error(errc::internal, std::string("cannot load OpenSSL's ") + library + ": " + ::dlerror());
    Api a{};
    std::string missing;
    bind(handle, a.mac_fetch, "EVP_MAC_fetch", missing);
    bind(handle, a.mac_free, "EVP_MAC_free", missing);
    bind(handle, a.ctx_new, "EVP_MAC_CTX_new", missing);
    bind(handle, a.ctx_free, "EVP_MAC_CTX_free", missing);
    bind(handle, a.mac_init, "EVP_MAC_init", missing);
    bind(handle, a.mac_update, "EVP_MAC_update", missing);
    bind(handle, a.mac_final, "EVP_MAC_final", missing);
    bind(handle, a.param_utf8_string, "OSSL_PARAM_construct_utf8_string", missing);
    bind(handle, a.param_end, "OSSL_PARAM_construct_end", missing);
    bind(handle, a.cleanse, "OPENSSL_cleanse", missing);
    bind(handle, a.memcmp, "CRYPTO_memcmp", missing);
    bind(handle, a.encode_block, "EVP_EncodeBlock", missing);
    bind(handle, a.decode_block, "EVP_DecodeBlock", missing);
    if (!missing.empty()) throw_error(errc::internal, std::string(library) + " lacks " + missing);
    return a;
  }();
  return loaded;
}

}  // namespace crew::crypto

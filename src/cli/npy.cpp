// Reading and writing .npy files.
#include "cli/npy.hpp"

#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "crew/error.hpp"

namespace crew::cli {
namespace {

constexpr char magic[] = "\x93NUMPY";

struct Descr {
  const char* text;
  dtype type;
};
constexpr Descr descrs[] = {
    {"<f8", dtype::float64}, {"<f4", dtype::float32}, {"<i8", dtype::int64},  {"<i4", dtype::int32},
    {"<i2", dtype::int16},   {"|i1", dtype::int8},    {"<u8", dtype::uint64}, {"<u4", dtype::uint32},
    {"<u2", dtype::uint16},  {"|u1", dtype::uint8},   {"<i1", dtype::int8},   {"<u1", dtype::uint8},
};

[[noreturn]] void bad(const std::filesystem::path& path, const std::string& why) {
  throw_error(errc::bad_option, path.string() + ": " + why);
}

/// The value of 'key' in the header dict, as written by numpy: "'<f8'", "False", "(3, 4)".
std::string field(const std::string& header, const std::string& key, const std::filesystem::path& path) {
  const auto k = header.find("'" + key + "'");
  if (k == std::string::npos) bad(path, "the .npy header has no '" + key + "'");
  auto at = header.find(':', k);
  if (at == std::string::npos) bad(path, "the .npy header is malformed");
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  const char open = header[at];
  const char close = open == '(' ? ')' : open == '\'' ? '\'' : ',';
  const auto end = header.find(close, at + 1);
  if (end == std::string::npos) bad(path, "the .npy header is malformed");
  return header.substr(at, end - at + (close == ',' ? 0 : 1));
}

}  // namespace

Array read_npy(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad(path, "cannot open it (does it exist?)");
  char head[8];
  if (!in.read(head, 8) || std::memcmp(head, magic, 6) != 0) bad(path, "not a NumPy .npy file (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(head[6]);
  std::uint32_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) bad(path, "truncated header");
    header_len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) bad(path, "truncated header");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
  } else {
    bad(path, ".npy format version " + std::to_string(major) + " is not supported (1-3 are)");
  }
  if (header_len > (1u << 20)) bad(path, "implausible .npy header length");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) bad(path, "truncated header");

  const std::string descr = field(header, "descr", path);
  const Descr* d = nullptr;
  for (const auto& x : descrs)
    if (descr == "'" + std::string(x.text) + "'") d = &x;
  if (!d)
    bad(path, "dtype " + descr + " is not supported; crew reads little-endian ints, uints and floats (e.g. '<f8')");
  if (field(header, "fortran_order", path) != "False")
    bad(path, "Fortran-ordered arrays are not supported; save with np.ascontiguousarray(a)");
  const std::string shape_text = field(header, "shape", path);
  std::vector<std::uint64_t> shape;
  std::uint64_t elements = 1;
  for (std::size_t i = 1; i < shape_text.size();) {
    while (i < shape_text.size() && (shape_text[i] == ' ' || shape_text[i] == ',')) ++i;
    if (i >= shape_text.size() || shape_text[i] == ')') break;
    std::size_t used = 0;
    const auto n = std::stoull(shape_text.substr(i), &used);
    shape.push_back(n);
    elements *= n;
    i += used;
  }
  const std::uint64_t bytes = elements * dtype_size(d->type);
  auto owner = std::make_shared_for_overwrite<std::byte[]>(std::max<std::uint64_t>(bytes, 1));
  if (bytes && !in.read(reinterpret_cast<char*>(owner.get()), static_cast<std::streamsize>(bytes)))
    bad(path, "the file ends before its " + std::to_string(bytes) + " bytes of data");
  const std::byte* data = owner.get();
  return Array(d->type, std::move(shape), Buffer::view(std::move(owner), data, bytes));
}

void write_npy(const std::filesystem::path& path, const Array& a) {
  const char* descr = nullptr;
  for (const auto& x : descrs)
    if (x.type == a.type() && !descr) descr = x.text;
  std::string shape;
  for (std::size_t i = 0; i < a.shape().size(); ++i) shape += (i ? ", " : "") + std::to_string(a.shape()[i]);
  shape = "(" + shape + (a.shape().size() == 1 ? ",)" : ")");
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) bad(path, "cannot create it");
  const auto len = static_cast<std::uint16_t>(header.size());
  out.write(magic, 6);
  out.put('\x01').put('\x00');
  out.put(static_cast<char>(len & 0xff)).put(static_cast<char>(len >> 8));
  out << header;
  out.write(reinterpret_cast<const char*>(a.data().data()), static_cast<std::streamsize>(a.data().size()));
  if (!out) bad(path, "writing failed (disk full?)");
}

}  // namespace crew::cli

// crew::Value, crew::Array and crew::Buffer.
#include "crew/value.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <sstream>

#include "crew/error.hpp"

namespace crew {

// ---------------------------------------------------------------------------------------- Buffer

Buffer Buffer::copy(const void* data, std::size_t size) {
  if (size == 0) return Buffer();
  auto owner = std::make_shared_for_overwrite<std::byte[]>(size);  // one heap block: owner and bytes
  std::memcpy(owner.get(), data, size);
  const std::byte* bytes = owner.get();
  return Buffer(std::move(owner), bytes, size);
}

Buffer Buffer::slice(std::size_t offset, std::size_t length) const {
  if (offset > size_ || length > size_ - offset)
    throw_error(errc::bad_option, "buffer slice [" + std::to_string(offset) + ", +" + std::to_string(length) +
                                      ") is outside a buffer of " + std::to_string(size_) + " bytes");
  return Buffer(owner_, data_ + offset, length);
}

// ----------------------------------------------------------------------------------------- dtype

std::size_t dtype_size(dtype t) noexcept {
  switch (t) {
  case dtype::int8:
  case dtype::uint8: return 1;
  case dtype::int16:
  case dtype::uint16: return 2;
  case dtype::int32:
  case dtype::uint32:
  case dtype::float32: return 4;
  case dtype::int64:
  case dtype::uint64:
  case dtype::float64: return 8;
  }
  return 0;
}

std::string_view dtype_name(dtype t) noexcept {
  switch (t) {
  case dtype::int8: return "int8";
  case dtype::int16: return "int16";
  case dtype::int32: return "int32";
  case dtype::int64: return "int64";
  case dtype::uint8: return "uint8";
  case dtype::uint16: return "uint16";
  case dtype::uint32: return "uint32";
  case dtype::uint64: return "uint64";
  case dtype::float32: return "float32";
  case dtype::float64: return "float64";
  }
  return "invalid";
}

bool dtype_valid(std::uint8_t raw) noexcept {
  return raw >= static_cast<std::uint8_t>(dtype::int8) && raw <= static_cast<std::uint8_t>(dtype::float64);
}

// ----------------------------------------------------------------------------------------- Array

namespace {
std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

std::size_t element_count(const std::vector<std::uint64_t>& shape) {
  std::size_t n = 1;
  for (auto d : shape) {
    if (d != 0 && n > SIZE_MAX / d) throw_error(errc::value_type, "array shape " + shape_text(shape) + " is too large");
    n *= d;
  }
  return n;
}

template <class T>
T load(const std::byte* p) {
  T x;
  std::memcpy(&x, p, sizeof(T));
  return x;
}
}  // namespace

Array::Array(dtype type, std::vector<std::uint64_t> shape, Buffer data)
    : type_(type), shape_(std::move(shape)), data_(std::move(data)) {
  const std::size_t count = element_count(shape_);
  if (count > SIZE_MAX / dtype_size(type_))
    throw_error(errc::value_type, "array shape " + shape_text(shape_) + " of " + std::string(dtype_name(type_)) +
                                      " needs more bytes than memory can address");
  const std::size_t want = count * dtype_size(type_);
  if (want != data_.size())
    throw_error(errc::value_type, "array of " + std::string(dtype_name(type_)) + " with shape " + shape_text(shape_) +
                                      " needs " + std::to_string(want) + " bytes, but its buffer has " +
                                      std::to_string(data_.size()));
}

std::size_t Array::size() const noexcept {
  std::size_t n = 1;
  for (auto d : shape_) n *= d;
  return n;
}

void Array::check_view(dtype wanted) const {
  if (wanted != type_)
    throw_error(errc::value_type,
                "array holds " + std::string(dtype_name(type_)) + ", not " + std::string(dtype_name(wanted)));
}

double Array::at_double(std::size_t i) const {
  const std::byte* p = data_.data() + i * dtype_size(type_);
  switch (type_) {
  case dtype::int8: return load<std::int8_t>(p);
  case dtype::int16: return load<std::int16_t>(p);
  case dtype::int32: return load<std::int32_t>(p);
  case dtype::int64: return static_cast<double>(load<std::int64_t>(p));
  case dtype::uint8: return load<std::uint8_t>(p);
  case dtype::uint16: return load<std::uint16_t>(p);
  case dtype::uint32: return load<std::uint32_t>(p);
  case dtype::uint64: return static_cast<double>(load<std::uint64_t>(p));
  case dtype::float32: return load<float>(p);
  case dtype::float64: return load<double>(p);
  }
  return 0;
}

std::int64_t Array::at_int(std::size_t i) const {
  const std::byte* p = data_.data() + i * dtype_size(type_);
  switch (type_) {
  case dtype::int8: return load<std::int8_t>(p);
  case dtype::int16: return load<std::int16_t>(p);
  case dtype::int32: return load<std::int32_t>(p);
  case dtype::int64: return load<std::int64_t>(p);
  case dtype::uint8: return load<std::uint8_t>(p);
  case dtype::uint16: return load<std::uint16_t>(p);
  case dtype::uint32: return load<std::uint32_t>(p);
  case dtype::uint64: {
    auto u = load<std::uint64_t>(p);
    if (u > static_cast<std::uint64_t>(INT64_MAX))
      throw_error(errc::value_type, "uint64 element " + std::to_string(u) + " does not fit int64");
    return static_cast<std::int64_t>(u);
  }
  case dtype::float32:
  case dtype::float64: break;
  }
  throw_error(errc::value_type,
              "array holds " + std::string(dtype_name(type_)) + ", which does not convert to integers");
}

// ----------------------------------------------------------------------------------------- Value

std::string_view kind_name(Value::kind k) noexcept {
  switch (k) {
  case Value::kind::null: return "null";
  case Value::kind::boolean: return "bool";
  case Value::kind::integer: return "int";
  case Value::kind::real: return "double";
  case Value::kind::string: return "string";
  case Value::kind::bytes: return "bytes";
  case Value::kind::array: return "array";
  case Value::kind::list: return "list";
  case Value::kind::dict: return "dict";
  case Value::kind::ref: return "ref";
  case Value::kind::object: return "object";
  }
  return "invalid";
}

std::string_view Value::type_name() const noexcept { return kind_name(type()); }

void Value::throw_int_range(unsigned long long v) {
  throw_error(errc::value_type, "integer " + std::to_string(v) + " does not fit int64");
}

void Value::throw_type(std::string_view wanted) const {
  throw_error(errc::value_type,
              "expected " + std::string(wanted) + ", got " + std::string(type_name()) + " " + repr(60));
}

bool Value::as_bool() const {
  if (auto* p = std::get_if<bool>(&v_)) return *p;
  throw_type("bool");
}
std::int64_t Value::as_int() const {
  if (auto* p = std::get_if<std::int64_t>(&v_)) return *p;
  throw_type("int");
}
double Value::as_double() const {
  if (auto* p = std::get_if<double>(&v_)) return *p;
  if (auto* p = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*p);
  throw_type("double");
}
const std::string& Value::as_string() const {
  if (auto* p = std::get_if<std::string>(&v_)) return *p;
  throw_type("string");
}
const Buffer& Value::as_bytes() const {
  if (auto* p = std::get_if<Buffer>(&v_)) return *p;
  throw_type("bytes");
}
const Array& Value::as_array() const {
  if (auto* p = std::get_if<Array>(&v_)) return *p;
  throw_type("array");
}
const Value::List& Value::as_list() const {
  if (auto* p = std::get_if<List>(&v_)) return *p;
  throw_type("list");
}
Value::List& Value::as_list() {
  if (auto* p = std::get_if<List>(&v_)) return *p;
  throw_type("list");
}
const Value::Dict& Value::as_dict() const {
  if (auto* p = std::get_if<Dict>(&v_)) return *p;
  throw_type("dict");
}
Value::Dict& Value::as_dict() {
  if (auto* p = std::get_if<Dict>(&v_)) return *p;
  throw_type("dict");
}
const Ref& Value::as_ref() const {
  if (auto* p = std::get_if<Ref>(&v_)) return *p;
  throw_type("ref");
}
const Object& Value::as_object() const {
  if (auto* p = std::get_if<Object>(&v_)) return *p;
  throw_type("object");
}

const Value& Value::operator[](std::size_t index) const {
  const auto& l = as_list();
  if (index >= l.size())
    throw_error(errc::value_type,
                "index " + std::to_string(index) + " is out of range for a list of " + std::to_string(l.size()));
  return l[index];
}

const Value& Value::operator[](std::string_view key) const {
  const auto& d = as_dict();
  auto it = d.find(key);
  if (it == d.end()) throw_error(errc::value_type, "dict has no key \"" + std::string(key) + "\"");
  return it->second;
}

bool Value::contains(std::string_view key) const {
  const auto* d = std::get_if<Dict>(&v_);
  return d != nullptr && d->find(key) != d->end();
}

std::size_t Value::size() const noexcept {
  if (const auto* l = std::get_if<List>(&v_)) return l->size();
  if (const auto* d = std::get_if<Dict>(&v_)) return d->size();
  return 0;
}

namespace {

void quote(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += c;
      }
    }
  }
  out += '"';
}

void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "Infinity" : "-Infinity";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out += text;
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void append_repr(std::string& out, const Value& v, std::size_t limit) {
  if (out.size() > limit) return;
  switch (v.type()) {
  case Value::kind::null: out += "null"; break;
  case Value::kind::boolean: out += v.as_bool() ? "true" : "false"; break;
  case Value::kind::integer: out += std::to_string(v.as_int()); break;
  case Value::kind::real: append_double(out, v.as_double()); break;
  case Value::kind::string: quote(out, v.as_string()); break;
  case Value::kind::bytes: out += "<bytes " + std::to_string(v.as_bytes().size()) + ">"; break;
  case Value::kind::array: {
    const auto& a = v.as_array();
    out += "<array " + std::string(dtype_name(a.type())) + " " + shape_text(a.shape()) + ">";
    break;
  }
  case Value::kind::list: {
    out += '[';
    bool first = true;
    for (const auto& x : v.as_list()) {
      if (!first) out += ", ";
      first = false;
      append_repr(out, x, limit);
      if (out.size() > limit) return;
    }
    out += ']';
    break;
  }
  case Value::kind::dict: {
    out += '{';
    bool first = true;
    for (const auto& [k, x] : v.as_dict()) {
      if (!first) out += ", ";
      first = false;
      quote(out, k);
      out += ": ";
      append_repr(out, x, limit);
      if (out.size() > limit) return;
    }
    out += '}';
    break;
  }
  case Value::kind::ref: out += "Ref(" + v.as_ref().name + ")"; break;
  case Value::kind::object:
    out += "<" + v.as_object().type + ", " + std::to_string(v.as_object().data.size()) + " bytes>";
    break;
  }
}

}  // namespace

std::string Value::repr(std::size_t max_chars) const {
  std::string out;
  append_repr(out, *this, max_chars);
  if (out.size() > max_chars) {
    out.resize(max_chars);
    out += "...";
  }
  return out;
}

// ------------------------------------------------------------------------------ conversion errors

namespace detail {

void throw_conversion(const Value& v, const std::string& wanted) {
  throw_error(errc::value_type, "expected " + wanted + ", got " + std::string(v.type_name()) + " " + v.repr(60));
}

void throw_int_out_of_range(std::int64_t v, const std::string& wanted) {
  throw_error(errc::value_type, "integer " + std::to_string(v) + " is out of range for " + wanted);
}

void throw_size_mismatch(std::size_t got, std::size_t wanted, const std::string& type) {
  throw_error(errc::value_type, type + " needs " + std::to_string(wanted) + " elements, got " + std::to_string(got));
}

std::string int_name(bool is_signed, std::size_t bytes) {
  return (is_signed ? "int" : "uint") + std::to_string(bytes * 8);
}

}  // namespace detail
}  // namespace crew

// crew::Value <-> JSON.
#include "values/json.hpp"

#include "common/crypto.hpp"
#include "crew/error.hpp"

namespace crew {
namespace {

nlohmann::json array_to_json(const Array& a, std::size_t dim, std::size_t& flat) {
  auto out = nlohmann::json::array();
  const std::uint64_t n = a.ndim() == 0 ? 1 : a.shape()[dim];
  for (std::uint64_t i = 0; i < n; ++i) {
    if (dim + 1 < a.ndim()) {
      out.push_back(array_to_json(a, dim + 1, flat));
    } else {
      const bool floating = a.type() == dtype::float32 || a.type() == dtype::float64;
      if (floating)
        out.push_back(a.at_double(flat));
      else if (a.type() == dtype::uint64)
        out.push_back(a.view<std::uint64_t>()[flat]);
      else
        out.push_back(a.at_int(flat));
      ++flat;
    }
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const Value& v) {
  switch (v.type()) {
  case Value::kind::null: return nullptr;
  case Value::kind::boolean: return v.as_bool();
  case Value::kind::integer: return v.as_int();
  case Value::kind::real: return v.as_double();
  case Value::kind::string: return v.as_string();
  case Value::kind::bytes: return {{"$bytes", base64_encode(v.as_bytes())}};
  case Value::kind::array: {
    std::size_t flat = 0;
    const Array& a = v.as_array();
    if (a.ndim() == 0)
      return a.type() == dtype::float32 || a.type() == dtype::float64 ? nlohmann::json(a.at_double(0))
                                                                      : nlohmann::json(a.at_int(0));
    return array_to_json(a, 0, flat);
  }
  case Value::kind::list: {
    auto out = nlohmann::json::array();
    for (const auto& x : v.as_list()) out.push_back(to_json(x));
    return out;
  }
  case Value::kind::dict: {
    auto out = nlohmann::json::object();
    for (const auto& [k, x] : v.as_dict()) out[k] = to_json(x);
    return out;
  }
  case Value::kind::ref: return {{"$ref", v.as_ref().name}};
  case Value::kind::object: return {{"$object", v.as_object().type}, {"$bytes", base64_encode(v.as_object().data)}};
  }
  return nullptr;
}

Value from_json(const nlohmann::json& j) {
  using t = nlohmann::json::value_t;
  switch (j.type()) {
  case t::null: return Value();
  case t::boolean: return Value(j.get<bool>());
  case t::number_integer: return Value(j.get<std::int64_t>());
  case t::number_unsigned: return Value(j.get<std::uint64_t>());  // range-checked by Value
  case t::number_float: return Value(j.get<double>());
  case t::string: return Value(j.get<std::string>());
  case t::array: {
    Value::List out;
    out.reserve(j.size());
    for (const auto& x : j) out.push_back(from_json(x));
    return Value(std::move(out));
  }
  case t::object: {
    if (j.size() == 1 && j.contains("$ref") && j["$ref"].is_string()) return Value(Ref(j["$ref"].get<std::string>()));
    if (j.size() == 1 && j.contains("$bytes") && j["$bytes"].is_string())
      return Value(base64_decode(j["$bytes"].get<std::string>()));
    if (j.size() == 2 && j.contains("$object") && j.contains("$bytes")) {
      if (!j["$object"].is_string() || !j["$bytes"].is_string())
        throw_error(errc::bad_json, "an {\"$object\": ..., \"$bytes\": ...} value needs a type name and base64 text");
      return Value(Object{j["$object"].get<std::string>(), base64_decode(j["$bytes"].get<std::string>())});
    }
    Value::Dict out;
    for (const auto& [k, x] : j.items()) out.emplace(k, from_json(x));
    return Value(std::move(out));
  }
  case t::binary: {
    const auto& bin = j.get_binary();
    return Value(Buffer::copy(bin.data(), bin.size()));
  }
  case t::discarded: break;
  }
  throw_error(errc::bad_json, "unsupported JSON value");
}

Value parse_json(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {  // parse errors, numbers out of range, ...
    std::string why = e.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    if (auto pos = why.find("] "); pos != std::string::npos) why = why.substr(pos + 2);
    throw_error(errc::bad_json, "'" + std::string(text.substr(0, 80)) + "' is not valid JSON (" + why + ")");
  }
  return from_json(j);
}

std::string to_json_text(const Value& v, int indent) {
  try {
    return to_json(v).dump(indent);
  } catch (const nlohmann::json::exception& e) {  // a string that is not UTF-8
    std::string why = e.what();
    if (auto pos = why.find("] "); pos != std::string::npos) why = why.substr(pos + 2);
    throw InputError(errc::bad_json, "this value cannot be written as JSON (" + why + "); send bytes as crew::Buffer");
  }
}

std::string base64_encode(const Buffer& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n =
      crypto::api().encode_block(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Buffer base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    throw_error(errc::bad_json, "base64 text must have a length divisible by 4, got " + std::to_string(text.size()));
  // Padding: at most two '=', and only at the very end.
  const std::size_t first_pad = text.find('=');
  const std::size_t padding = first_pad == std::string_view::npos ? 0 : text.size() - first_pad;
  if (padding > 2 || (padding > 0 && text.find_first_not_of('=', first_pad) != std::string_view::npos))
    throw_error(errc::bad_json, "invalid base64 padding: at most two '=' and only at the end");
  if (text.empty()) return Buffer();
  std::vector<std::byte> out(3 * text.size() / 4);
  const int n =
      crypto::api().decode_block(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw_error(errc::bad_json, "invalid base64 text");
  // EVP_DecodeBlock counts the padding as bytes; drop one per '='.
  out.resize(static_cast<std::size_t>(n) - padding);
  return Buffer::adopt(std::move(out));
}

}  // namespace crew

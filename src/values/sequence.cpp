// Splitting, joining and combining sequences for scatter, gather and reduce.
#include "values/sequence.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>

#include "crew/error.hpp"
#include "values/array_like.hpp"
#include "values/element_type.hpp"

namespace crew {

std::string_view op_name(op o) noexcept {
  switch (o) {
  case op::sum: return "sum";
  case op::prod: return "prod";
  case op::min: return "min";
  case op::max: return "max";
  }
  return "?";
}

std::optional<op> op_from_name(std::string_view name) noexcept {
  for (op o : {op::sum, op::prod, op::min, op::max})
    if (op_name(o) == name) return o;
  return std::nullopt;
}

namespace seq {
namespace {

std::uint64_t row_elements(const Array& a) {
  std::uint64_t n = 1;
  for (std::size_t i = 1; i < a.shape().size(); ++i) n *= a.shape()[i];
  return n;
}

std::vector<std::uint64_t> trailing_shape(const Array& a) { return {a.shape().begin() + 1, a.shape().end()}; }

template <class T>
T apply_op(T a, T b, op o) {
  if constexpr (std::is_integral_v<T>) {
    // Integers wrap like MPI's (no undefined behaviour on overflow).
    using U = std::make_unsigned_t<T>;
    switch (o) {
    case op::sum: return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
    case op::prod: return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
    case op::min: return std::min(a, b);
    case op::max: return std::max(a, b);
    }
  } else {
    switch (o) {
    case op::sum: return a + b;
    case op::prod: return a * b;
    case op::min: return std::min(a, b);
    case op::max: return std::max(a, b);
    }
  }
  return a;
}

[[noreturn]] void mismatch(const Value& a, const Value& b, op o) {
  throw_error(errc::mismatch, "cannot " + std::string(op_name(o)) + " " + describe(a) + " with " + describe(b) +
                                  ": reduce needs the same dtype and shape on every engine");
}

}  // namespace

std::vector<std::uint64_t> partition(std::uint64_t length, std::size_t n) {
  std::vector<std::uint64_t> sizes(n, n ? length / n : 0);
  for (std::size_t i = 0; n && i < length % n; ++i) ++sizes[i];
  return sizes;
}

bool is_sequence(const Value& v) noexcept { return v.is_list() || (v.is_array() && v.as_array().ndim() >= 1); }

std::uint64_t length(const Value& v, std::string_view what) {
  if (v.is_list()) return v.as_list().size();
  if (v.is_array() && v.as_array().ndim() >= 1) return v.as_array().shape().front();
  throw_error(errc::not_a_sequence, std::string(what) + " needs an array or a list to split, got " + describe(v) +
                                        "; to give every engine the same value use push");
}

std::uint64_t common_length(const std::vector<Value>& sequences, std::string_view what) {
  if (sequences.empty()) throw_error(errc::bad_option, std::string(what) + " needs at least one sequence");
  const std::uint64_t n = length(sequences.front(), what);
  for (std::size_t s = 1; s < sequences.size(); ++s)
    if (const std::uint64_t other = length(sequences[s], what); other != n)
      throw_error(errc::bad_option,
                  std::string(what) + ": sequence " + std::to_string(s + 1) + " has " + std::to_string(other) +
                      " items, the first " + std::to_string(n),
                  "give sequences of one length");
  return n;
}

Value take(const Value& v, std::uint64_t begin, std::uint64_t count) {
  if (v.is_list()) {
    const auto& items = v.as_list();
    const auto first = items.begin() + static_cast<std::ptrdiff_t>(begin);
    return Value(Value::List(first, first + static_cast<std::ptrdiff_t>(count)));
  }
  const Array& a = v.as_array();
  const std::size_t row_bytes = row_elements(a) * dtype_size(a.type());
  std::vector<std::uint64_t> shape = a.shape();
  shape.front() = count;
  return Value(Array(a.type(), std::move(shape), a.data().slice(begin * row_bytes, count * row_bytes)));
}

Value item(const Value& v, std::uint64_t i) {
  if (v.is_list()) return v.as_list().at(i);
  const Array& a = v.as_array();
  if (i >= a.shape().front())
    throw_error(errc::not_a_sequence, "item " + std::to_string(i) + " of " + describe(v) + " is out of range");
  if (a.ndim() == 1) {
    switch (a.type()) {
    case dtype::float32:
    case dtype::float64: return Value(a.at_double(i));
    case dtype::uint64: {
      const auto x = a.view<std::uint64_t>()[i];
      return x > static_cast<std::uint64_t>(INT64_MAX) ? Value(static_cast<double>(x))
                                                       : Value(static_cast<std::int64_t>(x));
    }
    default: return Value(a.at_int(i));
    }
  }
  const std::size_t row_bytes = row_elements(a) * dtype_size(a.type());
  std::vector<std::uint64_t> shape(a.shape().begin() + 1, a.shape().end());
  return Value(Array(a.type(), std::move(shape), a.data().slice(i * row_bytes, row_bytes)));
}

Value pack(Value::List items) {
  bool ints = !items.empty(), numbers = !items.empty();
  for (const auto& x : items) {
    ints = ints && x.is_int();
    numbers = numbers && x.is_number();
    if (!numbers) break;
  }
  if (ints) {
    std::vector<std::int64_t> out;
    out.reserve(items.size());
    for (const auto& x : items) out.push_back(x.as_int());
    return Value(Array::from(std::move(out)));
  }
  if (numbers) {
    std::vector<double> out;
    out.reserve(items.size());
    for (const auto& x : items) out.push_back(x.as_double());
    return Value(Array::from(std::move(out)));
  }
  return Value(std::move(items));
}

Value concat(const std::vector<Value>& parts) {
  if (parts.empty()) return Value(Value::List{});
  if (parts.front().is_list()) {
    Value::List out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].is_list())
        throw_error(errc::mismatch, "cannot join part " + std::to_string(i) + " (" + describe(parts[i]) +
                                        ") to lists: gather needs lists everywhere or arrays everywhere");
      out.insert(out.end(), parts[i].as_list().begin(), parts[i].as_list().end());
    }
    return Value(std::move(out));
  }
  const Value& first = parts.front();
  if (!first.is_array() || first.as_array().ndim() == 0)
    throw_error(errc::mismatch, "gather needs arrays or lists, got " + describe(first));
  const Array& a0 = first.as_array();
  std::uint64_t rows = 0, bytes = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Value& p = parts[i];
    if (!p.is_array() || p.as_array().ndim() == 0 || p.as_array().type() != a0.type() ||
        trailing_shape(p.as_array()) != trailing_shape(a0))
      throw_error(errc::mismatch, "cannot join part " + std::to_string(i) + " (" + describe(p) + ") to " +
                                      describe(first) + ": gather needs one dtype and one trailing shape");
    rows += p.as_array().shape().front();
    bytes += p.as_array().data().size();
  }
  if (parts.size() == 1) return first;
  auto joined = std::make_shared_for_overwrite<std::byte[]>(static_cast<std::size_t>(bytes));
  std::size_t at = 0;
  for (const auto& p : parts) {
    const Buffer& d = p.as_array().data();
    if (d.size()) std::memcpy(joined.get() + at, d.data(), d.size());
    at += d.size();
  }
  std::vector<std::uint64_t> shape = a0.shape();
  shape.front() = rows;
  const std::byte* data = joined.get();
  return Value(
      Array(a0.type(), std::move(shape), Buffer::view(std::move(joined), data, static_cast<std::size_t>(bytes))));
}

Value combine(const Value& a, const Value& b, op o) {
  if (a.is_int() && b.is_int()) return Value(apply_op(a.as_int(), b.as_int(), o));
  if (a.is_number() && b.is_number()) return Value(apply_op(a.as_double(), b.as_double(), o));
  if (!a.is_array() || !b.is_array()) mismatch(a, b, o);
  if (a.as_array().shape() != b.as_array().shape()) mismatch(a, b, o);
  // int64 with float64 is float64 (NumPy's promotion, as for numbers); other dtypes must match.
  const auto promoted = [](const Array& p, const Array& q) {
    return p.type() == dtype::int64 && q.type() == dtype::float64 ? to_array(Value(p), dtype::float64) : p;
  };
  const Array x = promoted(a.as_array(), b.as_array());
  const Array y = promoted(b.as_array(), a.as_array());
  if (x.type() != y.type()) mismatch(a, b, o);
  return with_element_type(x.type(), [&](auto tag) {
    using T = decltype(tag);
    const auto xs = x.view<T>();
    const auto ys = y.view<T>();
    std::vector<T> out(xs.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = apply_op(xs[i], ys[i], o);
    return Value(Array::from(std::move(out), x.shape()));
  });
}

std::string describe(const Value& v) {
  if (v.is_list()) return "list[" + std::to_string(v.as_list().size()) + "]";
  if (!v.is_array()) return std::string(v.type_name());
  return describe_shape(v.as_array().type(), v.as_array().shape());
}

std::string describe_shape(dtype type, const std::vector<std::uint64_t>& shape) {
  std::string out = std::string(dtype_name(type)) + "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace seq
}  // namespace crew

#pragma once
// Conversions between crew::Value and ordinary C++ types.
//
// `crew::to_value(x)` and `crew::from_value<T>(v)` go through `crew::ValueTraits<T>`, which has
// three members: `static Value to(const T&)`, `static T from(const Value&)` and
// `static std::string name()` (used in error messages and function signatures). Specialize it
// for your own types (e.g. `to` a crew::Object holding a type name and the bytes you serialized
// the value to, and `from` back).
//
// Built in: Value, bool, integers (range-checked), float/double (ints widen), std::string,
// const char*, Buffer, Array, Ref, Object, std::vector<T> (arithmetic T <-> Array or a list of
// numbers), std::map / std::unordered_map with string keys, std::pair, std::tuple, std::optional.

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crew/export.hpp"

namespace crew {

class Value;
template <class T, class Enable = void>
struct ValueTraits;  // primary template left undefined: a missing conversion fails to compile

namespace detail {
[[noreturn]] CREW_API void throw_conversion(const Value& v, const std::string& wanted);
[[noreturn]] CREW_API void throw_int_out_of_range(std::int64_t v, const std::string& wanted);
[[noreturn]] CREW_API void throw_size_mismatch(std::size_t got, std::size_t wanted, const std::string& type);
CREW_API std::string int_name(bool is_signed, std::size_t bytes);
}  // namespace detail

template <class T>
Value to_value(T&& x);
template <class T>
T from_value(const Value& v);
template <class T>
std::string type_name() {
  return ValueTraits<std::remove_cvref_t<T>>::name();
}

}  // namespace crew

#include "crew/value.hpp"

namespace crew {

/// Moves from rvalues where the conversion can adopt them (a moved std::vector<double> becomes an
/// Array without a copy).
template <class T>
Value to_value(T&& x) {
  return ValueTraits<std::remove_cvref_t<T>>::to(std::forward<T>(x));
}
template <class T>
T from_value(const Value& v) {
  return ValueTraits<std::remove_cvref_t<T>>::from(v);
}

template <>
struct ValueTraits<Value> {
  static Value to(const Value& v) { return v; }
  static Value from(const Value& v) { return v; }
  static std::string name() { return "value"; }
};

template <>
struct ValueTraits<bool> {
  static Value to(bool b) { return Value(b); }
  static bool from(const Value& v) {
    if (!v.is_bool()) detail::throw_conversion(v, name());
    return v.as_bool();
  }
  static std::string name() { return "bool"; }
};

template <class T>
struct ValueTraits<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static Value to(T i) { return Value(i); }
  static T from(const Value& v) {
    if (!v.is_int()) detail::throw_conversion(v, name());
    const std::int64_t i = v.as_int();
    if constexpr (std::is_signed_v<T>) {
      if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
          i > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
        detail::throw_int_out_of_range(i, name());
    } else {
      if (i < 0 || static_cast<std::uint64_t>(i) > std::numeric_limits<T>::max())
        detail::throw_int_out_of_range(i, name());
    }
    return static_cast<T>(i);
  }
  static std::string name() { return detail::int_name(std::is_signed_v<T>, sizeof(T)); }
};

template <class T>
struct ValueTraits<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static Value to(T d) { return Value(static_cast<double>(d)); }
  static T from(const Value& v) {
    if (!v.is_number()) detail::throw_conversion(v, name());
    return static_cast<T>(v.as_double());
  }
  static std::string name() { return sizeof(T) == 4 ? "float" : "double"; }
};

template <>
struct ValueTraits<std::string> {
  static Value to(const std::string& s) { return Value(s); }
  static std::string from(const Value& v) {
    if (!v.is_string()) detail::throw_conversion(v, name());
    return v.as_string();
  }
  static std::string name() { return "string"; }
};

template <>
struct ValueTraits<const char*> {
  static Value to(const char* s) { return Value(s); }
  static std::string name() { return "string"; }
};
template <std::size_t N>
struct ValueTraits<char[N]> {
  static Value to(const char (&s)[N]) { return Value(static_cast<const char*>(s)); }
  static std::string name() { return "string"; }
};
template <>
struct ValueTraits<std::string_view> {
  static Value to(std::string_view s) { return Value(s); }
  static std::string name() { return "string"; }
};

template <>
struct ValueTraits<std::nullptr_t> {
  static Value to(std::nullptr_t) { return Value(); }
  static std::string name() { return "null"; }
};

#define CREW_DETAIL_SIMPLE_TRAITS(Type, is_fn, as_fn, label)                                                           \
  template <>                                                                                                          \
  struct ValueTraits<Type> {                                                                                           \
    static Value to(const Type& x) { return Value(x); }                                                                \
    static Type from(const Value& v) {                                                                                 \
      if (!v.is_fn()) detail::throw_conversion(v, name());                                                             \
      return v.as_fn();                                                                                                \
    }                                                                                                                  \
    static std::string name() { return label; }                                                                        \
  };
CREW_DETAIL_SIMPLE_TRAITS(Buffer, is_bytes, as_bytes, "bytes")
CREW_DETAIL_SIMPLE_TRAITS(Array, is_array, as_array, "array")
CREW_DETAIL_SIMPLE_TRAITS(Ref, is_ref, as_ref, "ref")
CREW_DETAIL_SIMPLE_TRAITS(Object, is_object, as_object, "object")
CREW_DETAIL_SIMPLE_TRAITS(Value::List, is_list, as_list, "list")
CREW_DETAIL_SIMPLE_TRAITS(Value::Dict, is_dict, as_dict, "dict")
#undef CREW_DETAIL_SIMPLE_TRAITS

/// Vectors of numbers travel as Arrays (one buffer, no per-element encoding) and accept both an
/// Array of any numeric dtype and a list of numbers. Other vectors travel as lists.
template <class T>
struct ValueTraits<std::vector<T>> {
  static Value to(const std::vector<T>& xs) {
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>) {
      return Value(Array::from(std::vector<T>(xs)));
    } else {
      Value::List out;
      out.reserve(xs.size());
      for (const auto& x : xs) out.push_back(to_value(x));
      return Value(std::move(out));
    }
  }
  static Value to(std::vector<T>&& xs) requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool> &&
                                                !std::is_same_v<T, char>) {
    return Value(Array::from(std::move(xs)));
  }
  static std::vector<T> from(const Value& v) {
    std::vector<T> out;
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      if (v.is_array()) {
        const Array& a = v.as_array();
        if (a.type() == dtype_of<T>()) {
          auto span = a.template view<T>();
          return std::vector<T>(span.begin(), span.end());
        }
        out.reserve(a.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
          if constexpr (std::is_floating_point_v<T>)
            out.push_back(static_cast<T>(a.at_double(i)));
          else
            out.push_back(from_value<T>(Value(a.at_int(i))));
        }
        return out;
      }
    }
    if (!v.is_list()) detail::throw_conversion(v, name());
    out.reserve(v.as_list().size());
    for (const auto& item : v.as_list()) out.push_back(from_value<T>(item));
    return out;
  }
  static std::string name() { return "vector<" + type_name<T>() + ">"; }
};

template <class T, std::size_t N>
struct ValueTraits<std::array<T, N>> {
  static Value to(const std::array<T, N>& xs) { return to_value(std::vector<T>(xs.begin(), xs.end())); }
  static std::array<T, N> from(const Value& v) {
    auto xs = from_value<std::vector<T>>(v);
    if (xs.size() != N) detail::throw_size_mismatch(xs.size(), N, name());
    std::array<T, N> out{};
    for (std::size_t i = 0; i < N; ++i) out[i] = std::move(xs[i]);
    return out;
  }
  static std::string name() { return "array<" + type_name<T>() + ", " + std::to_string(N) + ">"; }
};

namespace detail {
template <class Map>
struct StringMapTraits {
  using T = typename Map::mapped_type;
  static Value to(const Map& m) {
    Value::Dict out;
    for (const auto& [k, x] : m) out.emplace(k, to_value(x));
    return Value(std::move(out));
  }
  static Map from(const Value& v) {
    if (!v.is_dict()) throw_conversion(v, name());
    Map out;
    for (const auto& [k, x] : v.as_dict()) out.emplace(k, from_value<T>(x));
    return out;
  }
  static std::string name() { return "map<string, " + type_name<T>() + ">"; }
};
}  // namespace detail

template <class T, class C, class A>
struct ValueTraits<std::map<std::string, T, C, A>> : detail::StringMapTraits<std::map<std::string, T, C, A>> {};
template <class T, class H, class E, class A>
struct ValueTraits<std::unordered_map<std::string, T, H, E, A>>
    : detail::StringMapTraits<std::unordered_map<std::string, T, H, E, A>> {};

template <class T>
struct ValueTraits<std::optional<T>> {
  static Value to(const std::optional<T>& x) { return x ? to_value(*x) : Value(); }
  static std::optional<T> from(const Value& v) {
    if (v.is_null()) return std::nullopt;
    return from_value<T>(v);
  }
  static std::string name() { return "optional<" + type_name<T>() + ">"; }
};

template <class... Ts>
struct ValueTraits<std::tuple<Ts...>> {
  static Value to(const std::tuple<Ts...>& t) {
    return std::apply([](const auto&... xs) { return Value(Value::List{to_value(xs)...}); }, t);
  }
  static std::tuple<Ts...> from(const Value& v) {
    if (!v.is_list()) detail::throw_conversion(v, name());
    const auto& l = v.as_list();
    if (l.size() != sizeof...(Ts)) detail::throw_size_mismatch(l.size(), sizeof...(Ts), name());
    return unpack(l, std::index_sequence_for<Ts...>{});
  }
  static std::string name() {
    std::string s = "tuple<";
    ((s += type_name<Ts>() + ", "), ...);
    if constexpr (sizeof...(Ts) > 0) s.resize(s.size() - 2);
    return s + ">";
  }

private:
  template <std::size_t... I>
  static std::tuple<Ts...> unpack(const Value::List& l, std::index_sequence<I...>) {
    return std::tuple<Ts...>{from_value<Ts>(l[I])...};
  }
};

template <class A, class B>
struct ValueTraits<std::pair<A, B>> {
  static Value to(const std::pair<A, B>& p) { return Value(Value::List{to_value(p.first), to_value(p.second)}); }
  static std::pair<A, B> from(const Value& v) {
    auto t = from_value<std::tuple<A, B>>(v);
    return {std::move(std::get<0>(t)), std::move(std::get<1>(t))};
  }
  static std::string name() { return "pair<" + type_name<A>() + ", " + type_name<B>() + ">"; }
};

}  // namespace crew

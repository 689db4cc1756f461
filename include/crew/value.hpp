#pragma once
// crew::Value: the dynamic value that travels between clients and engines.
//
// null, bool, int64, double, string, bytes, n-dimensional array, list, dict, a reference to a
// name in an engine's namespace (crew::Ref), and user types carried as tagged bytes
// (crew::Object: a type name and the bytes the user serialized it to). Arrays and bytes hold a crew::Buffer, so they
// are shared, not copied, and large ones travel as their own frames on the wire.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "crew/buffer.hpp"
#include "crew/export.hpp"

namespace crew {

/// Element type of an Array.
enum class dtype : std::uint8_t {
  int8 = 1,
  int16,
  int32,
  int64,
  uint8,
  uint16,
  uint32,
  uint64,
  float32,
  float64,
};

CREW_API std::size_t dtype_size(dtype t) noexcept;
CREW_API std::string_view dtype_name(dtype t) noexcept;  ///< numpy spelling: "float64", "int32", ...
CREW_API bool dtype_valid(std::uint8_t raw) noexcept;

class Value;
template <class T, class Enable>
struct ValueTraits;

namespace detail {
template <class T>
inline constexpr bool dependent_false = false;

/// Types that reach Value through crew::ValueTraits (vectors, maps, tuples, user types ...):
/// everything except those Value has its own constructor for.
template <class T>
concept traits_convertible = !std::is_arithmetic_v<T> && !std::is_same_v<T, Value> && !std::is_same_v<T, std::string> &&
                             !std::is_same_v<T, std::string_view> && !std::is_same_v<T, std::nullptr_t> &&
                             !std::is_array_v<T> && !std::is_pointer_v<T> && requires(const T& x) {
  ValueTraits<T, void>::to(x);
};
}  // namespace detail

template <class T>
constexpr dtype dtype_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, std::int8_t>)
    return dtype::int8;
  else if constexpr (std::is_same_v<U, std::int16_t>)
    return dtype::int16;
  else if constexpr (std::is_same_v<U, std::int32_t>)
    return dtype::int32;
  else if constexpr (std::is_same_v<U, std::int64_t> || std::is_same_v<U, long long>)
    return dtype::int64;
  else if constexpr (std::is_same_v<U, std::uint8_t>)
    return dtype::uint8;
  else if constexpr (std::is_same_v<U, std::uint16_t>)
    return dtype::uint16;
  else if constexpr (std::is_same_v<U, std::uint32_t>)
    return dtype::uint32;
  else if constexpr (std::is_same_v<U, std::uint64_t> || std::is_same_v<U, unsigned long long>)
    return dtype::uint64;
  else if constexpr (std::is_same_v<U, float>)
    return dtype::float32;
  else if constexpr (std::is_same_v<U, double>)
    return dtype::float64;
  else
    static_assert(detail::dependent_false<T>, "no crew::dtype for this element type");
}

/// An n-dimensional array: element type, shape, and a contiguous row-major buffer.
class CREW_API Array {
public:
  Array() = default;
  /// Throws InputError if the buffer size does not match dtype and shape.
  Array(dtype type, std::vector<std::uint64_t> shape, Buffer data);

  /// A 1-d array (or `shape`, if given) that adopts `values` without copying.
  template <class T>
  static Array from(std::vector<T> values, std::vector<std::uint64_t> shape = {}) {
    if (shape.empty()) shape.push_back(values.size());
    return Array(dtype_of<T>(), std::move(shape), Buffer::adopt(std::move(values)));
  }

  dtype type() const noexcept { return type_; }
  const std::vector<std::uint64_t>& shape() const noexcept { return shape_; }
  std::size_t ndim() const noexcept { return shape_.size(); }
  std::size_t size() const noexcept;  ///< number of elements
  const Buffer& data() const noexcept { return data_; }

  /// Zero-copy typed view; throws InputError if T is not the element type.
  template <class T>
  std::span<const T> view() const {
    check_view(dtype_of<T>());
    return {reinterpret_cast<const T*>(data_.data()), size()};
  }
  /// Element `i` (flat index) converted to double.
  double at_double(std::size_t i) const;
  /// Element `i` (flat index) converted to int64 (throws for floating element types).
  std::int64_t at_int(std::size_t i) const;

  friend bool operator==(const Array& a, const Array& b) noexcept {
    return a.type_ == b.type_ && a.shape_ == b.shape_ && a.data_ == b.data_;
  }

private:
  void check_view(dtype wanted) const;
  dtype type_ = dtype::float64;
  std::vector<std::uint64_t> shape_{0};
  Buffer data_;
};

/// A name in the engine's namespace, resolved on the engine (data that already lives there is
/// not sent again).
struct Ref {
  std::string name;
  explicit Ref(std::string n) : name(std::move(n)) {}
  friend bool operator==(const Ref&, const Ref&) = default;
};

/// A user type serialized with cereal and carried as bytes with its type tag.
struct Object {
  std::string type;
  Buffer data;
  friend bool operator==(const Object&, const Object&) = default;
};

class CREW_API Value {
public:
  using List = std::vector<Value>;
  using Dict = std::map<std::string, Value, std::less<>>;

  enum class kind : std::uint8_t { null, boolean, integer, real, string, bytes, array, list, dict, ref, object };

  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}
  Value(bool b) : v_(b) {}
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>) Value(T i)
      : v_(checked_int(i)) {}
  Value(double d) : v_(d) {}
  Value(float f) : v_(static_cast<double>(f)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(Buffer b) : v_(std::move(b)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(List l) : v_(std::move(l)) {}
  Value(Dict d) : v_(std::move(d)) {}
  Value(Ref r) : v_(std::move(r)) {}
  Value(Object o) : v_(std::move(o)) {}
  /// Any other type with a crew::ValueTraits conversion: std::vector<double>, std::map, ...
  template <class T>
  requires(detail::traits_convertible<T> && !std::is_same_v<T, Buffer> && !std::is_same_v<T, Array> &&
           !std::is_same_v<T, Ref> && !std::is_same_v<T, Object> && !std::is_same_v<T, std::vector<Value>> &&
           !std::is_same_v<T, std::map<std::string, Value, std::less<>>>) Value(const T& x);

  /// Builds a List from values: Value::list({1, "two", 3.5}).
  static Value list(std::initializer_list<Value> items) { return Value(List(items)); }
  /// Builds a Dict: Value::dict({{"a", 1}, {"b", "x"}}).
  static Value dict(std::initializer_list<std::pair<const std::string, Value>> items) { return Value(Dict(items)); }

  kind type() const noexcept { return static_cast<kind>(v_.index()); }
  std::string_view type_name() const noexcept;  ///< "null", "bool", "int", "double", ...

  bool is_null() const noexcept { return type() == kind::null; }
  bool is_bool() const noexcept { return type() == kind::boolean; }
  bool is_int() const noexcept { return type() == kind::integer; }
  bool is_double() const noexcept { return type() == kind::real; }
  bool is_number() const noexcept { return is_int() || is_double(); }
  bool is_string() const noexcept { return type() == kind::string; }
  bool is_bytes() const noexcept { return type() == kind::bytes; }
  bool is_array() const noexcept { return type() == kind::array; }
  bool is_list() const noexcept { return type() == kind::list; }
  bool is_dict() const noexcept { return type() == kind::dict; }
  bool is_ref() const noexcept { return type() == kind::ref; }
  bool is_object() const noexcept { return type() == kind::object; }

  // Checked accessors: throw InputError ([crew.input.value_type]) naming both types.
  bool as_bool() const;
  std::int64_t as_int() const;
  double as_double() const;  ///< ints are widened
  const std::string& as_string() const;
  const Buffer& as_bytes() const;
  const Array& as_array() const;
  const List& as_list() const;
  List& as_list();
  const Dict& as_dict() const;
  Dict& as_dict();
  const Ref& as_ref() const;
  const Object& as_object() const;

  /// List element / dict entry; throws InputError if out of range or missing.
  const Value& operator[](std::size_t index) const;
  const Value& operator[](std::string_view key) const;
  bool contains(std::string_view key) const;
  /// Elements of a list or entries of a dict (0 for scalars).
  std::size_t size() const noexcept;

  /// Conversion to an ordinary C++ type (see crew/convert.hpp).
  template <class T>
  T get() const;

  /// Compact JSON-like text for messages and logs (arrays and bytes summarized).
  std::string repr(std::size_t max_chars = 200) const;

  friend bool operator==(const Value& a, const Value& b) noexcept { return a.v_ == b.v_; }

private:
  template <class T>
  static std::int64_t checked_int(T i) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (i > static_cast<T>(INT64_MAX)) throw_int_range(static_cast<unsigned long long>(i));
    }
    return static_cast<std::int64_t>(i);
  }
  [[noreturn]] static void throw_int_range(unsigned long long v);
  [[noreturn]] void throw_type(std::string_view wanted) const;

  std::variant<std::monostate, bool, std::int64_t, double, std::string, Buffer, Array, List, Dict, Ref, Object> v_;
};

CREW_API std::string_view kind_name(Value::kind k) noexcept;

/// `v` as an array, the way numpy.array(v) makes one: an Array (one dimension or more) as it is;
/// a list of numbers as a 1-d array, int64 if all are ints, else float64 (an empty list is
/// float64[0]); nested lists of equal lengths as an n-d array ([[1, 2], [3, 4]] is int64[2,2]),
/// and a list of arrays of one dtype and shape as those arrays stacked. nullopt for anything else
/// (scalars, bools, strings, ragged lists). reduce, save_h5 and the command line's `--npy` /
/// `--out` accept such lists wherever they accept arrays, through this conversion.
CREW_API std::optional<Array> to_array(const Value& v);

}  // namespace crew

#include "crew/convert.hpp"

template <class T>
T crew::Value::get() const {
  return crew::from_value<T>(*this);
}

template <class T>
requires(crew::detail::traits_convertible<T> && !std::is_same_v<T, crew::Buffer> && !std::is_same_v<T, crew::Array> &&
         !std::is_same_v<T, crew::Ref> && !std::is_same_v<T, crew::Object> &&
         !std::is_same_v<T, std::vector<crew::Value>> &&
         !std::is_same_v<T, std::map<std::string, crew::Value, std::less<>>>) crew::Value::Value(const T& x)
    : Value(crew::ValueTraits<T>::to(x)) {}

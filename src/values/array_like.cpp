// Lists of numbers as arrays, the way numpy.array makes them (values/array_like.hpp).
#include "values/array_like.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "crew/error.hpp"
#include "values/sequence.hpp"

namespace crew {
namespace seq {
namespace {

/// "[1][0]": where an item sits in nested lists, for messages.
std::string where(const std::vector<std::size_t>& path) {
  std::string out;
  for (auto i : path) out += "[" + std::to_string(i) + "]";
  return out.empty() ? "the value" : "item " + out;
}

/// Walks the nested lists once: every list at depth d must have shape[d] items, and every leaf
/// (at depth `depth`) must be a number or an array like the first leaf.
class Checker {
public:
  Checker(std::vector<std::uint64_t> shape, std::size_t depth, const Array* leaf_array)
      : shape_(std::move(shape)), depth_(depth), leaf_(leaf_array) {}

  bool check(const Value& v, std::vector<std::size_t>& path, std::string& why) {
    if (path.size() < depth_) {
      const std::uint64_t want = shape_[path.size()];
      if (!v.is_list() || v.as_list().size() != want) {
        why = where(path) + " is " + describe(v) + " where its neighbours have " + std::to_string(want) +
              " items (a ragged list is not an array)";
        return false;
      }
      for (std::size_t i = 0; i < v.as_list().size(); ++i) {
        path.push_back(i);
        const bool ok = check(v.as_list()[i], path, why);
        path.pop_back();
        if (!ok) return false;
      }
      return true;
    }
    if (leaf_ != nullptr) {
      if (v.is_array() && v.as_array().type() == leaf_->type() && v.as_array().shape() == leaf_->shape()) return true;
      why = where(path) + " is " + describe(v) + ", not " + describe(Value(*leaf_)) + " like the first";
      return false;
    }
    if (v.is_number()) {
      doubles_ = doubles_ || v.is_double();
      return true;
    }
    why = where(path) + " is " + (v.is_list() ? describe(v) : std::string(v.type_name())) +
          ", not a number (an array holds numbers only)";
    return false;
  }
  bool doubles() const noexcept { return doubles_; }

private:
  std::vector<std::uint64_t> shape_;
  std::size_t depth_;
  const Array* leaf_;
  bool doubles_ = false;
};

template <class T>
void write_numbers(const Value& v, std::size_t depth, T*& out) {
  if (depth == 0) {
    *out++ = v.is_int() ? static_cast<T>(v.as_int()) : static_cast<T>(v.as_double());
    return;
  }
  for (const auto& item : v.as_list()) write_numbers(item, depth - 1, out);
}

void copy_leaves(const Value& v, std::size_t depth, std::byte*& out) {
  if (depth == 0) {
    const Buffer& b = v.as_array().data();
    if (b.size()) std::memcpy(out, b.data(), b.size());
    out += b.size();
    return;
  }
  for (const auto& item : v.as_list()) copy_leaves(item, depth - 1, out);
}

bool first_leaf_is_array(const Value& v) {
  const Value* x = &v;
  while (x->is_list() && !x->as_list().empty()) x = &x->as_list().front();
  return x->is_array();
}

}  // namespace

std::optional<ArrayLike> array_like(const Value& v, std::string* why) {
  std::string reason;
  if (v.is_array()) {
    const Array& a = v.as_array();
    if (a.ndim() >= 1) return ArrayLike{a.type(), a.shape(), a.type() == dtype::int64, false};
    reason = "a 0-d array";
  } else if (!v.is_list()) {
    reason = "a " + std::string(v.type_name()) + ", not an array or a list of numbers";
  } else {
    // The shape from the first items down; then every item is checked against it.
    ArrayLike out;
    out.from_list = true;
    const Value* first = &v;
    std::size_t depth = 0;
    while (first->is_list()) {
      out.shape.push_back(first->as_list().size());
      ++depth;
      if (first->as_list().empty()) break;
      first = &first->as_list().front();
    }
    const bool empty = out.shape.back() == 0;
    const Array* leaf = !empty && first->is_array() ? &first->as_array() : nullptr;
    if (leaf != nullptr) out.shape.insert(out.shape.end(), leaf->shape().begin(), leaf->shape().end());
    Checker checker(out.shape, depth, leaf);
    std::vector<std::size_t> path;
    if (checker.check(v, path, reason)) {
      if (leaf != nullptr) {
        out.type = leaf->type();
      } else {
        out.type = checker.doubles() || empty ? dtype::float64 : dtype::int64;
        out.widens = !checker.doubles();
      }
      return out;
    }
  }
  if (why) *why = std::move(reason);
  return std::nullopt;
}

Array to_array(const Value& v, dtype as) {
  std::string why;
  const auto like = array_like(v, &why);
  if (!like) throw_error(errc::value_type, why);
  const bool empty = std::find(like->shape.begin(), like->shape.end(), 0) != like->shape.end();
  const bool fits = as == like->type || (like->widens && (as == dtype::float64 || (empty && like->from_list)));
  if (!fits)
    throw_error(errc::value_type, describe_shape(like->type, like->shape) + (like->from_list ? " (a list)" : "") +
                                      " cannot become " + std::string(dtype_name(as)));
  if (!like->from_list) {
    const Array& a = v.as_array();
    if (as == a.type()) return a;
    const auto ints = a.view<std::int64_t>();  // int64 as float64, as NumPy promotes them
    return Array::from(std::vector<double>(ints.begin(), ints.end()), a.shape());
  }
  std::uint64_t n = 1;
  for (auto d : like->shape) n *= d;
  std::size_t list_depth = 0;
  for (const Value* x = &v; x->is_list() && !x->as_list().empty(); x = &x->as_list().front()) ++list_depth;
  const std::size_t bytes = static_cast<std::size_t>(n) * dtype_size(as);
  auto owner = std::make_shared_for_overwrite<std::byte[]>(std::max<std::size_t>(bytes, 1));
  std::byte* data = owner.get();
  if (n != 0 && first_leaf_is_array(v)) {
    // Stacked arrays (`as` is their dtype): their bytes, in order.
    std::byte* out = data;
    copy_leaves(v, list_depth, out);
  } else if (n != 0 && as == dtype::int64) {
    auto* out = reinterpret_cast<std::int64_t*>(data);
    write_numbers(v, list_depth, out);
  } else if (n != 0) {  // float64 (an empty list is the only one that takes other dtypes)
    auto* out = reinterpret_cast<double*>(data);
    write_numbers(v, list_depth, out);
  }
  return Array(as, like->shape, Buffer::view(std::move(owner), data, bytes));
}

}  // namespace seq

std::optional<Array> to_array(const Value& v) {
  const auto like = seq::array_like(v);
  if (!like) return std::nullopt;
  return seq::to_array(v, like->type);
}

}  // namespace crew

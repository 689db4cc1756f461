#pragma once
// Sequences as scatter, gather and reduce see them: arrays (split along the first axis) and lists.
//
// The partition is the seeds': contiguous parts in order, sizes differing by at most one (the
// first `length % n` parts get the extra element), so gather(scatter(x)) == x.

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/reduce_op.hpp"
#include "crew/value.hpp"

namespace crew::seq {

/// Sizes of `n` contiguous parts of `length` elements.
CREW_INTERNAL_API std::vector<std::uint64_t> partition(std::uint64_t length, std::size_t n);

/// True for the values scatter can split: arrays with at least one dimension, and lists.
CREW_INTERNAL_API bool is_sequence(const Value& v) noexcept;
/// Elements along the first axis (arrays) or items (lists). Throws InputError
/// [crew.input.not_a_sequence] naming `what` and the value's type.
CREW_INTERNAL_API std::uint64_t length(const Value& v, std::string_view what);

/// The one length of several sequences (a map over them): throws InputError
/// [crew.input.bad_option] for none, or for lengths that differ (naming them), and like length()
/// for a value that is no sequence.
CREW_INTERNAL_API std::uint64_t common_length(const std::vector<Value>& sequences, std::string_view what);

/// Elements [begin, begin + count): a zero-copy slice of an array, a copy of a list's items.
CREW_INTERNAL_API Value take(const Value& v, std::uint64_t begin, std::uint64_t count);

/// Element `i` as a value of its own: a list's item; a 1-d array's element as a number (int64
/// for integer dtypes, double for floating ones); a row of an n-d array as an array of one
/// dimension less (a zero-copy view).
CREW_INTERNAL_API Value item(const Value& v, std::uint64_t i);

/// Results as one value: an int64 Array if all are ints, a float64 Array if all are numbers with
/// at least one double, else a list. (How a map's results travel compactly.)
CREW_INTERNAL_API Value pack(Value::List items);

/// Joins parts in order: arrays of one dtype and trailing shape into one array (one copy), lists
/// into one list. Throws Error [crew.remote.mismatch] naming the first part that does not fit.
CREW_INTERNAL_API Value concat(const std::vector<Value>& parts);

/// `a op b` element by element: numbers, or arrays of one shape and one dtype (int64 with float64
/// gives float64, as NumPy promotes them). Throws Error [crew.remote.mismatch] naming both sides'
/// types and shapes.
CREW_INTERNAL_API Value combine(const Value& a, const Value& b, op o);

/// "float64[1000,3]", "list[12]", "int": what a value is, for error messages.
CREW_INTERNAL_API std::string describe(const Value& v);
/// "float64[1000,3]": an array's dtype and shape, for messages.
CREW_INTERNAL_API std::string describe_shape(dtype type, const std::vector<std::uint64_t>& shape);

}  // namespace crew::seq

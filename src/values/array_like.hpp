#pragma once
// Lists of numbers as arrays: what numpy.array(list) would make, for every place that needs an
// array (reduce, save_h5, `gather --npy`, `map --out`). crew::to_array (crew/value.hpp) is the
// public face; the engines use the two steps apart, because the engines of one world must agree
// on a dtype before any of them converts: a part [1, 2] is int64 on its own, float64 beside a
// part [2.5, 3] (NumPy's promotion of int64 with float64, as crew's reduce of numbers does).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/value.hpp"

namespace crew::seq {

/// What to_array makes of a value, found without building it.
struct CREW_INTERNAL_API ArrayLike {
  dtype type = dtype::float64;
  std::vector<std::uint64_t> shape;
  /// int64 data (an int64 array, a list of ints) can take float64 as well, and an empty list
  /// any dtype, so that it agrees with other engines' parts.
  bool widens = false;
  bool from_list = false;
};

/// An array's dtype and shape; for a list, those numpy.array would give it: nested lists of
/// equal lengths whose leaves are numbers (int64 if all are ints, else float64; an empty list is
/// float64[0]) or arrays of one dtype and shape (stacked). nullopt for anything else (scalars,
/// bools, strings, ragged lists, 0-d arrays); `why`, if given, then says what is in the way.
CREW_INTERNAL_API std::optional<ArrayLike> array_like(const Value& v, std::string* why = nullptr);

/// `v` as an array of dtype `as`: an array as it is (no copy) or, int64 asked as float64,
/// converted; a list's numbers written as `as`. Throws InputError [crew.input.value_type] if `v`
/// is not array-like or `as` does not fit it (array_like's `widens` says which dtypes fit).
CREW_INTERNAL_API Array to_array(const Value& v, dtype as);

}  // namespace crew::seq

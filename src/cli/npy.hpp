#pragma once
// NumPy .npy files (format 1.0-3.0, little-endian, C order) <-> crew::Array, for the CLI's
// `scatter --npy` and `gather --npy`.

#include <filesystem>

#include "crew/value.hpp"

namespace crew::cli {

/// Throws InputError [crew.input.bad_option] naming the file and what is wrong with it.
Array read_npy(const std::filesystem::path& path);
void write_npy(const std::filesystem::path& path, const Array& array);

}  // namespace crew::cli

// MPI calls that report failure as crew::MpiError.
#include "engine/mpi_check.hpp"

#include <string>
#include <utility>

#include "crew/error.hpp"

namespace crew::detail {
namespace {

#define CREW_MPI_CLASS(name)                                                                                           \
  std::pair<int, std::string_view> { name, #name }
// MPI 3.1's error classes (section 8.4).
const std::pair<int, std::string_view> error_classes[] = {
    CREW_MPI_CLASS(MPI_SUCCESS),
    CREW_MPI_CLASS(MPI_ERR_BUFFER),
    CREW_MPI_CLASS(MPI_ERR_COUNT),
    CREW_MPI_CLASS(MPI_ERR_TYPE),
    CREW_MPI_CLASS(MPI_ERR_TAG),
    CREW_MPI_CLASS(MPI_ERR_COMM),
    CREW_MPI_CLASS(MPI_ERR_RANK),
    CREW_MPI_CLASS(MPI_ERR_REQUEST),
    CREW_MPI_CLASS(MPI_ERR_ROOT),
    CREW_MPI_CLASS(MPI_ERR_GROUP),
    CREW_MPI_CLASS(MPI_ERR_OP),
    CREW_MPI_CLASS(MPI_ERR_TOPOLOGY),
    CREW_MPI_CLASS(MPI_ERR_DIMS),
    CREW_MPI_CLASS(MPI_ERR_ARG),
    CREW_MPI_CLASS(MPI_ERR_UNKNOWN),
    CREW_MPI_CLASS(MPI_ERR_TRUNCATE),
    CREW_MPI_CLASS(MPI_ERR_OTHER),
    CREW_MPI_CLASS(MPI_ERR_INTERN),
    CREW_MPI_CLASS(MPI_ERR_PENDING),
    CREW_MPI_CLASS(MPI_ERR_IN_STATUS),
    CREW_MPI_CLASS(MPI_ERR_ACCESS),
    CREW_MPI_CLASS(MPI_ERR_AMODE),
    CREW_MPI_CLASS(MPI_ERR_ASSERT),
    CREW_MPI_CLASS(MPI_ERR_BAD_FILE),
    CREW_MPI_CLASS(MPI_ERR_BASE),
    CREW_MPI_CLASS(MPI_ERR_CONVERSION),
    CREW_MPI_CLASS(MPI_ERR_DISP),
    CREW_MPI_CLASS(MPI_ERR_DUP_DATAREP),
    CREW_MPI_CLASS(MPI_ERR_FILE_EXISTS),
    CREW_MPI_CLASS(MPI_ERR_FILE_IN_USE),
    CREW_MPI_CLASS(MPI_ERR_FILE),
    CREW_MPI_CLASS(MPI_ERR_INFO_KEY),
    CREW_MPI_CLASS(MPI_ERR_INFO_NOKEY),
    CREW_MPI_CLASS(MPI_ERR_INFO_VALUE),
    CREW_MPI_CLASS(MPI_ERR_INFO),
    CREW_MPI_CLASS(MPI_ERR_IO),
    CREW_MPI_CLASS(MPI_ERR_KEYVAL),
    CREW_MPI_CLASS(MPI_ERR_LOCKTYPE),
    CREW_MPI_CLASS(MPI_ERR_NAME),
    CREW_MPI_CLASS(MPI_ERR_NO_MEM),
    CREW_MPI_CLASS(MPI_ERR_NOT_SAME),
    CREW_MPI_CLASS(MPI_ERR_NO_SPACE),
    CREW_MPI_CLASS(MPI_ERR_NO_SUCH_FILE),
    CREW_MPI_CLASS(MPI_ERR_PORT),
    CREW_MPI_CLASS(MPI_ERR_QUOTA),
    CREW_MPI_CLASS(MPI_ERR_READ_ONLY),
    CREW_MPI_CLASS(MPI_ERR_RMA_CONFLICT),
    CREW_MPI_CLASS(MPI_ERR_RMA_SYNC),
    CREW_MPI_CLASS(MPI_ERR_SERVICE),
    CREW_MPI_CLASS(MPI_ERR_SIZE),
    CREW_MPI_CLASS(MPI_ERR_SPAWN),
    CREW_MPI_CLASS(MPI_ERR_UNSUPPORTED_DATAREP),
    CREW_MPI_CLASS(MPI_ERR_UNSUPPORTED_OPERATION),
    CREW_MPI_CLASS(MPI_ERR_WIN),
    CREW_MPI_CLASS(MPI_ERR_RMA_RANGE),
    CREW_MPI_CLASS(MPI_ERR_RMA_ATTACH),
    CREW_MPI_CLASS(MPI_ERR_RMA_SHARED),
    CREW_MPI_CLASS(MPI_ERR_RMA_FLAVOR),
};
#undef CREW_MPI_CLASS

}  // namespace

std::string_view mpi_error_class_name(int error_class) {
  for (const auto& [number, name] : error_classes)
    if (number == error_class) return name;
  return "MPI error class (implementation-specific)";
}

void mpi_check(int rc, const char* routine) {
  if (rc == MPI_SUCCESS) return;
  int error_class = MPI_ERR_UNKNOWN;
  if (MPI_Error_class(rc, &error_class) != MPI_SUCCESS) error_class = MPI_ERR_UNKNOWN;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  throw MpiError(routine, error_class, mpi_error_class_name(error_class),
                 std::string_view(text, static_cast<std::size_t>(length)));
}

void return_errors(MPI_Comm comm) { CREW_MPI_CHECK(MPI_Comm_set_errhandler, (comm, MPI_ERRORS_RETURN)); }

MPI_Comm own_comm(MPI_Comm parent) {
  MPI_Comm comm = MPI_COMM_NULL;
  CREW_MPI_CHECK(MPI_Comm_dup, (parent, &comm));
  return_errors(comm);
  return comm;
}

MPI_Comm own_sub_comm(MPI_Comm parent, const std::vector<int>& ranks) {
  MPI_Group parent_group = MPI_GROUP_NULL, group = MPI_GROUP_NULL;
  CREW_MPI_CHECK(MPI_Comm_group, (parent, &parent_group));
  const char* routine = "MPI_Group_incl";
  int rc = MPI_Group_incl(parent_group, static_cast<int>(ranks.size()), ranks.data(), &group);
  MPI_Comm comm = MPI_COMM_NULL;
  if (rc == MPI_SUCCESS) {
    routine = "MPI_Comm_create_group";
    rc = MPI_Comm_create_group(parent, group, 0, &comm);
  }
  if (group != MPI_GROUP_NULL) MPI_Group_free(&group);
  MPI_Group_free(&parent_group);
  mpi_check(rc, routine);
  // A new communicator inherits its parent's handler (MPI 3.1, 8.3); set it all the same, so
  // the rule does not rest on where the parent came from.
  return_errors(comm);
  return comm;
}

}  // namespace crew::detail

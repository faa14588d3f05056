// Open MPI through its C API. MPI_COMM_WORLD, the datatypes and the operations are macros over
// addresses of library globals, which Swift cannot import; these functions hand them over.
#include <mpi.h>

static inline MPI_Comm tinygpt_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype tinygpt_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype tinygpt_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op tinygpt_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op tinygpt_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op tinygpt_mpi_min(void) { return MPI_MIN; }
static inline void *tinygpt_mpi_in_place(void) { return MPI_IN_PLACE; }

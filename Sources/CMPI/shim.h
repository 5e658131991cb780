#ifndef REFOLD_CMPI_SHIM_H
#define REFOLD_CMPI_SHIM_H
/* Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros that take the
   address of library globals (ompi_mpi_comm_world, ...); Swift imports no such macro, so
   these functions return them. */
#include <mpi.h>

static inline MPI_Comm refold_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype refold_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype refold_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype refold_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype refold_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op refold_mpi_sum(void) { return MPI_SUM; }
static inline void *refold_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int refold_mpi_success(void) { return MPI_SUCCESS; }
static inline MPI_Status *refold_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }

#endif

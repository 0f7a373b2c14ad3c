// Intra-op and inter-op thread settings.
#include "common.h"

#include <ATen/Parallel.h>

DST_API int distill_set_num_threads(int n) { DST_STATUS(at::set_num_threads(n)) }
DST_API int distill_get_num_threads() { DST_TRY(-1, return at::get_num_threads();) }
DST_API int distill_set_num_interop_threads(int n) { DST_STATUS(at::set_num_interop_threads(n)) }

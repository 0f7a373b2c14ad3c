// Devices and the libtorch build: CUDA availability, GPU count and the libtorch version string.
#include "common.h"

#include <ATen/Context.h>
#include <torch/version.h>

#include <cstdio>

DST_API int distill_cuda_is_available() { DST_TRY(-1, return at::hasCUDA() ? 1 : 0;) }
DST_API int distill_cuda_device_count() {
  DST_TRY(-1, return at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0;)
}
DST_API int distill_torch_version(char* out, int capacity) {
  DST_TRY(-1, {
    std::string v = TORCH_VERSION;
    if (capacity > 0) {
      std::snprintf(out, static_cast<size_t>(capacity), "%s", v.c_str());
    }
    return static_cast<int>(v.size());
  })
}

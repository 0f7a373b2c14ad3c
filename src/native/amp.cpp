// Automatic mixed precision: libtorch's autocast state (per thread). CPU autocast runs matrix products and
// convolutions in bfloat16; CUDA autocast in float16 or bfloat16. Parameters stay float32.
#include "common.h"

#include <ATen/autocast_mode.h>

// Turns autocast on or off for one device type (0 = CPU, 1 = CUDA) with the given lower-precision dtype;
// returns the previous state packed as enabled | dtype << 1, for distill_autocast_restore.
DST_API int distill_autocast_set(int device_type, int enabled, int dtype) {
  DST_TRY(-1, {
    bool cuda = device_type == static_cast<int>(c10::DeviceType::CUDA);
    int previous = cuda ? (at::autocast::is_enabled() ? 1 : 0) | (static_cast<int>(at::autocast::get_autocast_gpu_dtype()) << 1)
                        : (at::autocast::is_cpu_enabled() ? 1 : 0) | (static_cast<int>(at::autocast::get_autocast_cpu_dtype()) << 1);
    auto type = static_cast<at::ScalarType>(dtype);
    if (cuda) {
      at::autocast::set_autocast_gpu_dtype(type);
      at::autocast::set_enabled(enabled != 0);
    } else {
      if (enabled && type != at::kBFloat16) throw std::invalid_argument("CPU autocast supports bfloat16 only in this libtorch");
      at::autocast::set_autocast_cpu_dtype(type);
      at::autocast::set_cpu_enabled(enabled != 0);
    }
    // Leaving an autocast region drops the casts of weights cached within it, as torch.autocast does.
    if (!enabled) at::autocast::clear_cache();
    return previous;
  })
}

DST_API int distill_autocast_enabled(int device_type) {
  DST_TRY(-1, return (device_type == static_cast<int>(c10::DeviceType::CUDA) ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled()) ? 1 : 0;)
}

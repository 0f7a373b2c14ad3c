// Threads, seeds, devices and the per-thread error message.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>

namespace {
thread_local std::string g_error;
thread_local bool g_has_error = false;
}  // namespace

namespace distill {
void set_error(const char* message) {
  g_error = message ? message : "";
  g_has_error = true;
}
void set_error(const c10::Error& error) { set_error(error.what_without_backtrace()); }
}  // namespace distill

// Returns the message of the last failed call on this thread, or null; the pointer stays valid until the
// next failing call on the same thread. The caller never frees it.
DST_API const char* distill_last_error() { return g_has_error ? g_error.c_str() : nullptr; }
DST_API void distill_clear_error() {
  g_has_error = false;
  g_error.clear();
}

DST_API int distill_set_num_threads(int n) { DST_STATUS(at::set_num_threads(n)) }
DST_API int distill_get_num_threads() { DST_TRY(-1, return at::get_num_threads();) }
DST_API int distill_set_num_interop_threads(int n) { DST_STATUS(at::set_num_interop_threads(n)) }
DST_API int distill_manual_seed(uint64_t seed) { DST_STATUS(at::manual_seed(seed)) }
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

// Seeded CPU generators: every random op takes one so that results never depend on global state.
DST_API at::Generator* distill_generator_new(uint64_t seed) {
  DST_TRY(nullptr, return new at::Generator(at::make_generator<at::CPUGeneratorImpl>(seed));)
}
DST_API void distill_generator_free(at::Generator* g) { delete g; }
DST_API at::Tensor* distill_generator_get_state(at::Generator* g) {
  DST_TENSOR(g->get_state())
}
DST_API int distill_generator_set_state(at::Generator* g, Tensor state) { DST_STATUS(g->set_state(*state)) }
DST_API int distill_generator_manual_seed(at::Generator* g, uint64_t seed) { DST_STATUS(g->set_current_seed(seed)) }

// The default CPU generator drives ops called without a generator (dropout, drop path, initialisers); its state is
// saved in checkpoints so a resumed run continues the same random stream.
DST_API at::Tensor* distill_default_generator_get_state() {
  DST_TENSOR(at::detail::getDefaultCPUGenerator().get_state())
}
DST_API int distill_default_generator_set_state(Tensor state) {
  DST_STATUS(at::Generator g = at::detail::getDefaultCPUGenerator(); g.set_state(*state))
}

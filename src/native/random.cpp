// What makes runs repeatable: the global seed, seeded CPU generators, the default generator's state and
// deterministic algorithms.
#include "common.h"

#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>

DST_API int distill_manual_seed(uint64_t seed) { DST_STATUS(at::manual_seed(seed)) }

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

// PyTorch's torch.use_deterministic_algorithms: ops that have a deterministic variant use it, and ops that have none
// throw when called (or only warn, with warn_only).
DST_API int distill_set_deterministic_algorithms(int enabled, int warn_only) {
  DST_STATUS(at::globalContext().setDeterministicAlgorithms(enabled != 0, warn_only != 0))
}
DST_API int distill_deterministic_algorithms() {
  DST_TRY(-1, return at::globalContext().deterministicAlgorithms() ? 1 : 0;)
}
DST_API int distill_deterministic_algorithms_warn_only() {
  DST_TRY(-1, return at::globalContext().deterministicAlgorithmsWarnOnly() ? 1 : 0;)
}

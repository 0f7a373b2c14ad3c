// Autograd: gradients, grad modes and inference mode.
#include "common.h"

DST_API int distill_backward(Tensor t, Tensor grad, bool retain_graph, bool create_graph) {
  DST_STATUS(t->backward(grad ? *grad : at::Tensor(), retain_graph, create_graph))
}
// Writes the gradient (or null when none has been computed) into *out.
DST_API int distill_grad(Tensor t, Tensor* out) {
  DST_STATUS(const auto& g = t->grad(); *out = g.defined() ? distill::wrap(g) : nullptr)
}
DST_API int distill_set_grad(Tensor t, Tensor g) { DST_STATUS(t->mutable_grad() = g ? *g : at::Tensor()) }
// set_to_none drops the gradient, as PyTorch's zero_grad does by default since 2.0.
DST_API int distill_zero_grad(Tensor t, bool set_to_none) {
  DST_STATUS({
    auto& g = t->mutable_grad();
    if (!g.defined()) return 0;
    if (set_to_none) g = at::Tensor();
    else { g = g.detach(); g.zero_(); }
  })
}
DST_API int distill_requires_grad(Tensor t) { DST_TRY(-1, return t->requires_grad() ? 1 : 0;) }
DST_API int distill_set_requires_grad(Tensor t, bool value) { DST_STATUS(t->set_requires_grad(value)) }
DST_API int distill_is_leaf(Tensor t) { DST_TRY(-1, return t->is_leaf() ? 1 : 0;) }
DST_API int distill_retain_grad(Tensor t) { DST_STATUS(t->retain_grad()) }

// Grad mode is per thread; the previous value is returned so scopes can restore it.
DST_API int distill_grad_enabled() { DST_TRY(-1, return c10::GradMode::is_enabled() ? 1 : 0;) }
DST_API int distill_set_grad_enabled(bool enabled) {
  DST_TRY(-1, { bool prev = c10::GradMode::is_enabled(); c10::GradMode::set_enabled(enabled); return prev ? 1 : 0; })
}
// Inference mode is a RAII guard in libtorch, so it lives on the heap between enter and exit; both must run on
// the same thread, which Distill's scopes guarantee.
DST_API void* distill_inference_mode_enter(bool enabled) { DST_TRY(nullptr, return new c10::InferenceMode(enabled);) }
DST_API int distill_inference_mode_exit(void* guard) { DST_STATUS(delete static_cast<c10::InferenceMode*>(guard)) }
DST_API int distill_is_inference(Tensor t) { DST_TRY(-1, return t->is_inference() ? 1 : 0;) }
DST_API int distill_is_inference_mode_enabled() { DST_TRY(-1, return c10::InferenceMode::is_enabled() ? 1 : 0;) }

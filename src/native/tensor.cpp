// Tensor creation, metadata and data transfer.
#include "common.h"

using distill::dims;
using distill::options;
using distill::wrap;

DST_API void distill_tensor_free(Tensor t) { delete t; }
// A second handle on the same tensor (shares storage and autograd identity).
DST_API Tensor distill_tensor_alias(Tensor t) { DST_TENSOR(*t) }

DST_API Tensor distill_empty(const int64_t* shape, int n, int dtype, int dev, int idx, bool rg) {
  DST_TENSOR(at::empty(dims(shape, n), options(dtype, dev, idx).requires_grad(rg)))
}
DST_API Tensor distill_zeros(const int64_t* shape, int n, int dtype, int dev, int idx, bool rg) {
  DST_TENSOR(at::zeros(dims(shape, n), options(dtype, dev, idx).requires_grad(rg)))
}
DST_API Tensor distill_ones(const int64_t* shape, int n, int dtype, int dev, int idx, bool rg) {
  DST_TENSOR(at::ones(dims(shape, n), options(dtype, dev, idx).requires_grad(rg)))
}
DST_API Tensor distill_full(const int64_t* shape, int n, double value, int dtype, int dev, int idx, bool rg) {
  DST_TENSOR(at::full(dims(shape, n), value, options(dtype, dev, idx).requires_grad(rg)))
}
DST_API Tensor distill_arange(double start, double end, double step, int dtype, int dev, int idx) {
  DST_TENSOR(at::arange(start, end, step, options(dtype, dev, idx)))
}
DST_API Tensor distill_linspace(double start, double end, int64_t steps, int dtype, int dev, int idx) {
  DST_TENSOR(at::linspace(start, end, steps, options(dtype, dev, idx)))
}
DST_API Tensor distill_eye(int64_t n, int dtype, int dev, int idx) { DST_TENSOR(at::eye(n, options(dtype, dev, idx))) }

static c10::optional<at::Generator> gen_opt(at::Generator* g) {
  return g ? c10::optional<at::Generator>(*g) : c10::nullopt;
}
DST_API Tensor distill_rand(const int64_t* shape, int n, at::Generator* g, int dtype, int dev, int idx) {
  DST_TENSOR(at::rand(dims(shape, n), gen_opt(g), options(dtype, dev, idx)))
}
DST_API Tensor distill_randn(const int64_t* shape, int n, at::Generator* g, int dtype, int dev, int idx) {
  DST_TENSOR(at::randn(dims(shape, n), gen_opt(g), options(dtype, dev, idx)))
}
DST_API Tensor distill_randint(int64_t low, int64_t high, const int64_t* shape, int n, at::Generator* g, int dtype,
                               int dev, int idx) {
  DST_TENSOR(at::randint(low, high, dims(shape, n), gen_opt(g), options(dtype, dev, idx)))
}
DST_API Tensor distill_randperm(int64_t n, at::Generator* g, int dev, int idx) {
  DST_TENSOR(at::randperm(n, gen_opt(g), options(static_cast<int>(at::kLong), dev, idx)))
}
// In-place samplers used by the weight initialisers.
DST_API int distill_uniform_(Tensor t, double from, double to, at::Generator* g) {
  DST_STATUS(at::NoGradGuard ng; t->uniform_(from, to, gen_opt(g)))
}
DST_API int distill_normal_(Tensor t, double mean, double std, at::Generator* g) {
  DST_STATUS(at::NoGradGuard ng; t->normal_(mean, std, gen_opt(g)))
}
DST_API int distill_bernoulli_(Tensor t, double p, at::Generator* g) {
  DST_STATUS(at::NoGradGuard ng; t->bernoulli_(p, gen_opt(g)))
}

// Copies `nbytes` from managed memory into a new tensor. The layout is contiguous (C order) unless strides
// are given, in which case `data` is the storage and the view is materialised contiguously.
DST_API Tensor distill_from_data(const void* data, int64_t nbytes, const int64_t* shape, int n, const int64_t* strides,
                                 int64_t storage_offset, int dtype, int dev, int idx) {
  DST_TRY(nullptr, {
    auto st = static_cast<at::ScalarType>(dtype);
    int64_t item = static_cast<int64_t>(c10::elementSize(st));
    at::Tensor src;
    if (strides) {
      int64_t max_off = storage_offset;
      for (int i = 0; i < n; i++) {
        TORCH_CHECK(shape[i] >= 0 && strides[i] >= 0, "negative size or stride");
        if (shape[i] == 0) { max_off = -1; break; }
        max_off += (shape[i] - 1) * strides[i];
      }
      TORCH_CHECK(max_off < 0 || (max_off + 1) * item <= nbytes, "strided view reads past the end of its storage (",
                  nbytes, " bytes)");
      // View the whole buffer as the storage, then take the strided window of it.
      src = at::from_blob(const_cast<void*>(data), {nbytes / item}, at::TensorOptions().dtype(st))
                .as_strided(dims(shape, n), dims(strides, n), storage_offset);
    } else {
      src = at::from_blob(const_cast<void*>(data), dims(shape, n), at::TensorOptions().dtype(st));
      TORCH_CHECK(src.numel() * item <= nbytes, "buffer of ", nbytes, " bytes is too small for shape ", src.sizes());
    }
    at::Tensor out = src.contiguous();
    if (out.data_ptr() == src.data_ptr()) out = out.clone();
    return wrap(out.to(options(dtype, dev, idx)));
  })
}
// Copies a tensor's elements (any device, any layout) into managed memory in C order.
DST_API int distill_copy_to(Tensor t, void* dst, int64_t nbytes) {
  DST_TRY(-1, {
    at::Tensor c = t->detach().to(at::kCPU).contiguous();
    int64_t need = c.numel() * static_cast<int64_t>(c.element_size());
    TORCH_CHECK(need <= nbytes, "destination holds ", nbytes, " bytes but the tensor has ", need);
    if (need > 0) std::memcpy(dst, c.data_ptr(), static_cast<size_t>(need));
    return 0;
  })
}
// Pointer to a contiguous CPU tensor's elements, for zero-copy reads while the tensor is alive.
DST_API void* distill_data_ptr(Tensor t) {
  DST_TRY(nullptr, {
    TORCH_CHECK(t->device().is_cpu() && t->is_contiguous(), "data_ptr needs a contiguous CPU tensor");
    return t->data_ptr();
  })
}

DST_API int distill_tensor_ndim(Tensor t) { DST_TRY(-1, return static_cast<int>(t->dim());) }
DST_API int distill_tensor_shape(Tensor t, int64_t* out) {
  DST_TRY(-1, { auto s = t->sizes(); for (size_t i = 0; i < s.size(); i++) out[i] = s[i]; return static_cast<int>(s.size()); })
}
DST_API int distill_tensor_strides(Tensor t, int64_t* out) {
  DST_TRY(-1, { auto s = t->strides(); for (size_t i = 0; i < s.size(); i++) out[i] = s[i]; return static_cast<int>(s.size()); })
}
DST_API int64_t distill_tensor_numel(Tensor t) { DST_TRY(-1, return t->numel();) }
DST_API int distill_tensor_dtype(Tensor t) { DST_TRY(-1, return static_cast<int>(t->scalar_type());) }
DST_API int distill_tensor_device(Tensor t, int* index) {
  DST_TRY(-1, { *index = t->device().index(); return static_cast<int>(t->device().type()); })
}
DST_API int distill_tensor_element_size(Tensor t) { DST_TRY(-1, return static_cast<int>(t->element_size());) }
DST_API int64_t distill_tensor_nbytes(Tensor t) {
  DST_TRY(-1, return t->defined() ? t->numel() * static_cast<int64_t>(t->element_size()) : 0;)
}
DST_API int distill_tensor_is_contiguous(Tensor t, int memory_format) {
  DST_TRY(-1, return t->is_contiguous(static_cast<at::MemoryFormat>(memory_format)) ? 1 : 0;)
}
DST_API int distill_item_double(Tensor t, double* out) { DST_STATUS(*out = t->item<double>()) }
DST_API int distill_item_long(Tensor t, int64_t* out) { DST_STATUS(*out = t->item<int64_t>()) }

DST_API Tensor distill_to(Tensor t, int dtype, int dev, int idx, bool non_blocking, bool copy) {
  DST_TENSOR(t->to(options(dtype, dev, idx), non_blocking, copy))
}
DST_API Tensor distill_to_dtype(Tensor t, int dtype) { DST_TENSOR(t->to(static_cast<at::ScalarType>(dtype))) }
DST_API Tensor distill_contiguous(Tensor t, int memory_format) {
  DST_TENSOR(t->contiguous(static_cast<at::MemoryFormat>(memory_format)))
}
DST_API Tensor distill_clone(Tensor t) { DST_TENSOR(t->clone()) }
DST_API Tensor distill_detach(Tensor t) { DST_TENSOR(t->detach()) }
DST_API int distill_copy_(Tensor dst, Tensor src) { DST_STATUS(at::NoGradGuard ng; dst->copy_(*src)) }
DST_API int distill_fill_(Tensor t, double v) { DST_STATUS(at::NoGradGuard ng; t->fill_(v)) }
DST_API int distill_zero_(Tensor t) { DST_STATUS(at::NoGradGuard ng; t->zero_()) }
// Replaces the data behind a parameter while keeping its handle, so modules survive to(device).
DST_API int distill_set_data(Tensor t, Tensor data) { DST_STATUS(t->set_data(*data)) }
DST_API int distill_tensor_defined(Tensor t) { DST_TRY(-1, return t->defined() ? 1 : 0;) }
DST_API int distill_tensor_same(Tensor a, Tensor b) { DST_TRY(-1, return a->is_same(*b) ? 1 : 0;) }
DST_API int64_t distill_tensor_storage_id(Tensor t) {
  DST_TRY(-1, return reinterpret_cast<int64_t>(t->storage().unsafeGetStorageImpl());)
}

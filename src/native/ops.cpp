// Elementwise math, reductions, shape and indexing ops.
#include "common.h"

using distill::dims;
using distill::wrap;

// Op codes shared with Distill.Torch (UnaryOp / BinaryOp enums); one dispatching export per family keeps the
// ABI small without adding a measurable cost (a switch against a libtorch dispatch).
enum UnaryOp {
  U_NEG = 0, U_ABS, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SIN, U_COS, U_TANH, U_SIGMOID,
  U_RELU = 10, U_SILU, U_GELU, U_GELU_TANH, U_HARDSIGMOID, U_FLOOR, U_CEIL, U_ROUND, U_SIGN, U_ERF,
  U_ERFINV = 20, U_RECIPROCAL, U_SQUARE, U_LOG1P, U_EXPM1, U_ISNAN, U_ISINF, U_ISFINITE, U_LOGICAL_NOT, U_RELU6,
  U_HARDSWISH = 30, U_SOFTPLUS, U_LOG_SIGMOID, U_TRUNC, U_FRAC, U_LOG2, U_ATAN, U_ACOS, U_ASIN, U_TAN,
};
enum BinaryOp {
  B_ADD = 0, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM, B_EQ, B_NE, B_LT,
  B_LE = 10, B_GT, B_GE, B_LOGICAL_AND, B_LOGICAL_OR, B_REMAINDER, B_ATAN2, B_FLOOR_DIVIDE, B_BITWISE_AND,
  B_BITWISE_OR, B_LOGICAL_XOR = 20, B_DIV_FLOOR, B_DIV_TRUNC,
};

static at::Tensor unary(int op, const at::Tensor& x) {
  switch (op) {
    case U_NEG: return at::neg(x);
    case U_ABS: return at::abs(x);
    case U_EXP: return at::exp(x);
    case U_LOG: return at::log(x);
    case U_SQRT: return at::sqrt(x);
    case U_RSQRT: return at::rsqrt(x);
    case U_SIN: return at::sin(x);
    case U_COS: return at::cos(x);
    case U_TANH: return at::tanh(x);
    case U_SIGMOID: return at::sigmoid(x);
    case U_RELU: return at::relu(x);
    case U_SILU: return at::silu(x);
    case U_GELU: return at::gelu(x);
    case U_GELU_TANH: return at::gelu(x, "tanh");
    case U_HARDSIGMOID: return at::hardsigmoid(x);
    case U_FLOOR: return at::floor(x);
    case U_CEIL: return at::ceil(x);
    case U_ROUND: return at::round(x);
    case U_SIGN: return at::sign(x);
    case U_ERF: return at::erf(x);
    case U_ERFINV: return at::erfinv(x);
    case U_RECIPROCAL: return at::reciprocal(x);
    case U_SQUARE: return at::square(x);
    case U_LOG1P: return at::log1p(x);
    case U_EXPM1: return at::expm1(x);
    case U_ISNAN: return at::isnan(x);
    case U_ISINF: return at::isinf(x);
    case U_ISFINITE: return at::isfinite(x);
    case U_LOGICAL_NOT: return at::logical_not(x);
    case U_RELU6: return at::hardtanh(x, 0.0, 6.0);
    case U_HARDSWISH: return at::hardswish(x);
    case U_SOFTPLUS: return at::softplus(x);
    case U_LOG_SIGMOID: return at::log_sigmoid(x);
    case U_TRUNC: return at::trunc(x);
    case U_FRAC: return at::frac(x);
    case U_LOG2: return at::log2(x);
    case U_ATAN: return at::atan(x);
    case U_ACOS: return at::acos(x);
    case U_ASIN: return at::asin(x);
    case U_TAN: return at::tan(x);
  }
  TORCH_CHECK(false, "unknown unary op code ", op);
}

static void unary_(int op, at::Tensor& x) {
  switch (op) {
    case U_NEG: x.neg_(); return;
    case U_ABS: x.abs_(); return;
    case U_EXP: x.exp_(); return;
    case U_LOG: x.log_(); return;
    case U_SQRT: x.sqrt_(); return;
    case U_RSQRT: x.rsqrt_(); return;
    case U_TANH: x.tanh_(); return;
    case U_SIGMOID: x.sigmoid_(); return;
    case U_RELU: x.relu_(); return;
    case U_SILU: at::silu_(x); return;
    case U_HARDSIGMOID: at::hardsigmoid_(x); return;
    case U_FLOOR: x.floor_(); return;
    case U_CEIL: x.ceil_(); return;
    case U_ROUND: x.round_(); return;
    case U_ERFINV: x.erfinv_(); return;
    case U_RECIPROCAL: x.reciprocal_(); return;
    case U_SQUARE: x.square_(); return;
    case U_HARDSWISH: at::hardswish_(x); return;
    case U_RELU6: at::hardtanh_(x, 0.0, 6.0); return;
    default: x.copy_(unary(op, x)); return;
  }
}

static at::Tensor binary(int op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case B_ADD: return at::add(a, b);
    case B_SUB: return at::sub(a, b);
    case B_MUL: return at::mul(a, b);
    case B_DIV: return at::div(a, b);
    case B_POW: return at::pow(a, b);
    case B_MAXIMUM: return at::maximum(a, b);
    case B_MINIMUM: return at::minimum(a, b);
    case B_EQ: return at::eq(a, b);
    case B_NE: return at::ne(a, b);
    case B_LT: return at::lt(a, b);
    case B_LE: return at::le(a, b);
    case B_GT: return at::gt(a, b);
    case B_GE: return at::ge(a, b);
    case B_LOGICAL_AND: return at::logical_and(a, b);
    case B_LOGICAL_OR: return at::logical_or(a, b);
    case B_REMAINDER: return at::remainder(a, b);
    case B_ATAN2: return at::atan2(a, b);
    case B_FLOOR_DIVIDE: return at::div(a, b, "floor");
    case B_BITWISE_AND: return at::bitwise_and(a, b);
    case B_BITWISE_OR: return at::bitwise_or(a, b);
    case B_LOGICAL_XOR: return at::logical_xor(a, b);
    case B_DIV_FLOOR: return at::div(a, b, "floor");
    case B_DIV_TRUNC: return at::div(a, b, "trunc");
  }
  TORCH_CHECK(false, "unknown binary op code ", op);
}

static at::Tensor binary_scalar(int op, const at::Tensor& a, const at::Scalar& s) {
  switch (op) {
    case B_ADD: return at::add(a, s);
    case B_SUB: return at::sub(a, s);
    case B_MUL: return at::mul(a, s);
    case B_DIV: return at::div(a, s);
    case B_POW: return at::pow(a, s);
    case B_MAXIMUM: return at::clamp_min(a, s);
    case B_MINIMUM: return at::clamp_max(a, s);
    case B_EQ: return at::eq(a, s);
    case B_NE: return at::ne(a, s);
    case B_LT: return at::lt(a, s);
    case B_LE: return at::le(a, s);
    case B_GT: return at::gt(a, s);
    case B_GE: return at::ge(a, s);
    case B_REMAINDER: return at::remainder(a, s);
    case B_FLOOR_DIVIDE:
    case B_DIV_FLOOR: return at::div(a, s, "floor");
    case B_DIV_TRUNC: return at::div(a, s, "trunc");
  }
  return binary(op, a, at::scalar_tensor(s, a.options().dtype(at::kDouble)).to(a.scalar_type()));
}

static void binary_(int op, at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case B_ADD: a.add_(b); return;
    case B_SUB: a.sub_(b); return;
    case B_MUL: a.mul_(b); return;
    case B_DIV: a.div_(b); return;
    case B_POW: a.pow_(b); return;
    default: a.copy_(binary(op, a, b)); return;
  }
}

static void binary_scalar_(int op, at::Tensor& a, const at::Scalar& s) {
  switch (op) {
    case B_ADD: a.add_(s); return;
    case B_SUB: a.sub_(s); return;
    case B_MUL: a.mul_(s); return;
    case B_DIV: a.div_(s); return;
    case B_POW: a.pow_(s); return;
    case B_MAXIMUM: a.clamp_min_(s); return;
    case B_MINIMUM: a.clamp_max_(s); return;
    default: a.copy_(binary_scalar(op, a, s)); return;
  }
}

// Scalars cross the boundary as doubles; integral tensors get an integral scalar so that int64 ops stay exact.
static at::Scalar scalar_for(const at::Tensor& t, double v) {
  if (at::isIntegralType(t.scalar_type(), /*includeBool=*/false) && v == static_cast<double>(static_cast<int64_t>(v)))
    return at::Scalar(static_cast<int64_t>(v));
  return at::Scalar(v);
}

DST_API Tensor distill_unary(int op, Tensor x) { DST_TENSOR(unary(op, *x)) }
DST_API int distill_unary_(int op, Tensor x) { DST_STATUS(unary_(op, *x)) }
DST_API Tensor distill_binary(int op, Tensor a, Tensor b) { DST_TENSOR(binary(op, *a, *b)) }
DST_API int distill_binary_(int op, Tensor a, Tensor b) { DST_STATUS(binary_(op, *a, *b)) }
DST_API Tensor distill_binary_scalar(int op, Tensor a, double s) { DST_TENSOR(binary_scalar(op, *a, scalar_for(*a, s))) }
DST_API int distill_binary_scalar_(int op, Tensor a, double s) { DST_STATUS(binary_scalar_(op, *a, scalar_for(*a, s))) }
// scalar - tensor and scalar / tensor, which the generic scalar form cannot express.
DST_API Tensor distill_rsub_scalar(Tensor a, double s) { DST_TENSOR(at::rsub(*a, scalar_for(*a, s))) }
DST_API Tensor distill_rdiv_scalar(Tensor a, double s) { DST_TENSOR(at::reciprocal(*a).mul_(s)) }
DST_API Tensor distill_rpow_scalar(double s, Tensor a) { DST_TENSOR(at::pow(at::Scalar(s), *a)) }
DST_API Tensor distill_add_alpha(Tensor a, Tensor b, double alpha) { DST_TENSOR(at::add(*a, *b, alpha)) }
DST_API int distill_add_alpha_(Tensor a, Tensor b, double alpha) { DST_STATUS(a->add_(*b, alpha)) }
DST_API Tensor distill_addcmul(Tensor a, Tensor b, Tensor c, double v) { DST_TENSOR(at::addcmul(*a, *b, *c, v)) }
DST_API int distill_addcmul_(Tensor a, Tensor b, Tensor c, double v) { DST_STATUS(a->addcmul_(*b, *c, v)) }
DST_API Tensor distill_addcdiv(Tensor a, Tensor b, Tensor c, double v) { DST_TENSOR(at::addcdiv(*a, *b, *c, v)) }
DST_API int distill_addcdiv_(Tensor a, Tensor b, Tensor c, double v) { DST_STATUS(a->addcdiv_(*b, *c, v)) }
DST_API Tensor distill_lerp(Tensor a, Tensor b, double w) { DST_TENSOR(at::lerp(*a, *b, w)) }
DST_API int distill_lerp_(Tensor a, Tensor b, double w) { DST_STATUS(a->lerp_(*b, w)) }

static c10::optional<at::Scalar> opt_scalar(bool has, double v) {
  return has ? c10::optional<at::Scalar>(at::Scalar(v)) : c10::nullopt;
}
DST_API Tensor distill_clamp(Tensor x, bool has_min, double min, bool has_max, double max) {
  DST_TENSOR(at::clamp(*x, opt_scalar(has_min, min), opt_scalar(has_max, max)))
}
DST_API int distill_clamp_(Tensor x, bool has_min, double min, bool has_max, double max) {
  DST_STATUS(x->clamp_(opt_scalar(has_min, min), opt_scalar(has_max, max)))
}
DST_API Tensor distill_clamp_tensor(Tensor x, Tensor min, Tensor max) {
  DST_TENSOR(at::clamp(*x, min ? c10::optional<at::Tensor>(*min) : c10::nullopt,
                       max ? c10::optional<at::Tensor>(*max) : c10::nullopt))
}
DST_API Tensor distill_where(Tensor cond, Tensor a, Tensor b) { DST_TENSOR(at::where(*cond, *a, *b)) }
DST_API Tensor distill_masked_fill(Tensor x, Tensor mask, double v) { DST_TENSOR(x->masked_fill(*mask, v)) }
DST_API int distill_masked_fill_(Tensor x, Tensor mask, double v) { DST_STATUS(x->masked_fill_(*mask, v)) }
DST_API Tensor distill_masked_select(Tensor x, Tensor mask) { DST_TENSOR(at::masked_select(*x, *mask)) }
DST_API Tensor distill_nonzero(Tensor x) { DST_TENSOR(at::nonzero(*x)) }
DST_API Tensor distill_allclose(Tensor a, Tensor b, double rtol, double atol) {
  DST_TENSOR(at::scalar_tensor(at::allclose(*a, *b, rtol, atol), at::kBool))
}

// Reductions. A null dims pointer means "all dimensions". dtype < 0 keeps the input's dtype.
static c10::optional<at::ScalarType> opt_dtype(int dtype) {
  return dtype < 0 ? c10::nullopt : c10::optional<at::ScalarType>(static_cast<at::ScalarType>(dtype));
}
DST_API Tensor distill_sum(Tensor x, const int64_t* d, int n, bool keepdim, int dtype) {
  DST_TENSOR(d ? at::sum(*x, dims(d, n), keepdim, opt_dtype(dtype)) : at::sum(*x, opt_dtype(dtype)))
}
DST_API Tensor distill_mean(Tensor x, const int64_t* d, int n, bool keepdim, int dtype) {
  DST_TENSOR(d ? at::mean(*x, dims(d, n), keepdim, opt_dtype(dtype)) : at::mean(*x, opt_dtype(dtype)))
}
DST_API Tensor distill_prod(Tensor x, int64_t dim, bool has_dim, bool keepdim) {
  DST_TENSOR(has_dim ? at::prod(*x, dim, keepdim) : at::prod(*x))
}
DST_API Tensor distill_var(Tensor x, const int64_t* d, int n, int64_t correction, bool keepdim) {
  DST_TENSOR(at::var(*x, d ? at::OptionalIntArrayRef(dims(d, n)) : c10::nullopt, c10::optional<int64_t>(correction), keepdim))
}
DST_API Tensor distill_std(Tensor x, const int64_t* d, int n, int64_t correction, bool keepdim) {
  DST_TENSOR(at::std(*x, d ? at::OptionalIntArrayRef(dims(d, n)) : c10::nullopt, c10::optional<int64_t>(correction), keepdim))
}
DST_API Tensor distill_norm(Tensor x, double p, const int64_t* d, int n, bool keepdim) {
  DST_TENSOR(d ? at::norm(*x, at::Scalar(p), dims(d, n), keepdim) : at::norm(*x, at::Scalar(p)))
}
DST_API Tensor distill_logsumexp(Tensor x, const int64_t* d, int n, bool keepdim) {
  DST_TENSOR(at::logsumexp(*x, dims(d, n), keepdim))
}
DST_API Tensor distill_max_all(Tensor x) { DST_TENSOR(at::max(*x)) }
DST_API Tensor distill_min_all(Tensor x) { DST_TENSOR(at::min(*x)) }
// (values, indices) pairs come back through out-parameters; both are owned by the caller.
DST_API int distill_max_dim(Tensor x, int64_t dim, bool keepdim, Tensor* values, Tensor* indices) {
  DST_STATUS(auto r = at::max(*x, dim, keepdim); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)))
}
DST_API int distill_min_dim(Tensor x, int64_t dim, bool keepdim, Tensor* values, Tensor* indices) {
  DST_STATUS(auto r = at::min(*x, dim, keepdim); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)))
}
DST_API int distill_topk(Tensor x, int64_t k, int64_t dim, bool largest, bool sorted, Tensor* values, Tensor* indices) {
  DST_STATUS(auto r = at::topk(*x, k, dim, largest, sorted); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)))
}
DST_API int distill_sort(Tensor x, int64_t dim, bool descending, bool stable, Tensor* values, Tensor* indices) {
  DST_STATUS(auto r = at::sort(*x, c10::optional<bool>(stable), dim, descending); *values = wrap(std::get<0>(r));
             *indices = wrap(std::get<1>(r)))
}
DST_API Tensor distill_argmax(Tensor x, int64_t dim, bool has_dim, bool keepdim) {
  DST_TENSOR(at::argmax(*x, has_dim ? c10::optional<int64_t>(dim) : c10::nullopt, keepdim))
}
DST_API Tensor distill_argmin(Tensor x, int64_t dim, bool has_dim, bool keepdim) {
  DST_TENSOR(at::argmin(*x, has_dim ? c10::optional<int64_t>(dim) : c10::nullopt, keepdim))
}
DST_API Tensor distill_cumsum(Tensor x, int64_t dim) { DST_TENSOR(at::cumsum(*x, dim)) }
DST_API Tensor distill_any(Tensor x) { DST_TENSOR(at::any(*x)) }
DST_API Tensor distill_all(Tensor x) { DST_TENSOR(at::all(*x)) }

// Shape and indexing.
DST_API Tensor distill_view(Tensor x, const int64_t* s, int n) { DST_TENSOR(x->view(dims(s, n))) }
DST_API Tensor distill_reshape(Tensor x, const int64_t* s, int n) { DST_TENSOR(x->reshape(dims(s, n))) }
DST_API Tensor distill_permute(Tensor x, const int64_t* s, int n) { DST_TENSOR(x->permute(dims(s, n))) }
DST_API Tensor distill_transpose(Tensor x, int64_t a, int64_t b) { DST_TENSOR(x->transpose(a, b)) }
DST_API Tensor distill_flatten(Tensor x, int64_t a, int64_t b) { DST_TENSOR(x->flatten(a, b)) }
DST_API Tensor distill_expand(Tensor x, const int64_t* s, int n) { DST_TENSOR(x->expand(dims(s, n))) }
DST_API Tensor distill_repeat(Tensor x, const int64_t* s, int n) { DST_TENSOR(x->repeat(dims(s, n))) }
DST_API Tensor distill_flip(Tensor x, const int64_t* s, int n) { DST_TENSOR(x->flip(dims(s, n))) }
DST_API Tensor distill_roll(Tensor x, const int64_t* shifts, const int64_t* d, int n) {
  DST_TENSOR(x->roll(dims(shifts, n), dims(d, n)))
}
DST_API Tensor distill_squeeze(Tensor x, int64_t dim, bool all) { DST_TENSOR(all ? x->squeeze() : x->squeeze(dim)) }
DST_API Tensor distill_unsqueeze(Tensor x, int64_t dim) { DST_TENSOR(x->unsqueeze(dim)) }
DST_API Tensor distill_narrow(Tensor x, int64_t dim, int64_t start, int64_t length) { DST_TENSOR(x->narrow(dim, start, length)) }
DST_API Tensor distill_slice(Tensor x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  DST_TENSOR(x->slice(dim, start, end, step))
}
DST_API Tensor distill_select(Tensor x, int64_t dim, int64_t index) { DST_TENSOR(x->select(dim, index)) }
DST_API Tensor distill_index_select(Tensor x, int64_t dim, Tensor index) { DST_TENSOR(x->index_select(dim, *index)) }
DST_API Tensor distill_gather(Tensor x, int64_t dim, Tensor index) { DST_TENSOR(x->gather(dim, *index)) }
DST_API Tensor distill_scatter(Tensor x, int64_t dim, Tensor index, Tensor src) { DST_TENSOR(x->scatter(dim, *index, *src)) }
DST_API Tensor distill_scatter_add(Tensor x, int64_t dim, Tensor index, Tensor src) {
  DST_TENSOR(x->scatter_add(dim, *index, *src))
}
DST_API Tensor distill_index_add(Tensor x, int64_t dim, Tensor index, Tensor src) { DST_TENSOR(x->index_add(dim, *index, *src)) }
// x[mask_or_index] with a single tensor index on dimension 0 (bool mask or int64 indices).
DST_API Tensor distill_index(Tensor x, Tensor index) { DST_TENSOR(x->index({*index})) }
DST_API int distill_index_put_(Tensor x, Tensor index, Tensor v, bool accumulate) {
  DST_STATUS(x->index_put_({*index}, *v, accumulate))
}
DST_API Tensor distill_tril(Tensor x, int64_t k) { DST_TENSOR(x->tril(k)) }
DST_API Tensor distill_triu(Tensor x, int64_t k) { DST_TENSOR(x->triu(k)) }
DST_API Tensor distill_one_hot(Tensor x, int64_t classes) { DST_TENSOR(at::one_hot(*x, classes)) }

static std::vector<at::Tensor> gather_list(Tensor* ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) v.push_back(*ts[i]);
  return v;
}
DST_API Tensor distill_cat(Tensor* ts, int n, int64_t dim) { DST_TENSOR(at::cat(gather_list(ts, n), dim)) }
DST_API Tensor distill_stack(Tensor* ts, int n, int64_t dim) { DST_TENSOR(at::stack(gather_list(ts, n), dim)) }
// Splits write up to `capacity` new handles into `out` and return how many there are.
static int emit(const std::vector<at::Tensor>& parts, Tensor* out, int capacity) {
  TORCH_CHECK(static_cast<int>(parts.size()) <= capacity, "split produced ", parts.size(), " parts, room for ", capacity);
  for (size_t i = 0; i < parts.size(); i++) out[i] = wrap(parts[i]);
  return static_cast<int>(parts.size());
}
DST_API int distill_split(Tensor x, int64_t size, int64_t dim, Tensor* out, int capacity) {
  DST_TRY(-1, return emit(x->split(size, dim), out, capacity);)
}
DST_API int distill_split_sizes(Tensor x, const int64_t* sizes, int n, int64_t dim, Tensor* out, int capacity) {
  DST_TRY(-1, return emit(x->split_with_sizes(dims(sizes, n), dim), out, capacity);)
}
DST_API int distill_chunk(Tensor x, int64_t chunks, int64_t dim, Tensor* out, int capacity) {
  DST_TRY(-1, return emit(x->chunk(chunks, dim), out, capacity);)
}
DST_API int distill_unbind(Tensor x, int64_t dim, Tensor* out, int capacity) {
  DST_TRY(-1, return emit(x->unbind(dim), out, capacity);)
}
DST_API int distill_meshgrid(Tensor* ts, int n, bool ij, Tensor* out, int capacity) {
  DST_TRY(-1, return emit(at::meshgrid(gather_list(ts, n), ij ? "ij" : "xy"), out, capacity);)
}

// Linear algebra.
DST_API Tensor distill_matmul(Tensor a, Tensor b) { DST_TENSOR(at::matmul(*a, *b)) }
DST_API Tensor distill_mm(Tensor a, Tensor b) { DST_TENSOR(at::mm(*a, *b)) }
DST_API Tensor distill_bmm(Tensor a, Tensor b) { DST_TENSOR(at::bmm(*a, *b)) }
DST_API Tensor distill_outer(Tensor a, Tensor b) { DST_TENSOR(at::outer(*a, *b)) }
DST_API Tensor distill_einsum(const char* eq, Tensor* ts, int n) { DST_TENSOR(at::einsum(eq, gather_list(ts, n))) }
DST_API Tensor distill_inverse(Tensor a) { DST_TENSOR(at::linalg_inv(*a)) }

// Neural-network functionals: convolutions, normalisation, pooling, activations with parameters, losses.
#include "common.h"

using distill::dims;

static c10::optional<at::Tensor> opt(Tensor t) { return t ? c10::optional<at::Tensor>(*t) : c10::nullopt; }

// Reduction codes follow at::Reduction: 0 none, 1 mean, 2 sum.

DST_API Tensor distill_conv2d(Tensor x, Tensor w, Tensor b, const int64_t* stride, const int64_t* padding,
                              const int64_t* dilation, int64_t groups) {
  DST_TENSOR(at::conv2d(*x, *w, opt(b), dims(stride, 2), dims(padding, 2), dims(dilation, 2), groups))
}
DST_API Tensor distill_conv_transpose2d(Tensor x, Tensor w, Tensor b, const int64_t* stride, const int64_t* padding,
                                        const int64_t* output_padding, int64_t groups, const int64_t* dilation) {
  DST_TENSOR(at::conv_transpose2d(*x, *w, opt(b), dims(stride, 2), dims(padding, 2), dims(output_padding, 2), groups,
                                  dims(dilation, 2)))
}
DST_API Tensor distill_batch_norm(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, bool training, double momentum,
                                  double eps) {
  DST_TENSOR(at::batch_norm(*x, opt(w), opt(b), opt(rm), opt(rv), training, momentum, eps, /*cudnn_enabled=*/true))
}
DST_API Tensor distill_layer_norm(Tensor x, const int64_t* shape, int n, Tensor w, Tensor b, double eps) {
  DST_TENSOR(at::layer_norm(*x, dims(shape, n), opt(w), opt(b), eps))
}
DST_API Tensor distill_group_norm(Tensor x, int64_t groups, Tensor w, Tensor b, double eps) {
  DST_TENSOR(at::group_norm(*x, groups, opt(w), opt(b), eps))
}
DST_API Tensor distill_linear(Tensor x, Tensor w, Tensor b) { DST_TENSOR(at::linear(*x, *w, opt(b))) }
DST_API Tensor distill_max_pool2d(Tensor x, const int64_t* k, const int64_t* s, const int64_t* p, const int64_t* d,
                                  bool ceil_mode) {
  DST_TENSOR(at::max_pool2d(*x, dims(k, 2), dims(s, 2), dims(p, 2), dims(d, 2), ceil_mode))
}
DST_API Tensor distill_avg_pool2d(Tensor x, const int64_t* k, const int64_t* s, const int64_t* p, bool ceil_mode,
                                  bool count_include_pad) {
  DST_TENSOR(at::avg_pool2d(*x, dims(k, 2), dims(s, 2), dims(p, 2), ceil_mode, count_include_pad))
}
DST_API Tensor distill_adaptive_avg_pool2d(Tensor x, const int64_t* size) {
  DST_TENSOR(at::adaptive_avg_pool2d(*x, dims(size, 2)))
}
// mode: 0 nearest, 1 bilinear, 2 bicubic. Either size or scale (scale_h > 0) is given.
DST_API Tensor distill_interpolate(Tensor x, const int64_t* size, double scale_h, double scale_w, int mode,
                                   bool align_corners) {
  DST_TRY(nullptr, {
    c10::optional<at::IntArrayRef> out = size ? c10::optional<at::IntArrayRef>(dims(size, 2)) : c10::nullopt;
    c10::optional<c10::ArrayRef<double>> scales = c10::nullopt;
    std::vector<double> sv{scale_h, scale_w};
    if (!size) scales = c10::ArrayRef<double>(sv);
    switch (mode) {
      case 0: return distill::wrap(at::upsample_nearest2d(*x, out, scales));
      case 1: return distill::wrap(at::upsample_bilinear2d(*x, out, align_corners, scales));
      case 2: return distill::wrap(at::upsample_bicubic2d(*x, out, align_corners, scales));
    }
    TORCH_CHECK(false, "unknown interpolation mode ", mode);
  })
}
// mode: 0 bilinear, 1 nearest; padding: 0 zeros, 1 border, 2 reflection.
DST_API Tensor distill_grid_sample(Tensor x, Tensor grid, int mode, int padding, bool align_corners) {
  DST_TENSOR(at::grid_sampler(*x, *grid, mode, padding, align_corners))
}
DST_API Tensor distill_affine_grid(Tensor theta, const int64_t* size, int n, bool align_corners) {
  DST_TENSOR(at::affine_grid_generator(*theta, dims(size, n), align_corners))
}
// mode: 0 constant, 1 reflect, 2 replicate.
DST_API Tensor distill_pad(Tensor x, const int64_t* pads, int n, int mode, double value) {
  DST_TRY(nullptr, {
    switch (mode) {
      case 0: return distill::wrap(at::constant_pad_nd(*x, dims(pads, n), value));
      case 1: return distill::wrap(n == 2 ? at::reflection_pad1d(*x, dims(pads, n)) : at::reflection_pad2d(*x, dims(pads, n)));
      case 2: return distill::wrap(n == 2 ? at::replication_pad1d(*x, dims(pads, n)) : at::replication_pad2d(*x, dims(pads, n)));
    }
    TORCH_CHECK(false, "unknown padding mode ", mode);
  })
}
DST_API Tensor distill_dropout(Tensor x, double p, bool train) { DST_TENSOR(at::dropout(*x, p, train)) }
DST_API Tensor distill_softmax(Tensor x, int64_t dim, int dtype) {
  DST_TENSOR(dtype < 0 ? at::softmax(*x, dim) : at::softmax(*x, dim, static_cast<at::ScalarType>(dtype)))
}
DST_API Tensor distill_log_softmax(Tensor x, int64_t dim, int dtype) {
  DST_TENSOR(dtype < 0 ? at::log_softmax(*x, dim) : at::log_softmax(*x, dim, static_cast<at::ScalarType>(dtype)))
}
DST_API Tensor distill_hardtanh(Tensor x, double lo, double hi) { DST_TENSOR(at::hardtanh(*x, lo, hi)) }
DST_API Tensor distill_leaky_relu(Tensor x, double slope) { DST_TENSOR(at::leaky_relu(*x, slope)) }
DST_API Tensor distill_elu(Tensor x, double alpha) { DST_TENSOR(at::elu(*x, alpha)) }

DST_API Tensor distill_mse_loss(Tensor a, Tensor b, int reduction) { DST_TENSOR(at::mse_loss(*a, *b, reduction)) }
DST_API Tensor distill_l1_loss(Tensor a, Tensor b, int reduction) { DST_TENSOR(at::l1_loss(*a, *b, reduction)) }
DST_API Tensor distill_smooth_l1_loss(Tensor a, Tensor b, int reduction, double beta) {
  DST_TENSOR(at::smooth_l1_loss(*a, *b, reduction, beta))
}
// PyTorch semantics: `input` holds log-probabilities, `target` probabilities unless log_target.
// reduction 3 is "batchmean" (sum / batch size), as torch.nn.functional.kl_div offers.
DST_API Tensor distill_kl_div(Tensor input, Tensor target, int reduction, bool log_target) {
  DST_TRY(nullptr, {
    if (reduction == 3) {
      auto s = at::kl_div(*input, *target, at::Reduction::Sum, log_target);
      return distill::wrap(input->dim() > 0 ? s / input->size(0) : s);
    }
    return distill::wrap(at::kl_div(*input, *target, reduction, log_target));
  })
}
DST_API Tensor distill_cross_entropy(Tensor input, Tensor target, Tensor weight, int reduction, int64_t ignore_index,
                                     double label_smoothing) {
  DST_TENSOR(at::cross_entropy_loss(*input, *target, opt(weight), reduction, ignore_index, label_smoothing))
}
DST_API Tensor distill_nll_loss(Tensor input, Tensor target, Tensor weight, int reduction, int64_t ignore_index) {
  DST_TENSOR(at::nll_loss_nd(*input, *target, opt(weight), reduction, ignore_index))
}
DST_API Tensor distill_bce_with_logits(Tensor input, Tensor target, Tensor weight, Tensor pos_weight, int reduction) {
  DST_TENSOR(at::binary_cross_entropy_with_logits(*input, *target, opt(weight), opt(pos_weight), reduction))
}

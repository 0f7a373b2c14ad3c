// Optimizer steps, gradient clipping and EMA as single calls over a parameter list. The arithmetic is the
// per-tensor sequence PyTorch's optimizers run, so results match; one call per group saves the per-op crossing.
#include "common.h"

#include <cmath>

DST_API int distill_sgd_step(Tensor* params, Tensor* momentum_bufs, int n, double lr, double momentum, double dampening,
                             double weight_decay, bool nesterov, bool maximize) {
  DST_STATUS({
    at::NoGradGuard ng;
    for (int i = 0; i < n; i++) {
      at::Tensor& p = *params[i];
      const at::Tensor& g = p.grad();
      if (!g.defined()) continue;
      at::Tensor d = maximize ? g.neg() : g;
      if (weight_decay != 0) d = d.add(p, weight_decay);
      if (momentum != 0) {
        if (momentum_bufs[i] == nullptr) {
          momentum_bufs[i] = distill::wrap(d.clone().detach());
        } else {
          momentum_bufs[i]->mul_(momentum).add_(d, 1 - dampening);
        }
        d = nesterov ? d.add(*momentum_bufs[i], momentum) : *momentum_bufs[i];
      }
      p.add_(d, -lr);
    }
  })
}

// Adam and AdamW (decoupled = true). `steps` holds each parameter's step count after this update.
DST_API int distill_adam_step(Tensor* params, Tensor* exp_avg, Tensor* exp_avg_sq, Tensor* max_exp_avg_sq,
                              const int64_t* steps, int n, double lr, double beta1, double beta2, double eps,
                              double weight_decay, bool decoupled, bool amsgrad, bool maximize) {
  DST_STATUS({
    at::NoGradGuard ng;
    for (int i = 0; i < n; i++) {
      at::Tensor& p = *params[i];
      const at::Tensor& g0 = p.grad();
      if (!g0.defined()) continue;
      at::Tensor g = maximize ? g0.neg() : g0;
      if (weight_decay != 0) {
        if (decoupled) p.mul_(1 - lr * weight_decay);
        else g = g.add(p, weight_decay);
      }
      exp_avg[i]->mul_(beta1).add_(g, 1 - beta1);
      exp_avg_sq[i]->mul_(beta2).addcmul_(g, g, 1 - beta2);
      double step = static_cast<double>(steps[i]);
      double bc1 = 1 - std::pow(beta1, step);
      double bc2_sqrt = std::sqrt(1 - std::pow(beta2, step));
      at::Tensor denom;
      if (amsgrad) {
        at::maximum_out(*max_exp_avg_sq[i], *max_exp_avg_sq[i], *exp_avg_sq[i]);
        denom = (max_exp_avg_sq[i]->sqrt() / bc2_sqrt).add_(eps);
      } else {
        denom = (exp_avg_sq[i]->sqrt() / bc2_sqrt).add_(eps);
      }
      p.addcdiv_(*exp_avg[i], denom, -lr / bc1);
    }
  })
}

// Scales all gradients so their global norm is at most max_norm; returns the norm before clipping.
DST_API int distill_clip_grad_norm(Tensor* params, int n, double max_norm, double norm_type, double* total_norm) {
  DST_STATUS({
    at::NoGradGuard ng;
    std::vector<at::Tensor> norms;
    for (int i = 0; i < n; i++) {
      const at::Tensor& g = params[i]->grad();
      if (!g.defined()) continue;
      norms.push_back(std::isinf(norm_type) ? g.detach().abs().max() : at::norm(g.detach(), norm_type));
    }
    if (norms.empty()) { *total_norm = 0; return 0; }
    at::Tensor total = std::isinf(norm_type) ? at::stack(norms).max() : at::norm(at::stack(norms), norm_type);
    *total_norm = total.item<double>();
    if (max_norm > 0) {
      at::Tensor coef = at::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
      for (int i = 0; i < n; i++) {
        at::Tensor g = params[i]->grad();
        if (g.defined()) g.detach().mul_(coef.to(g.device()));
      }
    }
  })
}

// avg <- avg * (1 - momentum) + src * momentum, for parameters and floating buffers; integer buffers are copied.
// Written as mul_ then add_ (not lerp_, which rounds differently) to give the same bits as mmdet/mmpose's
// ExpMomentumEMA.
DST_API int distill_ema_update(Tensor* avg, Tensor* src, int n, double momentum) {
  DST_STATUS({
    at::NoGradGuard ng;
    for (int i = 0; i < n; i++) {
      if (at::isFloatingType(avg[i]->scalar_type())) avg[i]->mul_(1 - momentum).add_(src[i]->detach(), momentum);
      else avg[i]->copy_(*src[i]);
    }
  })
}

// True when every gradient is finite (the NaN/Inf guard checks this once per step).
DST_API int distill_grads_finite(Tensor* params, int n) {
  DST_TRY(-1, {
    at::NoGradGuard ng;
    for (int i = 0; i < n; i++) {
      const at::Tensor& g = params[i]->grad();
      if (g.defined() && !at::isfinite(g).all().item<bool>()) return 0;
    }
    return 1;
  })
}

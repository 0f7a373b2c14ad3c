// Data parallelism on c10d: key-value stores for the rendezvous, the Gloo process group and its collectives, and
// the Reducer that averages gradients in buckets while backward runs. Without Gloo's headers at build time
// (DISTILL_HAVE_GLOO undefined) every export reports that instead.
//
// Handles are heap-allocated intrusive_ptr / unique_ptr boxes; the managed side frees each with its own export.
// Gloo reports I/O failures (a peer that exited or hung) as gloo::IoException, a std::runtime_error; DST_TRY turns
// them, like everything else, into an error message.
#include "common.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <vector>

#ifdef DISTILL_HAVE_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/csrc/autograd/custom_function.h>

namespace {

using StoreBox = c10::intrusive_ptr<c10d::Store>;
using GroupBox = c10::intrusive_ptr<c10d::ProcessGroupGloo>;

StoreBox& store_of(void* p) { return *static_cast<StoreBox*>(p); }
GroupBox& group_of(void* p) { return *static_cast<GroupBox*>(p); }

std::vector<at::Tensor> tensors_of(Tensor* ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int i = 0; i < n; i++) v.push_back(*ts[i]);
  return v;
}

// Waits for a collective; a failed one (peer gone, timeout) rethrows its exception here.
void finish(const c10::intrusive_ptr<c10d::Work>& work) { work->wait(); }

c10d::ReduceOp reduce_op(int op) {
  // AVG is rejected on purpose: Gloo does not implement it and may terminate its worker thread on it.
  switch (op) {
    case 0: return c10d::ReduceOp::SUM;
    case 2: return c10d::ReduceOp::PRODUCT;
    case 3: return c10d::ReduceOp::MIN;
    case 4: return c10d::ReduceOp::MAX;
    default: throw std::invalid_argument("all_reduce: unsupported reduce op " + std::to_string(op) + " (SUM, PRODUCT, MIN, MAX)");
  }
}

// The Reducer with the bookkeeping DDP keeps beside it.
struct ReducerBox {
  GroupBox group;  // declared first so that it is destroyed after the reducer
  std::unique_ptr<c10d::Reducer> reducer;
};

}  // namespace

DST_API int distill_dist_available() { return 1; }

// A TCP store on host:port. The server (rank 0, or a launcher) hosts it on a background thread; clients connect
// and retry until timeout_ms. num_workers < 0 leaves it unset (the server then does not wait for clients).
DST_API void* distill_store_tcp(const char* host, int port, int is_server, int num_workers, int wait_workers, int64_t timeout_ms) {
  DST_TRY(nullptr, {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(port);
    opts.isServer = is_server != 0;
    if (num_workers >= 0) opts.numWorkers = static_cast<size_t>(num_workers);
    opts.waitWorkers = wait_workers != 0;
    opts.timeout = std::chrono::milliseconds(timeout_ms);
    auto store = c10::make_intrusive<c10d::TCPStore>(std::string(host), opts);
    return new StoreBox(std::move(store));
  })
}

DST_API void* distill_store_prefix(const char* prefix, void* store) {
  DST_TRY(nullptr, {
    StoreBox inner = store_of(store);
    return new StoreBox(c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), inner));
  })
}

DST_API void distill_store_free(void* store) { delete static_cast<StoreBox*>(store); }

DST_API int distill_store_set(void* store, const char* key, const uint8_t* data, int64_t len) {
  DST_STATUS(store_of(store)->set(std::string(key), std::vector<uint8_t>(data, data + len)))
}

// Blocks until the key exists (or the store's timeout). The value is malloc'ed; free it with distill_bytes_free.
DST_API int distill_store_get(void* store, const char* key, uint8_t** data, int64_t* len) {
  DST_STATUS({
    auto value = store_of(store)->get(std::string(key));
    *len = static_cast<int64_t>(value.size());
    *data = static_cast<uint8_t*>(std::malloc(value.empty() ? 1 : value.size()));
    if (!*data) throw std::bad_alloc();
    if (!value.empty()) std::memcpy(*data, value.data(), value.size());
  })
}

DST_API void distill_bytes_free(uint8_t* data) { std::free(data); }

DST_API int distill_store_add(void* store, const char* key, int64_t delta, int64_t* result) {
  DST_STATUS(*result = store_of(store)->add(std::string(key), delta))
}

DST_API int distill_store_wait(void* store, const char** keys, int n, int64_t timeout_ms) {
  DST_STATUS({
    std::vector<std::string> k(keys, keys + n);
    store_of(store)->wait(k, std::chrono::milliseconds(timeout_ms));
  })
}

DST_API int distill_store_set_timeout(void* store, int64_t timeout_ms) {
  DST_STATUS(store_of(store)->setTimeout(std::chrono::milliseconds(timeout_ms)))
}

// A Gloo process group over the store. Its transport binds to, in order of preference: the comma-separated
// interfaces in ifnames, the address of hostname, or the machine's hostname (loopback if that does not resolve).
// timeout_ms bounds every collective, so a peer that hangs ends the run instead of blocking it for 30 minutes.
DST_API void* distill_pg_gloo(void* store, int rank, int size, int64_t timeout_ms, const char* ifnames, const char* hostname, int threads) {
  DST_TRY(nullptr, {
    auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(timeout_ms));
    if (ifnames && *ifnames) {
      std::stringstream ss(ifnames);
      std::string name;
      while (std::getline(ss, name, ','))
        if (!name.empty()) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
    } else if (hostname && *hostname) {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
    } else {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    if (threads > 0) opts->threads = threads;
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store_of(store), rank, size, opts);
    return new GroupBox(std::move(pg));
  })
}

DST_API void distill_pg_free(void* pg) {
  try {
    delete static_cast<GroupBox*>(pg);
  } catch (...) {
    // A group whose peers are gone may fail to shut down cleanly; there is nobody left to tell.
  }
}

DST_API int distill_pg_broadcast(void* pg, Tensor* ts, int n, int root) {
  DST_STATUS({
    auto v = tensors_of(ts, n);
    c10d::BroadcastOptions o;
    o.rootRank = root;
    finish(group_of(pg)->broadcast(v, o));
  })
}

// Broadcasts many tensors from root in flat chunks of at most buffer_bytes (as DDP syncs module states).
DST_API int distill_pg_broadcast_coalesced(void* pg, Tensor* ts, int n, int64_t buffer_bytes, int root) {
  DST_STATUS({
    auto v = tensors_of(ts, n);
    c10d::broadcast_coalesced(group_of(pg), v, static_cast<size_t>(buffer_bytes), root);
  })
}

DST_API int distill_pg_allreduce(void* pg, Tensor* ts, int n, int op) {
  DST_STATUS({
    auto v = tensors_of(ts, n);
    c10d::AllreduceOptions o;
    o.reduceOp = reduce_op(op);
    finish(group_of(pg)->allreduce(v, o));
  })
}

// Gathers input from every rank into outputs[0..size) (each the input's shape and dtype).
DST_API int distill_pg_allgather(void* pg, Tensor input, Tensor* outputs, int n) {
  DST_STATUS({
    std::vector<std::vector<at::Tensor>> out{tensors_of(outputs, n)};
    std::vector<at::Tensor> in{*input};
    finish(group_of(pg)->allgather(out, in));
  })
}

DST_API int distill_pg_barrier(void* pg) { DST_STATUS(finish(group_of(pg)->barrier())) }

// A barrier in which rank 0 names the ranks that did not arrive within timeout_ms.
DST_API int distill_pg_monitored_barrier(void* pg, int64_t timeout_ms) {
  DST_STATUS({
    c10d::BarrierOptions o;
    o.timeout = std::chrono::milliseconds(timeout_ms);
    group_of(pg)->monitoredBarrier(o, true);
  })
}

// A gradient Reducer over params, bucketed as DDP does: buckets of at most cap_bytes (the first one
// first_bucket_bytes) assigned in parameter order, then reversed, since gradients become ready roughly from the
// last parameter to the first. After the first iteration, rebuild_buckets() re-buckets in the observed order.
DST_API void* distill_reducer_new(void* pg, Tensor* params, int n, int64_t cap_bytes, int64_t first_bucket_bytes, int find_unused) {
  DST_TRY(nullptr, {
    auto v = tensors_of(params, n);
    std::vector<size_t> limits{static_cast<size_t>(first_bucket_bytes), static_cast<size_t>(cap_bytes)};
    auto [buckets, per_bucket_limits] = c10d::compute_bucket_assignment_by_size(v, limits, std::vector<bool>(v.size(), false));
    std::reverse(buckets.begin(), buckets.end());
    std::reverse(per_bucket_limits.begin(), per_bucket_limits.end());
    auto box = std::make_unique<ReducerBox>();
    box->group = group_of(pg);
    box->reducer = std::make_unique<c10d::Reducer>(v, std::move(buckets), std::move(per_bucket_limits), box->group,
                                                   std::vector<bool>(v.size(), false), cap_bytes, find_unused != 0,
                                                   /*gradient_as_bucket_view=*/false, std::unordered_map<size_t, std::string>{},
                                                   first_bucket_bytes);
    return box.release();
  })
}

DST_API void distill_reducer_free(void* r) {
  auto* box = static_cast<ReducerBox*>(r);
  try {
    box->reducer.reset();
  } catch (...) {
    // The Reducer's destructor may throw after a failed reduction; the process keeps running regardless.
  }
  delete box;
}

// Before each synchronised forward: re-buckets once, after the first iteration, in gradient-ready order (a
// collective: every rank calls it at the same point). Returns 1 when it re-bucketed.
DST_API int distill_reducer_before_forward(void* r) {
  DST_TRY(-1, {
    auto& red = *static_cast<ReducerBox*>(r)->reducer;
    red.prepare_for_forward();
    return red.rebuild_buckets() ? 1 : 0;
  })
}

// Arms the gradient hooks for the next backward; outputs are walked to find unused parameters (only used when
// the reducer was made with find_unused). Skipping this call makes the next backward accumulate locally (no_sync).
DST_API int distill_reducer_prepare_for_backward(void* r, Tensor* outputs, int n) {
  DST_STATUS(static_cast<ReducerBox*>(r)->reducer->prepare_for_backward(tensors_of(outputs, n)))
}

// Synchronised BatchNorm from plain ops and two all-reduces, on any device: libtorch's own kernels for it
// (batch_norm_stats and friends) exist for CUDA only. Statistics are per channel over the batch of every rank.
namespace {

std::vector<int64_t> reduce_dims(const at::Tensor& x) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); d++) dims.push_back(d);
  return dims;
}

// (1, C, 1, ...) view of a per-channel vector, to broadcast against x.
at::Tensor per_channel(const at::Tensor& v, const at::Tensor& x) {
  std::vector<int64_t> shape(x.dim(), 1);
  shape[1] = v.size(0);
  return v.view(shape);
}

void allreduce_sum(const GroupBox& pg, at::Tensor& t) {
  std::vector<at::Tensor> v{t};
  finish(pg->allreduce(v));
}

struct SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            at::Tensor running_mean, at::Tensor running_var, double momentum, double eps, GroupBox pg) {
    auto dims = reduce_dims(x);
    int64_t channels = x.size(1);
    // Sums in double: sum of squares minus squared mean loses too much in float over large batches.
    auto xd = x.to(at::kDouble);
    auto local_count = static_cast<double>(x.numel() / channels);
    auto stats = at::cat({xd.sum(dims), (xd * xd).sum(dims), at::full({1}, local_count, xd.options())});
    allreduce_sum(pg, stats);
    auto count = stats[2 * channels].item<double>();
    auto mean = stats.slice(0, 0, channels) / count;
    auto var = stats.slice(0, channels, 2 * channels) / count - mean * mean;  // biased, as normalisation uses
    auto invstd = (var + eps).rsqrt();
    {
      at::NoGradGuard no_grad;
      if (running_mean.defined()) running_mean.mul_(1 - momentum).add_(mean.to(running_mean.scalar_type()), momentum);
      if (running_var.defined() && count > 1)
        running_var.mul_(1 - momentum).add_((var * (count / (count - 1))).to(running_var.scalar_type()), momentum);
    }
    auto mean_x = mean.to(x.scalar_type()), invstd_x = invstd.to(x.scalar_type());
    auto y = (x - per_channel(mean_x, x)) * per_channel(invstd_x, x);
    if (weight.defined()) y = y * per_channel(weight, x);
    if (bias.defined()) y = y + per_channel(bias, x);
    ctx->save_for_backward({x, weight, mean_x, invstd_x});
    ctx->saved_data["count"] = count;
    // A capsule holds the group without the custom-class registration a typed IValue would need.
    ctx->saved_data["pg"] = c10::IValue::make_capsule(c10::static_intrusive_pointer_cast<torch::CustomClassHolder>(pg));
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto x = saved[0], weight = saved[1], mean = saved[2], invstd = saved[3];
    double count = ctx->saved_data["count"].toDouble();
    auto pg = c10::static_intrusive_pointer_cast<c10d::ProcessGroupGloo>(ctx->saved_data["pg"].toCapsule());
    auto dy = grads[0];
    auto dims = reduce_dims(x);
    int64_t channels = x.size(1);
    auto xmu = x - per_channel(mean, x);
    // Local sums give this rank's parameter gradients (DDP averages those); their totals over all ranks give the input's.
    auto sum_dy = dy.sum(dims);
    auto sum_dy_xmu = (dy * xmu).sum(dims);
    auto totals = at::cat({sum_dy, sum_dy_xmu}).to(at::kDouble);
    allreduce_sum(pg, totals);
    auto mean_dy = (totals.slice(0, 0, channels) / count).to(x.scalar_type());
    auto mean_dy_xmu = (totals.slice(0, channels, 2 * channels) / count).to(x.scalar_type());
    auto scale = weight.defined() ? invstd * weight : invstd;
    auto dx = (dy - per_channel(mean_dy, x) - xmu * per_channel(invstd * invstd * mean_dy_xmu, x)) * per_channel(scale, x);
    at::Tensor dweight = weight.defined() ? sum_dy_xmu * invstd : at::Tensor();
    at::Tensor dbias = ctx->needs_input_grad(2) ? sum_dy : at::Tensor();
    return {dx, dweight, dbias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

// Training-mode BatchNorm whose statistics span every rank of pg; weight, bias and the running statistics may be
// null. Every rank must call it at the same point (and run its backward), with the same number of channels.
DST_API Tensor distill_sync_batch_norm(void* pg, Tensor x, Tensor weight, Tensor bias, Tensor running_mean, Tensor running_var,
                                       double momentum, double eps) {
  DST_TENSOR(SyncBatchNormFunction::apply(*x, weight ? *weight : at::Tensor(), bias ? *bias : at::Tensor(),
                                          running_mean ? *running_mean : at::Tensor(), running_var ? *running_var : at::Tensor(),
                                          momentum, eps, group_of(pg)))
}

#else  // no Gloo headers at build time

namespace {
int unavailable() {
  distill::set_error("this build of the native library has no distributed support (gloo headers were missing at build time)");
  return -1;
}
}  // namespace

DST_API int distill_dist_available() { return 0; }
DST_API void* distill_store_tcp(const char*, int, int, int, int, int64_t) { unavailable(); return nullptr; }
DST_API void* distill_store_prefix(const char*, void*) { unavailable(); return nullptr; }
DST_API void distill_store_free(void*) {}
DST_API int distill_store_set(void*, const char*, const uint8_t*, int64_t) { return unavailable(); }
DST_API int distill_store_get(void*, const char*, uint8_t**, int64_t*) { return unavailable(); }
DST_API void distill_bytes_free(uint8_t* data) { std::free(data); }
DST_API int distill_store_add(void*, const char*, int64_t, int64_t*) { return unavailable(); }
DST_API int distill_store_wait(void*, const char**, int, int64_t) { return unavailable(); }
DST_API int distill_store_set_timeout(void*, int64_t) { return unavailable(); }
DST_API void* distill_pg_gloo(void*, int, int, int64_t, const char*, const char*, int) { unavailable(); return nullptr; }
DST_API void distill_pg_free(void*) {}
DST_API int distill_pg_broadcast(void*, Tensor*, int, int) { return unavailable(); }
DST_API int distill_pg_broadcast_coalesced(void*, Tensor*, int, int64_t, int) { return unavailable(); }
DST_API int distill_pg_allreduce(void*, Tensor*, int, int) { return unavailable(); }
DST_API int distill_pg_allgather(void*, Tensor, Tensor*, int) { return unavailable(); }
DST_API int distill_pg_barrier(void*) { return unavailable(); }
DST_API int distill_pg_monitored_barrier(void*, int64_t) { return unavailable(); }
DST_API void* distill_reducer_new(void*, Tensor*, int, int64_t, int64_t, int) { unavailable(); return nullptr; }
DST_API void distill_reducer_free(void*) {}
DST_API int distill_reducer_before_forward(void*) { return unavailable(); }
DST_API int distill_reducer_prepare_for_backward(void*, Tensor*, int) { return unavailable(); }
DST_API Tensor distill_sync_batch_norm(void*, Tensor, Tensor, Tensor, Tensor, Tensor, double, double) { unavailable(); return nullptr; }

#endif

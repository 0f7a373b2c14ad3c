// Shared by every area of the shim: the error convention and handle helpers.
#pragma once

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <string>

#if defined(_WIN32)
#define DST_API extern "C" __declspec(dllexport)
#else
#define DST_API extern "C" __attribute__((visibility("default")))
#endif

typedef at::Tensor* Tensor;

namespace distill {
void set_error(const char* message);
void set_error(const c10::Error& error);
inline Tensor wrap(at::Tensor&& t) { return new at::Tensor(std::move(t)); }
inline Tensor wrap(const at::Tensor& t) { return new at::Tensor(t); }
inline at::IntArrayRef dims(const int64_t* p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
inline at::TensorOptions options(int dtype, int device_type, int device_index) {
  return at::TensorOptions()
      .dtype(static_cast<at::ScalarType>(dtype))
      .device(at::Device(static_cast<c10::DeviceType>(device_type), static_cast<c10::DeviceIndex>(device_index)));
}
}  // namespace distill

// Every export runs its body inside DST_TRY: no exception may cross the C boundary, because unwinding into
// managed frames terminates the process. c10::Error is caught first so that the message loses libtorch's
// C++ backtrace; callers see only what went wrong.
#define DST_TRY(on_error, ...)                          \
  try {                                                 \
    __VA_ARGS__                                         \
  } catch (const c10::Error& e) {                       \
    distill::set_error(e);                              \
    return on_error;                                    \
  } catch (const std::exception& e) {                   \
    distill::set_error(e.what());                       \
    return on_error;                                    \
  } catch (...) {                                       \
    distill::set_error("unknown native exception");     \
    return on_error;                                    \
  }

// Shorthands for the common shapes of an export.
#define DST_TENSOR(...) DST_TRY(nullptr, return distill::wrap(__VA_ARGS__);)
#define DST_STATUS(...) DST_TRY(-1, __VA_ARGS__; return 0;)

// Stand-in for a header that c10d/reducer.hpp includes but Debian's libtorch-dev does not ship (distributed
// autograd's context). The Reducer only holds a pointer to this type and checks one type alias against it, so a
// declaration with the same names is enough; the object layout of the Reducer does not depend on it. Used only
// when the real header is missing (see CMakeLists.txt).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch

// File-backed tensor data for checkpoint readers and writers: tensors are read straight from a byte range of a
// file (safetensors, or an uncompressed zip member of a torch.save archive) and written without a managed copy,
// so tensors over 2 GB never pass through a managed array.
#include "common.h"

#include <cstdio>
#include <memory>

namespace {
struct FileCloser {
  void operator()(FILE* f) const { if (f) std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;
}  // namespace

DST_API Tensor distill_tensor_from_file(const char* path, int64_t offset, int64_t nbytes, const int64_t* shape, int n,
                                        const int64_t* strides, int64_t storage_offset, int dtype) {
  DST_TRY(nullptr, {
    File f(std::fopen(path, "rb"));
    TORCH_CHECK(f, "cannot open ", path);
    TORCH_CHECK(offset >= 0 && nbytes >= 0, "negative offset or length");
    TORCH_CHECK(std::fseek(f.get(), 0, SEEK_END) == 0, "cannot seek in ", path);
    int64_t size = static_cast<int64_t>(ftello(f.get()));
    TORCH_CHECK(offset + nbytes <= size, path, ": data range [", offset, ", ", offset + nbytes, ") exceeds file size ", size);
    auto st = static_cast<at::ScalarType>(dtype);
    int64_t item = static_cast<int64_t>(c10::elementSize(st));
    TORCH_CHECK(nbytes % item == 0, "byte length ", nbytes, " is not a multiple of the element size ", item);
    at::Tensor storage = at::empty({nbytes / item}, at::TensorOptions().dtype(st));
    TORCH_CHECK(fseeko(f.get(), offset, SEEK_SET) == 0, "cannot seek in ", path);
    if (nbytes > 0) {
      TORCH_CHECK(std::fread(storage.data_ptr(), 1, static_cast<size_t>(nbytes), f.get()) == static_cast<size_t>(nbytes),
                  "short read from ", path);
    }
    at::IntArrayRef sizes(shape, static_cast<size_t>(n));
    if (!strides) {
      int64_t numel = 1;
      for (int i = 0; i < n; i++) numel *= shape[i];
      TORCH_CHECK(numel + storage_offset <= storage.numel(), "shape ", sizes, " needs ", numel, " elements, storage has ",
                  storage.numel());
      return distill::wrap(storage.narrow(0, storage_offset, numel).view(sizes).clone());
    }
    int64_t max_off = storage_offset;
    for (int i = 0; i < n; i++) {
      TORCH_CHECK(shape[i] >= 0 && strides[i] >= 0, "negative size or stride");
      if (shape[i] == 0) { max_off = -1; break; }
      max_off += (shape[i] - 1) * strides[i];
    }
    TORCH_CHECK(max_off < storage.numel(), "strided view reads past the end of its storage");
    return distill::wrap(storage.as_strided(sizes, at::IntArrayRef(strides, static_cast<size_t>(n)), storage_offset).contiguous());
  })
}

// Appends a tensor's bytes (C order, CPU) to an open-for-append file; returns the number of bytes written.
DST_API int64_t distill_tensor_append_to_file(Tensor t, const char* path) {
  DST_TRY(-1, {
    at::Tensor c = t->detach().to(at::kCPU).contiguous();
    File f(std::fopen(path, "ab"));
    TORCH_CHECK(f, "cannot open ", path, " for writing");
    size_t n = static_cast<size_t>(c.numel()) * c.element_size();
    TORCH_CHECK(n == 0 || std::fwrite(c.data_ptr(), 1, n, f.get()) == n, "short write to ", path, " (disk full?)");
    TORCH_CHECK(std::fflush(f.get()) == 0, "cannot flush ", path, " (disk full?)");
    return static_cast<int64_t>(n);
  })
}

// The per-thread error message behind DST_TRY: a failing export records it here and the managed side reads it.
#include "common.h"

namespace {
thread_local std::string g_error;
thread_local bool g_has_error = false;
}  // namespace

namespace distill {
void set_error(const char* message) {
  g_error = message ? message : "";
  g_has_error = true;
}
void set_error(const c10::Error& error) { set_error(error.what_without_backtrace()); }
}  // namespace distill

// Returns the message of the last failed call on this thread, or null; the pointer stays valid until the
// next failing call on the same thread. The caller never frees it.
DST_API const char* distill_last_error() { return g_has_error ? g_error.c_str() : nullptr; }
DST_API void distill_clear_error() {
  g_has_error = false;
  g_error.clear();
}

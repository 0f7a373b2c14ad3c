// Image io and the pixel-level augmentations, on OpenCV. Images cross the boundary as contiguous 8-bit
// HWC buffers in RGB order owned by the caller; only decode and encode allocate, and the caller releases
// that memory with distill_buffer_free.
#include "common.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <cstring>

namespace {
cv::Mat view(uint8_t* data, int h, int w, int c) {
  TORCH_CHECK(data && h > 0 && w > 0 && (c == 1 || c == 3 || c == 4), "invalid image buffer ", h, "x", w, "x", c);
  return cv::Mat(h, w, CV_8UC(c), data);
}

// Any decoded image (gray, 16-bit, alpha, BGR) becomes 8-bit RGB.
cv::Mat to_rgb8(const cv::Mat& m) {
  cv::Mat x = m;
  if (x.depth() == CV_16U) x.convertTo(x, CV_8U, 1.0 / 257.0);
  else if (x.depth() == CV_32F || x.depth() == CV_64F) x.convertTo(x, CV_8U, 255.0);
  else if (x.depth() != CV_8U) x.convertTo(x, CV_8U);
  cv::Mat out;
  switch (x.channels()) {
    case 1: cv::cvtColor(x, out, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(x, out, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(x, out, cv::COLOR_BGRA2RGB); break;
    default: TORCH_CHECK(false, "unsupported channel count ", x.channels());
  }
  return out;
}

uint8_t* export_mat(const cv::Mat& m, int* h, int* w) {
  TORCH_CHECK(m.isContinuous(), "internal: non-contiguous image");
  size_t n = m.total() * m.elemSize();
  auto* out = static_cast<uint8_t*>(std::malloc(n));
  TORCH_CHECK(out, "out of memory for a ", m.rows, "x", m.cols, " image");
  std::memcpy(out, m.data, n);
  *h = m.rows;
  *w = m.cols;
  return out;
}
}  // namespace

DST_API void distill_buffer_free(void* p) { std::free(p); }

// Decodes JPEG/PNG/BMP/... bytes into a new 8-bit RGB buffer.
DST_API uint8_t* distill_image_decode(const uint8_t* bytes, int64_t len, int* h, int* w) {
  DST_TRY(nullptr, {
    TORCH_CHECK(bytes && len > 0, "empty image data");
    // libjpeg decodes a truncated JPEG into a grey-padded image with only a warning; refuse it instead.
    if (len >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) {
      bool has_eoi = false;
      for (int64_t i = len - 1; i >= 1 && i >= len - 64; i--) {
        if (bytes[i - 1] == 0xFF && bytes[i] == 0xD9) { has_eoi = true; break; }
      }
      TORCH_CHECK(has_eoi, "truncated JPEG data (no end-of-image marker)");
    }
    cv::Mat raw(1, static_cast<int>(len), CV_8UC1, const_cast<uint8_t*>(bytes));
    cv::Mat m = cv::imdecode(raw, cv::IMREAD_UNCHANGED);
    TORCH_CHECK(!m.empty() && m.rows > 0 && m.cols > 0, "cannot decode image (corrupt, truncated or unknown format)");
    return export_mat(to_rgb8(m), h, w);
  })
}

// format: 0 PNG, 1 JPEG (quality 0-100). Input is RGB (or gray with c = 1).
DST_API uint8_t* distill_image_encode(const uint8_t* img, int h, int w, int c, int format, int quality, int64_t* len) {
  DST_TRY(nullptr, {
    cv::Mat m = view(const_cast<uint8_t*>(img), h, w, c), bgr;
    if (c == 3) cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
    else if (c == 4) cv::cvtColor(m, bgr, cv::COLOR_RGBA2BGRA);
    else bgr = m;
    std::vector<uchar> buf;
    std::vector<int> params;
    if (format == 1) params = {cv::IMWRITE_JPEG_QUALITY, quality};
    else params = {cv::IMWRITE_PNG_COMPRESSION, 3};
    TORCH_CHECK(cv::imencode(format == 1 ? ".jpg" : ".png", bgr, buf, params), "image encoding failed");
    auto* out = static_cast<uint8_t*>(std::malloc(buf.size()));
    TORCH_CHECK(out, "out of memory");
    std::memcpy(out, buf.data(), buf.size());
    *len = static_cast<int64_t>(buf.size());
    return out;
  })
}

// dst (oh x ow x c) = src warped by the 2x3 matrix m mapping source to destination pixels (cv::warpAffine's
// convention); outside pixels are filled with `border`. interp: 0 nearest, 1 bilinear.
DST_API int distill_image_warp_affine(const uint8_t* src, int h, int w, int c, const double* m, uint8_t* dst, int oh,
                                      int ow, int interp, int border) {
  DST_STATUS({
    cv::Mat s = view(const_cast<uint8_t*>(src), h, w, c);
    cv::Mat d = view(dst, oh, ow, c);
    cv::Mat mat(2, 3, CV_64F, const_cast<double*>(m));
    cv::warpAffine(s, d, mat, cv::Size(ow, oh), interp == 0 ? cv::INTER_NEAREST : cv::INTER_LINEAR,
                   cv::BORDER_CONSTANT, cv::Scalar::all(border));
  })
}
DST_API int distill_image_resize(const uint8_t* src, int h, int w, int c, uint8_t* dst, int oh, int ow, int interp) {
  DST_STATUS({
    cv::Mat d = view(dst, oh, ow, c);
    cv::resize(view(const_cast<uint8_t*>(src), h, w, c), d, cv::Size(ow, oh), 0, 0,
               interp == 0 ? cv::INTER_NEAREST : interp == 2 ? cv::INTER_AREA : cv::INTER_LINEAR);
  })
}
// code: 1 horizontal, 0 vertical, -1 both (cv::flip's convention).
DST_API int distill_image_flip(const uint8_t* src, int h, int w, int c, uint8_t* dst, int code) {
  DST_STATUS({
    cv::Mat d = view(dst, h, w, c);
    cv::flip(view(const_cast<uint8_t*>(src), h, w, c), d, code);
  })
}
// In place: hue += dh (OpenCV 0..180 hue units, wrapping), saturation += ds, value += dv (clipped to 0..255).
DST_API int distill_image_hsv_shift(uint8_t* img, int h, int w, int dh, int ds, int dv) {
  DST_STATUS({
    cv::Mat m = view(img, h, w, 3), hsv;
    cv::cvtColor(m, hsv, cv::COLOR_RGB2HSV);
    for (int y = 0; y < h; y++) {
      auto* p = hsv.ptr<uint8_t>(y);
      for (int x = 0; x < w; x++, p += 3) {
        int hh = (p[0] + dh) % 180;
        p[0] = static_cast<uint8_t>(hh < 0 ? hh + 180 : hh);
        p[1] = static_cast<uint8_t>(std::min(255, std::max(0, p[1] + ds)));
        p[2] = static_cast<uint8_t>(std::min(255, std::max(0, p[2] + dv)));
      }
    }
    cv::cvtColor(hsv, m, cv::COLOR_HSV2RGB);
  })
}
// In place box blur (k x k) or median blur (k odd).
DST_API int distill_image_blur(uint8_t* img, int h, int w, int c, int k, bool median) {
  DST_STATUS({
    cv::Mat m = view(img, h, w, c);
    TORCH_CHECK(k >= 1, "blur kernel must be positive");
    if (median) {
      TORCH_CHECK(k % 2 == 1, "median blur kernel must be odd, got ", k);
      cv::Mat tmp;
      cv::medianBlur(m, tmp, k);
      tmp.copyTo(m);
    } else {
      cv::blur(m, m, cv::Size(k, k));
    }
  })
}
DST_API int distill_image_gaussian_blur(uint8_t* img, int h, int w, int c, int k, double sigma) {
  DST_STATUS({
    cv::Mat m = view(img, h, w, c);
    cv::GaussianBlur(m, m, cv::Size(k, k), sigma);
  })
}

// Drawing primitives for overlays and synthetic scenes; colours are RGB(A), coordinates in pixels.
static cv::Scalar colour(const uint8_t* rgb, int c) {
  return c == 1 ? cv::Scalar(rgb[0]) : cv::Scalar(rgb[0], rgb[1], rgb[2], c == 4 ? rgb[3] : 0);
}
DST_API int distill_image_line(uint8_t* img, int h, int w, int c, double x1, double y1, double x2, double y2,
                               const uint8_t* rgb, int thickness, bool antialias) {
  DST_STATUS({
    cv::Mat m = view(img, h, w, c);
    const int shift = 4;  // sub-pixel precision
    cv::line(m, cv::Point(cvRound(x1 * 16), cvRound(y1 * 16)), cv::Point(cvRound(x2 * 16), cvRound(y2 * 16)),
             colour(rgb, c), thickness, antialias ? cv::LINE_AA : cv::LINE_8, shift);
  })
}
DST_API int distill_image_circle(uint8_t* img, int h, int w, int c, double x, double y, double radius,
                                 const uint8_t* rgb, int thickness, bool antialias) {
  DST_STATUS({
    cv::Mat m = view(img, h, w, c);
    cv::circle(m, cv::Point(cvRound(x * 16), cvRound(y * 16)), cvRound(radius * 16), colour(rgb, c),
               thickness < 0 ? cv::FILLED : thickness, antialias ? cv::LINE_AA : cv::LINE_8, 4);
  })
}
DST_API int distill_image_ellipse(uint8_t* img, int h, int w, int c, double x, double y, double ax, double ay,
                                  double angle_deg, const uint8_t* rgb, int thickness, bool antialias) {
  DST_STATUS({
    cv::Mat m = view(img, h, w, c);
    cv::ellipse(m, cv::Point(cvRound(x * 16), cvRound(y * 16)), cv::Size(cvRound(ax * 16), cvRound(ay * 16)), angle_deg,
                0, 360, colour(rgb, c), thickness < 0 ? cv::FILLED : thickness, antialias ? cv::LINE_AA : cv::LINE_8, 4);
  })
}
// Fills a polygon given as n (x, y) pairs.
DST_API int distill_image_fill_poly(uint8_t* img, int h, int w, int c, const double* xy, int n, const uint8_t* rgb,
                                    bool antialias) {
  DST_STATUS({
    cv::Mat m = view(img, h, w, c);
    std::vector<cv::Point> pts;
    for (int i = 0; i < n; i++) pts.emplace_back(cvRound(xy[2 * i] * 16), cvRound(xy[2 * i + 1] * 16));
    const cv::Point* ptr = pts.data();
    cv::fillPoly(m, &ptr, &n, 1, colour(rgb, c), antialias ? cv::LINE_AA : cv::LINE_8, 4);
  })
}
DST_API int distill_image_text(uint8_t* img, int h, int w, int c, const char* text, int x, int y, double scale,
                               const uint8_t* rgb, int thickness) {
  DST_STATUS({
    cv::Mat m = view(img, h, w, c);
    cv::putText(m, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, colour(rgb, c), thickness, cv::LINE_AA);
  })
}

#include "core/core.h"

#include <algorithm>

namespace unmask {

Status Status::with_replaced(std::string_view from, std::string_view to) const {
  Status out = *this;
  if (from.empty()) return out;
  for (size_t at = out.message_.find(from); at != std::string::npos; at = out.message_.find(from, at + to.size())) {
    out.message_.replace(at, from.size(), to);
  }
  return out;
}

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 0;
    case StatusCode::kUsage: return 2;
    case StatusCode::kInput: return 3;
    case StatusCode::kModel: return 4;
    case StatusCode::kInternal: return 5;
  }
  return 5;
}

int http_code_for(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kUsage: return 400;
    case StatusCode::kInput: return 415;
    case StatusCode::kModel: return 500;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

std::string_view status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kUsage: return "usage";
    case StatusCode::kInput: return "input";
    case StatusCode::kModel: return "model";
    case StatusCode::kInternal: return "internal";
  }
  return "internal";
}

double iou(const Box& a, const Box& b) {
  const double x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  const double x1 = std::min(a.x + a.w, b.x + b.w), y1 = std::min(a.y + a.h, b.y + b.h);
  const double inter = (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0.0;
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

std::string_view version() { return UNMASK_VERSION; }

std::string escape_markup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;  // valid in HTML and XML alike
      default: out += c;
    }
  }
  return out;
}

}  // namespace unmask

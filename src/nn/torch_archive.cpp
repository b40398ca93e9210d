#include "nn/torch_archive.h"

#include <bit>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace unmask::nn::detail {
namespace {

static_assert(std::endian::native == std::endian::little, "tensor storages are little-endian floats");

// ZIP record signatures and fixed sizes (PKWARE APPNOTE 4.3).
constexpr uint32_t kLocalSignature = 0x04034b50, kCentralSignature = 0x02014b50, kEocdSignature = 0x06054b50,
                   kZip64EocdSignature = 0x06064b50, kZip64LocatorSignature = 0x07064b50;
constexpr uint64_t kLocalBytes = 30, kCentralBytes = 46, kEocdBytes = 22, kZip64EocdBytes = 56,
                   kZip64LocatorBytes = 20, kMaxCommentBytes = 0xffff;
constexpr uint64_t kSaturated32 = 0xffffffff;  // a 32-bit field whose value is in the zip64 extra field
constexpr uint64_t kZip64ExtraId = 0x0001;

constexpr size_t kMaxMemoEntries = 1 << 20;
constexpr int kMaxModuleDepth = 64;
constexpr size_t kMaxTensorDims = 16;
constexpr uint64_t kMaxSharing = 4;  // the tensors' total size may be this many times the archive's
constexpr uint64_t kFloatBytes = 4;

struct ZipEntry {
  uint64_t method = 0, compressed_bytes = 0, size_bytes = 0, local_offset = 0;
};

// A pickle value. Values live in one arena and refer to each other by index, so the cycles a
// hostile pickle can build (a list appended to itself) cost nothing to free.
enum class Kind : uint8_t { kNone, kBool, kInt, kString, kGlobal, kTuple, kList, kDict, kObject, kStorage, kTensor, kOpaque };

struct Value {
  Kind kind = Kind::kNone;
  int64_t number = 0;                  // int, bool; storage: element count; tensor: storage offset
  std::string text;                    // string; global: "module name"; object: class; storage: key
  std::vector<uint32_t> items;         // tuple, list; dict: key, value, ...; object: state; tensor: storage
  std::vector<int64_t> shape, stride;  // tensor
  bool float32 = false;                // storage of 4-byte floats
};

// Little-endian unsigned integer of n_bytes at `offset` of `b`. Precondition: in range.
uint64_t le(std::string_view b, uint64_t offset, uint64_t n_bytes) {
  uint64_t v = 0;
  for (uint64_t i = 0; i < n_bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(b[offset + i])) << (8 * i);
  return v;
}

class ArchiveReader {
 public:
  ArchiveReader(std::string_view bytes, std::string_view what) : bytes_(bytes), what_(what) {}

  Result<std::map<std::string, ArchiveTensor>> read() {
    UNMASK_RETURN_IF_ERROR(read_directory());
    std::string pickle_name;  // "<dir>/data.pkl", dir being a top-level directory
    for (const auto& [name, entry] : entries_) {
      const size_t slash = name.find('/');
      if (slash != std::string::npos && name.substr(slash) == "/data.pkl") pickle_name = name;
    }
    if (pickle_name.empty()) return fail("missing entry <dir>/data.pkl (not a LibTorch archive)");
    prefix_ = pickle_name.substr(0, pickle_name.find('/') + 1);
    auto pickle = entry(pickle_name, "");
    if (!pickle.ok()) return pickle.status();
    uint32_t root = 0;
    UNMASK_RETURN_IF_ERROR(unpickle(*pickle, root));
    if (kind(root) != Kind::kObject) return fail("data.pkl: the root is not a module");
    UNMASK_RETURN_IF_ERROR(walk(root, "", 0));
    return std::move(tensors_);
  }

 private:
  Status fail(const std::string& why) const { return Status::model(what_, why); }
  bool in_range(uint64_t offset, uint64_t n_bytes) const {
    return offset <= bytes_.size() && bytes_.size() - offset >= n_bytes;
  }
  uint64_t le(uint64_t offset, uint64_t n_bytes) const { return detail::le(bytes_, offset, n_bytes); }

  // ---- ZIP: the central directory, and stored entries ---------------------------------------

  Status read_directory() {
    if (bytes_.size() < kEocdBytes) return fail("not a zip archive (" + std::to_string(bytes_.size()) + " bytes)");
    const uint64_t last = bytes_.size() - kEocdBytes, lowest = last > kMaxCommentBytes ? last - kMaxCommentBytes : 0;
    uint64_t eocd = last + 1;
    for (uint64_t pos = last + 1; pos-- > lowest && eocd > last;) {
      if (le(pos, 4) == kEocdSignature) eocd = pos;
    }
    if (eocd > last) return fail("not a zip archive (no end of central directory record)");
    uint64_t n_entries = le(eocd + 10, 2), dir_bytes = le(eocd + 12, 4), dir_offset = le(eocd + 16, 4);
    if (eocd >= kZip64LocatorBytes && le(eocd - kZip64LocatorBytes, 4) == kZip64LocatorSignature) {
      const uint64_t z = le(eocd - kZip64LocatorBytes + 8, 8);
      if (!in_range(z, kZip64EocdBytes) || le(z, 4) != kZip64EocdSignature) {
        return fail("bad zip64 end of central directory record");
      }
      n_entries = le(z + 32, 8), dir_bytes = le(z + 40, 8), dir_offset = le(z + 48, 8);
    } else if (n_entries == 0xffff || dir_bytes == kSaturated32 || dir_offset == kSaturated32) {
      return fail("zip64 archive without a zip64 locator");
    }
    if (!in_range(dir_offset, dir_bytes)) return fail("central directory out of bounds (truncated archive?)");
    const uint64_t end = dir_offset + dir_bytes;
    uint64_t pos = dir_offset;
    for (uint64_t i = 0; i < n_entries; ++i) {  // each entry takes >= kCentralBytes: bounded by dir_bytes
      auto bad = [&](const char* part) { return fail("bad central directory entry " + std::to_string(i) + part); };
      if (end - pos < kCentralBytes || le(pos, 4) != kCentralSignature) return bad("");
      const uint64_t name_bytes = le(pos + 28, 2), extra_bytes = le(pos + 30, 2), comment_bytes = le(pos + 32, 2);
      if (end - pos - kCentralBytes < name_bytes + extra_bytes + comment_bytes) return bad("");
      ZipEntry e{le(pos + 10, 2), le(pos + 20, 4), le(pos + 24, 4), le(pos + 42, 4)};
      for (uint64_t x = pos + kCentralBytes + name_bytes, x_end = x + extra_bytes; x_end - x >= 4;) {
        const uint64_t id = le(x, 2), size = le(x + 2, 2), data = x + 4;  // extra field: id, size, data
        if (x_end - data < size) return bad(" (extra field)");
        uint64_t f = data;  // zip64: the saturated fields in this order
        for (uint64_t* field : {&e.size_bytes, &e.compressed_bytes, &e.local_offset}) {
          if (id != kZip64ExtraId || *field != kSaturated32) continue;
          if (data + size - f < 8) return bad(" (zip64 extra field)");
          *field = le(f, 8);
          f += 8;
        }
        x = data + size;
      }
      entries_.emplace(std::string(bytes_.substr(pos + kCentralBytes, name_bytes)), e);
      pos += kCentralBytes + name_bytes + extra_bytes + comment_bytes;
    }
    return Status::ok();
  }

  // The bytes of a stored (uncompressed) entry. The data starts after the LOCAL header's name and
  // extra field (LibTorch pads the local extra field to align the data).
  Result<std::string_view> entry(const std::string& name, const std::string& purpose) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) return fail("missing entry " + name + purpose);
    const ZipEntry& e = it->second;
    if (e.method != 0 || e.compressed_bytes != e.size_bytes) {
      return fail("entry " + name + " is compressed (method " + std::to_string(e.method) + "); only stored entries can be read");
    }
    if (!in_range(e.local_offset, kLocalBytes) || le(e.local_offset, 4) != kLocalSignature) {
      return fail("bad local header of entry " + name);
    }
    const uint64_t start = e.local_offset + kLocalBytes + le(e.local_offset + 26, 2) + le(e.local_offset + 28, 2);
    if (!in_range(start, e.size_bytes)) return fail("truncated entry " + name);
    return bytes_.substr(start, e.size_bytes);
  }

  // ---- pickle -------------------------------------------------------------------------------

  Kind kind(uint32_t v) const { return values_[v].kind; }
  void push(Value v) {
    values_.push_back(std::move(v));
    stack_.push_back(static_cast<uint32_t>(values_.size() - 1));
  }
  void push(Kind kind, int64_t number = 0, std::string text = {}, std::vector<uint32_t> items = {}) {
    Value v;
    v.kind = kind, v.number = number, v.text = std::move(text), v.items = std::move(items);
    push(std::move(v));
  }
  // Only what is above the innermost mark can be popped, as in CPython.
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  bool pop(uint32_t& out) {
    if (stack_.size() <= floor()) return false;
    out = stack_.back();
    stack_.pop_back();
    return true;
  }
  // The top n values (n > 0), or everything above the innermost mark (n == 0, the mark popped).
  bool pop_items(size_t n, std::vector<uint32_t>& items) {
    if (n == 0 ? marks_.empty() : stack_.size() - floor() < n) return false;
    const size_t from = n == 0 ? marks_.back() : stack_.size() - n;
    items.assign(stack_.begin() + static_cast<std::ptrdiff_t>(from), stack_.end());
    stack_.resize(from);
    if (n == 0) marks_.pop_back();
    return true;
  }
  bool int_tuple(uint32_t tuple, std::vector<int64_t>& out) const {
    if (kind(tuple) != Kind::kTuple || values_[tuple].items.size() > kMaxTensorDims) return false;
    for (uint32_t v : values_[tuple].items) {
      if (kind(v) != Kind::kInt) return false;
      out.push_back(values_[v].number);
    }
    return true;
  }

  // Runs the pickle to its STOP; `root` is the value it returns.
  Status unpickle(std::string_view code, uint32_t& root) {
    size_t pos = 0, op_offset = 0;
    auto bad = [&](const std::string& why) { return fail("data.pkl: " + why + " at offset " + std::to_string(op_offset)); };
    std::string_view s;
    auto take = [&](uint64_t n) {
      if (code.size() - pos < n) return false;
      s = code.substr(pos, n), pos += n;
      return true;
    };
    uint64_t n = 0;
    auto arg = [&](uint64_t n_bytes) { return take(n_bytes) && (n = detail::le(s, 0, n_bytes), true); };
    auto line = [&](std::string& out) {
      const size_t nl = code.find('\n', pos);
      if (nl == std::string_view::npos) return false;
      out.append(code.substr(pos, nl - pos)), pos = nl + 1;
      return true;
    };
    const std::string truncated = "truncated", underflow = "stack underflow";
    std::vector<uint32_t> items;
    uint32_t a = 0, b = 0;
    while (pos < code.size()) {
      op_offset = pos;
      const uint8_t op = static_cast<uint8_t>(code[pos++]);
      switch (op) {
        case 0x80: if (!arg(1)) return bad(truncated); break;  // PROTO
        case 0x95: if (!arg(8)) return bad(truncated); break;  // FRAME: frames need no handling
        case 'c': {                                            // GLOBAL
          std::string name;
          if (!line(name) || !line(name += ' ')) return bad(truncated);
          push(Kind::kGlobal, 0, std::move(name));
          break;
        }
        case 0x93:  // STACK_GLOBAL
          if (!pop(b) || !pop(a) || kind(a) != Kind::kString || kind(b) != Kind::kString) return bad("bad STACK_GLOBAL");
          push(Kind::kGlobal, 0, values_[a].text + ' ' + values_[b].text);
          break;
        case 'q': case 'r': case 0x94:  // BINPUT, LONG_BINPUT, MEMOIZE
          if (op == 0x94) n = memo_.size(); else if (!arg(op == 'q' ? 1 : 4)) return bad(truncated);
          if (stack_.size() <= floor()) return bad("memo put on an empty stack");
          if (memo_.size() >= kMaxMemoEntries && !memo_.count(n)) return bad("too many memo entries");
          memo_[n] = stack_.back();
          break;
        case 'h': case 'j': {  // BINGET, LONG_BINGET
          if (!arg(op == 'h' ? 1 : 4)) return bad(truncated);
          auto it = memo_.find(n);
          if (it == memo_.end()) return bad("memo entry " + std::to_string(n) + " missing");
          stack_.push_back(it->second);
          break;
        }
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case ')': push(Kind::kTuple); break;               // EMPTY_TUPLE
        case ']': push(Kind::kList); break;                // EMPTY_LIST
        case '}': push(Kind::kDict); break;                // EMPTY_DICT
        case 't': case 0x85: case 0x86: case 0x87:         // TUPLE, TUPLE1, TUPLE2, TUPLE3
          if (!pop_items(op == 't' ? 0 : op - 0x84, items)) return bad(op == 't' ? "TUPLE without MARK" : underflow);
          push(Kind::kTuple, 0, {}, items);
          break;
        case 'a': case 'e': case 's': case 'u': {  // APPEND, APPENDS, SETITEM, SETITEMS
          const bool list = op == 'a' || op == 'e';
          if (!pop_items(op == 'a' ? 1 : op == 's' ? 2 : 0, items)) return bad(op == 'e' || op == 'u' ? "no MARK" : underflow);
          if (stack_.size() <= floor() || kind(stack_.back()) != (list ? Kind::kList : Kind::kDict) || (!list && items.size() % 2)) {
            return bad(list ? "APPEND to a non-list" : "SETITEM to a non-dict");
          }
          auto& target = values_[stack_.back()].items;
          target.insert(target.end(), items.begin(), items.end());
          break;
        }
        case 'X': case 0x8c: case 0x8d: case 'U': case 'T':  // BINUNICODE, SHORT_, ..8, SHORT_BINSTRING, BINSTRING
          if (!arg(op == 0x8c || op == 'U' ? 1 : op == 0x8d ? 8 : 4) || !take(n)) return bad(truncated);
          push(Kind::kString, 0, std::string(s));
          break;
        case 'K': case 'M': case 'J':  // BININT1, BININT2 (unsigned), BININT (signed)
          if (!arg(op == 'K' ? 1 : op == 'M' ? 2 : 4)) return bad(truncated);
          push(Kind::kInt, op == 'J' ? static_cast<int32_t>(static_cast<uint32_t>(n)) : static_cast<int64_t>(n));
          break;
        case 0x8a: {  // LONG1: little-endian two's complement, up to 8 bytes here
          if (!arg(1) || n > 8 || !take(n)) return bad("bad LONG1");
          uint64_t v = detail::le(s, 0, n);
          if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
          push(Kind::kInt, static_cast<int64_t>(v));
          break;
        }
        case 'N': push(Kind::kNone); break;                                                      // NONE
        case 0x88: case 0x89: push(Kind::kBool, op == 0x88); break;                              // NEWTRUE, NEWFALSE
        case 'G': if (!take(8)) return bad(truncated); push(Kind::kOpaque); break;               // BINFLOAT
        case 'Q': {  // BINPERSID: ('storage', storage type, key, device, element count)
          if (!pop(a)) return bad(underflow);
          const auto& pid = values_[a].items;
          if (kind(a) != Kind::kTuple || pid.size() != 5 || kind(pid[0]) != Kind::kString ||
              values_[pid[0]].text != "storage" || kind(pid[1]) != Kind::kGlobal || kind(pid[2]) != Kind::kString ||
              kind(pid[4]) != Kind::kInt) {
            return bad("unsupported persistent id");
          }
          Value v;
          v.kind = Kind::kStorage, v.number = values_[pid[4]].number, v.text = values_[pid[2]].text;
          v.float32 = values_[pid[1]].text == "torch FloatStorage";
          push(std::move(v));
          break;
        }
        case 0x81:  // NEWOBJ: an instance of a class named by a global (its arguments are ignored)
          if (!pop(b) || !pop(a) || kind(a) != Kind::kGlobal) return bad("bad NEWOBJ");
          push(Kind::kObject, 0, values_[a].text);
          break;
        case 'R': {  // REDUCE: the two callables a module archive uses; anything else is opaque
          if (!pop(b) || !pop(a) || kind(a) != Kind::kGlobal || kind(b) != Kind::kTuple) return bad("bad REDUCE");
          const std::vector<uint32_t>& args = values_[b].items;  // valid until the next push
          if (values_[a].text == "collections OrderedDict") {
            push(Kind::kDict);
          } else if (values_[a].text == "torch._utils _rebuild_tensor_v2") {  // storage, offset, shape, stride, ...
            Value t;
            t.kind = Kind::kTensor;
            if (args.size() < 4 || kind(args[0]) != Kind::kStorage || kind(args[1]) != Kind::kInt ||
                !int_tuple(args[2], t.shape) || !int_tuple(args[3], t.stride)) {
              return bad("bad arguments to _rebuild_tensor_v2 (or more than " + std::to_string(kMaxTensorDims) + " dims)");
            }
            t.number = values_[args[1]].number, t.items = {args[0]};
            push(std::move(t));
          } else {
            push(Kind::kOpaque);
          }
          break;
        }
        case 'b':  // BUILD: an object's state; ignored on anything else
          if (!pop(b) || stack_.size() <= floor()) return bad(underflow);
          if (kind(stack_.back()) == Kind::kObject) values_[stack_.back()].items = {b};
          break;
        case '.':  // STOP
          if (!pop(root)) return bad("STOP on an empty stack");
          return Status::ok();
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          return bad(std::string("unsupported pickle opcode 0x") + kHex[op >> 4] + kHex[op & 15]);
        }
      }
    }
    return fail("data.pkl: truncated (no STOP)");
  }

  // ---- modules and tensors ------------------------------------------------------------------

  // Adds the tensors of module `object` and of its submodules, named under `prefix`.
  Status walk(uint32_t object, const std::string& prefix, int depth) {
    if (depth > kMaxModuleDepth) return fail("modules nested deeper than " + std::to_string(kMaxModuleDepth));
    if (!visited_.insert(object).second) return fail("module '" + prefix + "' reached twice (shared or cyclic modules)");
    if (values_[object].items.empty() || kind(values_[object].items[0]) != Kind::kDict) return Status::ok();
    const std::vector<uint32_t>& attributes = values_[values_[object].items[0]].items;  // name, value, ...
    for (size_t i = 0; i + 1 < attributes.size(); i += 2) {
      if (kind(attributes[i]) != Kind::kString) continue;
      const std::string name = prefix + values_[attributes[i]].text;
      const uint32_t value = attributes[i + 1];
      if (kind(value) == Kind::kObject) UNMASK_RETURN_IF_ERROR(walk(value, name + ".", depth + 1));
      if (kind(value) == Kind::kTensor) UNMASK_RETURN_IF_ERROR(read_tensor(values_[value], name));
    }
    return Status::ok();
  }

  Status read_tensor(const Value& t, const std::string& name) {
    const Value& storage = values_[t.items[0]];
    if (!storage.float32) return Status::ok();  // int64 step counters and other dtypes
    if (t.stride.size() != t.shape.size()) return fail("tensor " + name + " has a stride of another rank than its shape");
    int64_t numel = 1;
    for (int64_t dim : t.shape) {
      if (dim < 0 || __builtin_mul_overflow(numel, dim, &numel)) return fail("tensor " + name + " has a bad shape");
    }
    int64_t expected_stride = 1;  // row-major; a size-1 dimension's stride does not matter
    for (size_t d = t.shape.size(); d-- > 0 && numel > 0;) {
      if (t.shape[d] != 1 && t.stride[d] != expected_stride) return fail("non-contiguous tensor " + name);
      expected_stride *= t.shape[d];  // <= numel: no overflow
    }
    auto data = entry(prefix_ + "data/" + storage.text, " for tensor " + name);
    if (!data.ok()) return data.status();
    const int64_t storage_floats = storage.number, offset = t.number;
    if (storage_floats < 0 || offset < 0 || offset > storage_floats || numel > storage_floats - offset) {
      return fail("tensor " + name + " extends past its storage");
    }
    if (static_cast<uint64_t>(storage_floats) > data->size() / kFloatBytes) return fail("truncated data for tensor " + name);
    total_bytes_ += static_cast<uint64_t>(numel) * kFloatBytes;  // numel * 4 <= data->size(): no overflow
    if (total_bytes_ > kMaxSharing * bytes_.size()) return fail("tensors larger than the archive (shared storages)");
    ArchiveTensor out;
    out.shape = t.shape;
    out.values.resize(static_cast<size_t>(numel));
    if (numel > 0) std::memcpy(out.values.data(), data->data() + offset * kFloatBytes, numel * kFloatBytes);
    tensors_.insert_or_assign(name, std::move(out));
    return Status::ok();
  }

  std::string_view bytes_, what_;
  std::map<std::string, ZipEntry> entries_;
  std::string prefix_;  // "archive/": the directory of data.pkl
  std::vector<Value> values_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;  // the stack's size at each open MARK
  std::unordered_map<uint64_t, uint32_t> memo_;
  std::unordered_set<uint32_t> visited_;
  uint64_t total_bytes_ = 0;
  std::map<std::string, ArchiveTensor> tensors_;
};

}  // namespace

Result<std::map<std::string, ArchiveTensor>> read_torch_archive(std::string_view bytes, std::string_view what) {
  return ArchiveReader(bytes, what).read();
}

}  // namespace unmask::nn::detail

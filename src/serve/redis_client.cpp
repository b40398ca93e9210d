#include "serve/redis_client.h"

#include <hiredis.h>

#include <charconv>

namespace unmask::serve {
namespace {

timeval to_timeval(double s) {
  timeval tv{};
  tv.tv_sec = static_cast<long>(s);
  tv.tv_usec = static_cast<long>((s - static_cast<double>(tv.tv_sec)) * 1e6);
  return tv;
}

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

std::string describe(const RedisAddress& a) { return "redis://" + a.host + ":" + std::to_string(a.port); }

}  // namespace

Result<RedisAddress> parse_redis_url(const std::string& url) {
  const std::string prefix = "redis://";
  auto bad = [&](std::string_view why) { return Status::usage("--queue " + url, why); };
  if (url.rfind(prefix, 0) != 0) return bad("expected redis://HOST[:PORT][/DB]");
  std::string rest = url.substr(prefix.size());
  RedisAddress a;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), a.db);
      if (ec != std::errc() || p != db.data() + db.size() || a.db < 0) return bad("the database must be a number");
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
    if (ec != std::errc() || p != port.data() + port.size() || a.port <= 0 || a.port > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
  }
  if (rest.empty()) return bad("no host");
  a.host = rest;
  return a;
}

RedisClient::RedisClient(void* context, RedisAddress address, double timeout_s)
    : context_(context), address_(std::move(address)), timeout_s_(timeout_s) {}

RedisClient::~RedisClient() {
  if (context_) redisFree(static_cast<redisContext*>(context_));
}

Result<std::unique_ptr<RedisClient>> RedisClient::connect(const RedisAddress& address, double timeout_s) {
  redisContext* c = redisConnectWithTimeout(address.host.c_str(), address.port, to_timeval(timeout_s));
  if (c == nullptr) return Status::input(describe(address), "cannot connect: out of memory");
  if (c->err) {
    std::string why = c->errstr;
    redisFree(c);
    return Status::input(describe(address), "cannot connect: " + why);
  }
  redisSetTimeout(c, to_timeval(timeout_s));
  std::unique_ptr<RedisClient> client(new RedisClient(c, address, timeout_s));
  auto ping = client->command({"PING"});
  if (!ping.ok()) return Status::input(describe(address), "no Redis answer: " + ping.status().message());
  if (address.db != 0) {
    const std::string db = std::to_string(address.db);
    auto sel = client->command({"SELECT", db});
    if (!sel.ok()) return Status::input(describe(address), "cannot select database " + db);
  }
  return client;
}

Result<RedisReply> RedisClient::command(const std::vector<std::string_view>& args) {
  if (broken_) return Status::input(describe(address_), "connection lost");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* c = static_cast<redisContext*>(context_);
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (r == nullptr) {
    broken_ = true;
    return Status::input(describe(address_), std::string("connection lost: ") + (c->err ? c->errstr : "no reply"));
  }
  if (r->type == REDIS_REPLY_ERROR) {
    std::string why(r->str, r->len);
    freeReplyObject(r);
    return Status::internal("redis " + std::string(args.empty() ? "" : args[0]), why);
  }
  RedisReply out = convert(r);
  freeReplyObject(r);
  return out;
}

Result<RedisReply> RedisClient::blocking_command(const std::vector<std::string_view>& args, double block_s) {
  auto* c = static_cast<redisContext*>(context_);
  redisSetTimeout(c, to_timeval(block_s + timeout_s_));
  auto r = command(args);
  if (!broken_) redisSetTimeout(c, to_timeval(timeout_s_));
  return r;
}

}  // namespace unmask::serve

// A small synchronous Redis client (hiredis inside) for the job queue: binary-safe commands,
// replies as plain values, clear errors when the server is unreachable. One connection per
// thread: a RedisClient is not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace unmask::serve {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
};

// "redis://HOST[:PORT][/DB]" (PORT 6379 and DB 0 by default). Usage error when malformed.
Result<RedisAddress> parse_redis_url(const std::string& url);

struct RedisReply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus };
  Type type = Type::kNil;
  std::string str;       // kString, kStatus
  long long integer = 0; // kInteger
  std::vector<RedisReply> elements;  // kArray
  bool is_nil() const { return type == Type::kNil; }
};

class RedisClient {
 public:
  // Connects (and SELECTs the db). Input error naming the address when it cannot.
  static Result<std::unique_ptr<RedisClient>> connect(const RedisAddress& address, double timeout_s = 5.0);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command, e.g. command({"RPUSH", "list", bytes}). A Redis error reply or a broken
  // connection is an internal/input error; after a broken connection, reconnect.
  Result<RedisReply> command(const std::vector<std::string_view>& args);
  // For blocking commands (BLPOP with a timeout of t s): the socket timeout is raised above t.
  Result<RedisReply> blocking_command(const std::vector<std::string_view>& args, double block_s);
  bool broken() const { return broken_; }

 private:
  RedisClient(void* context, RedisAddress address, double timeout_s);
  void* context_;  // redisContext*
  RedisAddress address_;
  double timeout_s_;
  bool broken_ = false;
};

}  // namespace unmask::serve

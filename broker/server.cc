#include "broker/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>

#include "absl/strings/str_cat.h"
#include "broker/base/log.h"
#include "broker/net/listener.h"
#include "broker/shard/shard.h"

namespace telemq {
namespace {

// Mail rings between two shards hold this many items (48 bytes each) before
// a sender spills into its local outbox: 384 KiB per ordered pair of shards.
constexpr size_t kMailRingCapacity = 8192;

absl::Status PrepareDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory '", dir, "': ", ec.message()));
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("data directory '", dir, "' is not writable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WritePortFile(const std::string& path, uint16_t port) {
  // Written to a temporary name and renamed, so a reader never sees a
  // half-written file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write port file '", tmp, "'"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot rename '", tmp, "' to '", path, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

session::EngineOptions EngineOptionsFrom(const BrokerConfig& c) {
  session::EngineOptions o;
  o.max_packet_size = c.max_packet_size;
  o.max_inflight = c.max_inflight;
  o.max_queued_messages = c.max_queued_messages;
  o.max_queued_bytes = c.max_queued_bytes;
  o.max_output_bytes = c.max_output_bytes;
  o.max_keepalive = static_cast<uint16_t>(c.max_keepalive);
  o.receive_maximum = static_cast<uint16_t>(c.receive_maximum);
  o.session_expiry_max = c.session_expiry_max;
  return o;
}

}  // namespace

Broker::Broker(BrokerConfig config) : config_(std::move(config)) {}

Broker::~Broker() {
  Stop();
  Wait();
}

absl::Status Broker::Start() {
  shard_count_ = config_.threads > 0 ? static_cast<uint32_t>(config_.threads)
                                     : std::max(1u, std::thread::hardware_concurrency());
  if (absl::Status s = PrepareDataDir(config_.data_dir); !s.ok()) return s;

  // Listeners first, on this thread, so an address in use fails Start
  // before any thread exists. Shard 0 may bind port 0; the others join the
  // port it got.
  std::vector<int> listeners;
  auto close_all = [&] {
    for (int fd : listeners) close(fd);
  };
  for (uint32_t i = 0; i < shard_count_; ++i) {
    absl::StatusOr<int> fd =
        net::OpenListener(config_.host, i == 0 ? config_.port : port_, /*reuse_port=*/true);
    if (!fd.ok()) {
      close_all();
      return fd.status();
    }
    listeners.push_back(*fd);
    if (i == 0) {
      absl::StatusOr<uint16_t> port = net::BoundPort(*fd);
      if (!port.ok()) {
        close_all();
        return port.status();
      }
      port_ = *port;
    }
  }

  group_ =
      std::make_unique<shard::ShardGroup>(shard_count_, kMailRingCapacity, config_.max_connections);
  std::vector<std::promise<absl::Status>> ready(shard_count_);
  for (uint32_t i = 0; i < shard_count_; ++i) {
    shard::ShardOptions options;
    options.index = i;
    options.engine = EngineOptionsFrom(config_);
    options.listen_fd = listeners[i];
    shards_.push_back(std::make_unique<shard::Shard>(options, group_.get()));
  }
  for (uint32_t i = 0; i < shard_count_; ++i) {
    threads_.emplace_back([this, i, &ready] {
      // The ring must be created on the thread that submits to it
      // (IORING_SETUP_SINGLE_ISSUER).
      absl::Status s = shards_[i]->Init();
      const bool ok = s.ok();
      ready[i].set_value(std::move(s));
      if (ok) shards_[i]->Run();
    });
  }
  absl::Status first_error;
  for (uint32_t i = 0; i < shard_count_; ++i) {
    absl::Status s = ready[i].get_future().get();
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  if (!first_error.ok()) {
    Stop();
    Wait();
    return first_error;
  }
  io_features_ = shards_[0]->ring().features().ToString();
  if (!config_.port_file.empty()) {
    if (absl::Status s = WritePortFile(config_.port_file, port_); !s.ok()) {
      Stop();
      Wait();
      return s;
    }
  }
  return absl::OkStatus();
}

void Broker::Stop() {
  if (group_ == nullptr) return;
  group_->stopping().store(true);
  for (uint32_t i = 0; i < group_->size(); ++i) group_->Wake(i);
}

void Broker::Wait() {
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  shards_.clear();
  group_.reset();
}

}  // namespace telemq

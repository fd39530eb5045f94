#include "broker/server.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/base/log.h"
#include "broker/base/message_pool.h"
#include "broker/net/listener.h"
#include "broker/persist/recovery.h"
#include "broker/persist/shard_log.h"
#include "broker/shard/ownership.h"
#include "broker/shard/shard.h"
#include "protocol/common/errno_text.h"
#include "storage/env.h"
#include "storage/partition.h"

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
        absl::StrCat("data directory '", dir, "' is not writable: ", ErrnoText(errno)));
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
        absl::StrCat("cannot rename '", tmp, "' to '", path, "': ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

std::string PartitionDir(const std::string& data_dir, uint32_t k) {
  return absl::StrCat(data_dir, "/p", k);
}

// Partition directories ("p0", "p1", ...) left by earlier runs: one past
// the highest index found, 0 if none.
uint32_t ExistingPartitions(const std::string& data_dir) {
  uint32_t count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    const std::string name = entry.path().filename().string();
    uint32_t k;
    if (name.size() > 1 && name[0] == 'p' && entry.is_directory() &&
        absl::SimpleAtoi(name.substr(1), &k) && k < 64) {
      count = std::max(count, k + 1);
    }
  }
  return count;
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
  o.replay_max_messages = c.replay_max_messages;
  o.max_subscriptions = c.max_subscriptions;
  return o;
}

}  // namespace

Broker::Broker(BrokerConfig config) : config_(std::move(config)) {}

Broker::~Broker() {
  Stop();
  Wait();
}

absl::Status Broker::OpenLog(persist::RecoveredState* recovered) {
  const std::string lock_path = config_.data_dir + "/LOCK";
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open '", lock_path, "': ", ErrnoText(errno)));
  }
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("data directory '", config_.data_dir,
                                                      "' is in use by another telemq process"));
  }
  persist::Durability durability;
  persist::ParseDurability(config_.durability, &durability);
  persist::LogOptions log_options{
      .durability = durability,
      .batch_interval_ns = int64_t{config_.durability_batch_ms} * 1'000'000,
      .persist_filters = config_.persist_filters,
      .retention_bytes = config_.retention_mb << 20,
      .retention_ns = int64_t{config_.retention_hours} * 3600 * 1'000'000'000};

  const uint32_t count = std::max(shard_count_, ExistingPartitions(config_.data_dir));
  for (uint32_t k = 0; k < count; ++k) {
    log_options.partition_dirs.push_back(PartitionDir(config_.data_dir, k));
  }
  std::vector<std::unique_ptr<storage::Partition>> partitions;
  for (uint32_t k = 0; k < count; ++k) {
    storage::PartitionOptions options;
    options.dir = PartitionDir(config_.data_dir, k);
    options.segment_bytes = uint64_t{config_.segment_mb} << 20;
    options.prepare_segments = true;
    storage::RecoveryReport report;
    auto p = storage::Partition::Open(storage::Env::Posix(), options, &report);
    if (!p.ok()) {
      return absl::Status(p.status().code(),
                          absl::StrCat("cannot open the log partition '", options.dir,
                                       "': ", std::string(p.status().message())));
    }
    if (report.torn_bytes != 0 || !report.quarantined.empty()) {
      TELEMQ_LOG(kWarning, "%s", report.ToString(options.dir));
    } else {
      TELEMQ_LOG(kInfo, "%s", report.ToString(options.dir));
    }
    partitions.push_back(*std::move(p));
  }
  std::vector<storage::Partition*> views;
  views.reserve(partitions.size());
  for (auto& p : partitions) views.push_back(p.get());
  const uint32_t shards = shard_count_;
  absl::StatusOr<persist::RecoveredState> state = persist::Recover(
      views, {.shard_count = shards,
              .owner = [shards](std::string_view id) { return shard::OwnerShardOf(id, shards); },
              .now_ns = absl::ToUnixNanos(absl::Now()),
              .max_queued_messages = config_.max_queued_messages});
  if (!state.ok()) return state.status();
  for (const std::string& e : state->read_errors) {
    TELEMQ_LOG(kError, "recovery could not read the whole log: %s", e);
  }
  *recovered = *std::move(state);
  recovery_summary_ = recovered->Summary();
  for (uint32_t k = 0; k < count; ++k) {
    if (k < shard_count_) {
      logs_.push_back(
          std::make_unique<persist::ShardLog>(k, std::move(partitions[k]), log_options));
    } else {
      extra_partitions_.push_back(std::move(partitions[k]));
    }
  }
  return absl::OkStatus();
}

absl::Status Broker::Start() {
  // The log level is the process's: an embedding application gets the
  // config's from here on, as the binary does.
  LogLevel level;
  if (!ParseLogLevel(config_.log_level, &level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("log level '", config_.log_level, "' is not error, warning, info or debug"));
  }
  SetLogLevel(level);
  shard_count_ = config_.threads > 0 ? static_cast<uint32_t>(config_.threads)
                                     : std::max(1u, std::thread::hardware_concurrency());
  if (absl::Status s = PrepareDataDir(config_.data_dir); !s.ok()) return s;

  // Listeners first, on this thread, so an address in use fails Start
  // before any thread exists. Shard 0 may bind port 0; the others join the
  // port it got.
  //
  // SO_REUSEPORT would also let a second broker of the same user join this
  // port and take a share of the clients; a plain bind first fails when
  // anything listens there.
  if (config_.port != 0) {
    absl::StatusOr<int> probe =
        net::OpenListener(config_.host, config_.port, /*reuse_port=*/false, /*backlog=*/1);
    if (!probe.ok()) return probe.status();
    close(*probe);
  }
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

  // Recovery after the listeners: clients that connect meanwhile wait in
  // the listen backlog and find their sessions restored.
  auto recovered = std::make_unique<persist::RecoveredState>();
  if (absl::Status s = OpenLog(recovered.get()); !s.ok()) {
    close_all();
    Wait();  // releases what OpenLog opened
    return s;
  }
  group_ =
      std::make_unique<shard::ShardGroup>(shard_count_, kMailRingCapacity, config_.max_connections);
  std::vector<std::promise<absl::Status>> ready(shard_count_);
  auto all_initialized = std::make_shared<std::latch>(shard_count_);
  for (uint32_t i = 0; i < shard_count_; ++i) {
    shard::ShardOptions options;
    options.index = i;
    options.engine = EngineOptionsFrom(config_);
    options.listen_fd = listeners[i];
    options.log = logs_[i].get();
    options.maintain_interval_ns = int64_t{config_.retention_check_s} * 1'000'000'000;
    options.busy_wait_ns = int64_t{config_.busy_wait_us} * 1000;
    options.direct_descriptors = config_.direct_descriptors;
    options.recovered = recovered.get();
    shards_.push_back(std::make_unique<shard::Shard>(options, group_.get()));
  }
  for (uint32_t i = 0; i < shard_count_; ++i) {
    threads_.emplace_back([this, i, &ready, all_initialized] {
      // The ring must be created on the thread that submits to it
      // (IORING_SETUP_SINGLE_ISSUER); the messages of this shard come
      // from this thread's pool.
      MessagePool::Scope pool_scope;
      absl::Status s = shards_[i]->Init();
      const bool ok = s.ok();
      ready[i].set_value(std::move(s));
      // No shard runs before every ring exists: a connection handed over
      // in the first turn moves to its owner's ring (MSG_RING).
      all_initialized->arrive_and_wait();
      if (ok) shards_[i]->Run();
    });
  }
  absl::Status first_error;
  for (uint32_t i = 0; i < shard_count_; ++i) {
    absl::Status s = ready[i].get_future().get();
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  recovered.reset();  // every shard has taken its part (Init)
  if (!first_error.ok()) {
    Stop();
    Wait();
    return first_error;
  }
  io_features_ = shards_[0]->ring().features().ToString();
  for (const auto& shard : shards_) direct_slots_ += shard->ring().features().direct_slots;
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
  // After the shards: each flushed and synced its log when it stopped.
  logs_.clear();
  extra_partitions_.clear();
  if (lock_fd_ >= 0) {
    close(lock_fd_);
    lock_fd_ = -1;
  }
}

}  // namespace telemq

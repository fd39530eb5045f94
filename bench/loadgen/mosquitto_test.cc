// Integration: telemq-bench (the real binary) against a real Mosquitto that
// each test starts on a free loopback port and stops at the end. Skipped when
// /usr/sbin/mosquitto is not installed. Every run is short and bounded.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace {

constexpr char kMosquitto[] = "/usr/sbin/mosquitto";

// A port nobody listens on right now: bind port 0, read it back, close.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  return bound ? ntohs(a.sin_port) : 0;  // 0: the broker then fails to start, named
}

std::string TempDir() {
  char tmpl[] = "/tmp/telemq-bench-test-XXXXXX";
  return mkdtemp(tmpl);
}

// Mosquitto on 127.0.0.1:<free port>, killed by the destructor.
class Mosquitto {
 public:
  explicit Mosquitto(const std::string& extra_config = "") : port_(FreePort()), dir_(TempDir()) {
    const std::string conf = dir_ + "/mosquitto.conf";
    std::ofstream(conf) << "listener " << port_ << " 127.0.0.1\n"
                        << "allow_anonymous true\n"
                        << extra_config;
    pid_ = fork();
    if (pid_ == 0) {
      const int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execl(kMosquitto, kMosquitto, "-c", conf.c_str(), nullptr);
      _exit(127);
    }
    // Ready once it accepts a connection (it exits at once on a bad config).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline && !Accepts()) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      poll(nullptr, 0, 5);  // back-off between connection attempts
    }
  }
  ~Mosquitto() { Kill(); }

  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  int pid() const { return pid_; }
  const std::string& dir() const { return dir_; }

 private:
  bool Accepts() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    return ok;
  }

  int port_;
  std::string dir_;
  pid_t pid_ = -1;
};

struct BenchRun {
  int exit_code = -1;
  std::string out, err;
  double seconds = 0;
};

// Runs telemq-bench with `args`; if `on_stderr_line` is given, it sees each
// stderr line (progress lines included) as it arrives.
template <typename F>
BenchRun RunBench(const std::vector<std::string>& args, F on_stderr_line) {
  int out_pipe[2], err_pipe[2];
  EXPECT_EQ(pipe(out_pipe), 0);
  EXPECT_EQ(pipe(err_pipe), 0);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    std::vector<char*> argv{const_cast<char*>(TELEMQ_BENCH_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TELEMQ_BENCH_BINARY, argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  BenchRun r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string line;
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, 60'000) <= 0) break;  // the binary bounds itself; this is a backstop
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? r.out : r.err).append(buf, n);
      if (i == 1) {
        for (ssize_t k = 0; k < n; ++k) {
          if (buf[k] == '\n' || buf[k] == '\r') {
            on_stderr_line(line);
            line.clear();
          } else {
            line += buf[k];
          }
        }
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

BenchRun RunBench(const std::vector<std::string>& args) {
  return RunBench(args, [](const std::string&) {});
}

// The integer after "\"key\": " in the report JSON.
long long JsonInt(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const size_t at = json.find(k);
  if (at == std::string::npos) return -1;
  return std::strtoll(json.c_str() + at + k.size(), nullptr, 10);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class MosquittoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kMosquitto, X_OK) != 0) GTEST_SKIP() << kMosquitto << " is not installed";
  }
};

void ExpectExactDelivery(const std::string& json) {
  const long long sent = JsonInt(json, "sent");
  EXPECT_GT(sent, 0) << json;
  EXPECT_EQ(JsonInt(json, "delivered"), sent) << json;
  EXPECT_EQ(JsonInt(json, "expected"), sent) << json;
  EXPECT_EQ(JsonInt(json, "lost"), 0) << json;
  EXPECT_EQ(JsonInt(json, "duplicates"), 0) << json;
}

TEST_F(MosquittoTest, Qos1AtLowFixedRateDeliversEverySentMessageExactlyOnce) {
  Mosquitto broker;
  ASSERT_TRUE(broker.running());
  const std::string json = broker.dir() + "/report.json";
  BenchRun r =
      RunBench({"--preset=qos1", "--port=" + std::to_string(broker.port()), "--rate=500",
                "--duration=2", "--json=" + json, "--broker-pid=" + std::to_string(broker.pid())});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string j = ReadFile(json);
  ExpectExactDelivery(j);
  EXPECT_EQ(JsonInt(j, "acked"), JsonInt(j, "sent"));
  EXPECT_NEAR(JsonInt(j, "sent"), 1000, 100) << j;  // 500/s for 2 s
  EXPECT_NE(j.find("\"broker\": {"), std::string::npos) << j;
}

TEST_F(MosquittoTest, Qos2Mqtt5FanInDeliversExactlyOnce) {
  Mosquitto broker;
  ASSERT_TRUE(broker.running());
  BenchRun r = RunBench({"--preset=fan-in", "--publishers=10", "--qos=2", "--mqtt=5",
                         "--port=" + std::to_string(broker.port()), "--rate=1000", "--duration=2",
                         "--json=-", "--threads=2"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectExactDelivery(r.out);
}

TEST_F(MosquittoTest, Qos0OpenLoopStaysBoundedAndLosesNothingOnLoopback) {
  Mosquitto broker("set_tcp_nodelay true\n");
  ASSERT_TRUE(broker.running());
  BenchRun r = RunBench({"--port=" + std::to_string(broker.port()), "--duration=2", "--json=-"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectExactDelivery(r.out);
  EXPECT_GT(JsonInt(r.out, "sent"), 10000) << r.out;
}

TEST_F(MosquittoTest, PersistentSessionsReceiveTheirWholeOfflineBacklog) {
  Mosquitto broker("max_queued_messages 100000\n");
  ASSERT_TRUE(broker.running());
  BenchRun r = RunBench({"--preset=backlog", "--backlog=2000",
                         "--port=" + std::to_string(broker.port()), "--duration=5", "--json=-"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JsonInt(r.out, "sent"), 2000);
  EXPECT_EQ(JsonInt(r.out, "delivered"), 4 * 2000) << r.out;
  EXPECT_EQ(JsonInt(r.out, "lost"), 0) << r.out;
}

TEST_F(MosquittoTest, LateSubscribersReceiveEveryRetainedMessage) {
  Mosquitto broker;
  ASSERT_TRUE(broker.running());
  BenchRun r = RunBench(
      {"--preset=retained", "--port=" + std::to_string(broker.port()), "--duration=5", "--json=-"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JsonInt(r.out, "expected"), 400) << r.out;  // 100 topics x 4 subscribers
  EXPECT_EQ(JsonInt(r.out, "lost"), 0) << r.out;
  EXPECT_EQ(JsonInt(r.out, "retained_flagged"), 400) << r.out;
}

TEST_F(MosquittoTest, ConnectionStormCountsConnects) {
  Mosquitto broker;
  ASSERT_TRUE(broker.running());
  BenchRun r = RunBench(
      {"--preset=storm", "--port=" + std::to_string(broker.port()), "--duration=1", "--json=-"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GT(JsonInt(r.out, "connects"), 100) << r.out;
  EXPECT_EQ(JsonInt(r.out, "connect_failures"), 0) << r.out;
}

TEST_F(MosquittoTest, UnreachableBrokerFailsFastWithAClearMessage) {
  const int port = FreePort();  // nothing listens there
  BenchRun r = RunBench({"--port=" + std::to_string(port), "--duration=5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot connect to 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 3.0);
}

TEST_F(MosquittoTest, RefusedConnectIsASetupErrorNamingTheReason) {
  Mosquitto broker("allow_anonymous false\n");  // the later line wins
  ASSERT_TRUE(broker.running());
  BenchRun r = RunBench({"--port=" + std::to_string(broker.port()), "--duration=5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("refused CONNECT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Not authorized"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 3.0);
}

TEST_F(MosquittoTest, BrokerDyingMidRunIsAReportedErrorNotAHang) {
  Mosquitto broker;
  ASSERT_TRUE(broker.running());
  // Kill the broker as soon as the progress line shows the run phase.
  BenchRun r = RunBench(
      {"--port=" + std::to_string(broker.port()), "--rate=1000", "--duration=10", "--progress"},
      [&](const std::string& line) {
        if (line.find("[run") != std::string::npos) broker.Kill();
      });
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("the broker closed the connection"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 5.0);
}

TEST_F(MosquittoTest, NonLoopbackTargetIsRefusedWithoutTheFlag) {
  BenchRun r = RunBench({"--host=192.0.2.1", "--duration=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--allow-remote"), std::string::npos) << r.err;
}

}  // namespace

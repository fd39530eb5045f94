// The embeddable broker (server.h) driven in-process by an independent C
// client, Eclipse Paho C (Debian's libpaho-mqtt, synchronous MQTTClient API):
// start on a picked port, MQTT 3.1.1 and 5.0 round trips at every QoS, a
// retained message across Stop and a restart on the same data directory,
// and the data directory's lock against a second broker.
#include "broker/server.h"

#include <MQTTClient.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace telemq {
namespace {

constexpr int kTimeoutMs = 5000;

class TempDir {
 public:
  TempDir() {
    std::string pattern = std::filesystem::temp_directory_path() / "telemq-server-test.XXXXXX";
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

BrokerConfig TestConfig(const std::string& data_dir) {
  BrokerConfig config;
  config.port = 0;
  config.threads = 2;
  config.data_dir = data_dir;
  config.log_level = "warning";
  return config;
}

// A message as MQTTClient_receive hands it over, copied out.
struct Received {
  std::string topic;
  std::string payload;
  int qos = -1;
  bool retained = false;
  std::vector<std::pair<std::string, std::string>> user_properties;
};

// One synchronous Paho C client (no callbacks: messages come from Receive).
class PahoClient {
 public:
  PahoClient(uint16_t port, const std::string& client_id, int mqtt_version)
      : version_(mqtt_version) {
    const std::string uri = absl::StrCat("tcp://127.0.0.1:", port);
    MQTTClient_createOptions create = MQTTClient_createOptions_initializer;
    create.MQTTVersion = mqtt_version;
    created_ = MQTTClient_createWithOptions(&client_, uri.c_str(), client_id.c_str(),
                                            MQTTCLIENT_PERSISTENCE_NONE, nullptr,
                                            &create) == MQTTCLIENT_SUCCESS;
  }
  ~PahoClient() {
    if (!created_) return;
    if (MQTTClient_isConnected(client_)) MQTTClient_disconnect(client_, 1000);
    MQTTClient_destroy(&client_);
  }
  PahoClient(const PahoClient&) = delete;
  PahoClient& operator=(const PahoClient&) = delete;

  // The CONNACK return or reason code (0: accepted), or a negative Paho error.
  int Connect(bool clean = true) {
    if (!created_) return MQTTCLIENT_FAILURE;
    if (version_ == MQTTVERSION_5) {
      MQTTClient_connectOptions options = MQTTClient_connectOptions_initializer5;
      options.cleanstart = clean;
      MQTTResponse r = MQTTClient_connect5(client_, &options, nullptr, nullptr);
      MQTTResponse_free(r);
      return r.reasonCode;
    }
    MQTTClient_connectOptions options = MQTTClient_connectOptions_initializer;
    options.cleansession = clean;
    return MQTTClient_connect(client_, &options);
  }

  // The granted QoS (or failure code) of one filter.
  int Subscribe(const std::string& filter, int qos) {
    if (version_ == MQTTVERSION_5) {
      MQTTResponse r = MQTTClient_subscribe5(client_, filter.c_str(), qos, nullptr, nullptr);
      MQTTResponse_free(r);
      return r.reasonCode;
    }
    const int rc = MQTTClient_subscribe(client_, filter.c_str(), qos);
    return rc == MQTTCLIENT_SUCCESS ? qos : rc;
  }

  // Publishes and waits until the flow of its QoS is complete.
  int Publish(const std::string& topic, const std::string& payload, int qos, bool retain = false,
              const std::vector<std::pair<std::string, std::string>>& user_properties = {}) {
    MQTTClient_deliveryToken token = 0;
    int rc;
    if (version_ == MQTTVERSION_5) {
      MQTTProperties properties = MQTTProperties_initializer;
      for (const auto& [key, value] : user_properties) {
        MQTTProperty p{};
        p.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
        p.value.data.data = const_cast<char*>(key.data());
        p.value.data.len = static_cast<int>(key.size());
        p.value.value.data = const_cast<char*>(value.data());
        p.value.value.len = static_cast<int>(value.size());
        MQTTProperties_add(&properties, &p);
      }
      MQTTResponse r = MQTTClient_publish5(client_, topic.c_str(), static_cast<int>(payload.size()),
                                           payload.data(), qos, retain, &properties, &token);
      MQTTProperties_free(&properties);
      MQTTResponse_free(r);
      rc = r.reasonCode;
    } else {
      rc = MQTTClient_publish(client_, topic.c_str(), static_cast<int>(payload.size()),
                              payload.data(), qos, retain, &token);
    }
    if (rc != MQTTCLIENT_SUCCESS) return rc;
    return MQTTClient_waitForCompletion(client_, token, kTimeoutMs);
  }

  // The next message, or nothing within the timeout.
  std::unique_ptr<Received> Receive() {
    char* topic = nullptr;
    int topic_len = 0;
    MQTTClient_message* m = nullptr;
    const int rc = MQTTClient_receive(client_, &topic, &topic_len, &m, kTimeoutMs);
    if (rc != MQTTCLIENT_SUCCESS || m == nullptr) return nullptr;
    auto out = std::make_unique<Received>();
    out->topic = topic_len > 0 ? std::string(topic, static_cast<size_t>(topic_len)) : topic;
    out->payload.assign(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen));
    out->qos = m->qos;
    out->retained = m->retained != 0;
    for (int i = 0; i < m->properties.count; ++i) {
      const MQTTProperty& p = m->properties.array[i];
      if (p.identifier != MQTTPROPERTY_CODE_USER_PROPERTY) continue;
      out->user_properties.emplace_back(
          std::string(p.value.data.data, static_cast<size_t>(p.value.data.len)),
          std::string(p.value.value.data, static_cast<size_t>(p.value.value.len)));
    }
    MQTTClient_freeMessage(&m);
    MQTTClient_free(topic);
    return out;
  }

 private:
  MQTTClient client_ = nullptr;
  int version_;
  bool created_ = false;
};

void ExpectQosRoundTrips(uint16_t port, int version) {
  PahoClient sub(port, "paho-sub", version);
  ASSERT_EQ(sub.Connect(), 0);
  ASSERT_EQ(sub.Subscribe("paho/+/t", 2), 2);
  PahoClient pub(port, "paho-pub", version);
  ASSERT_EQ(pub.Connect(), 0);
  for (int qos = 0; qos <= 2; ++qos) {
    ASSERT_EQ(pub.Publish(absl::StrCat("paho/", qos, "/t"), absl::StrCat("m", qos), qos),
              MQTTCLIENT_SUCCESS);
  }
  for (int qos = 0; qos <= 2; ++qos) {
    std::unique_ptr<Received> m = sub.Receive();
    ASSERT_NE(m, nullptr) << "message " << qos << " did not arrive";
    EXPECT_EQ(m->topic, absl::StrCat("paho/", qos, "/t"));
    EXPECT_EQ(m->payload, absl::StrCat("m", qos));
    EXPECT_EQ(m->qos, qos);
  }
}

TEST(EmbeddedBroker, StartsOnAPickedPortAndServesPahoCAtEveryQosMqtt311) {
  TempDir dir;
  Broker broker(TestConfig(dir.path()));
  ASSERT_TRUE(broker.Start().ok());
  EXPECT_NE(broker.port(), 0);
  EXPECT_EQ(broker.shard_count(), 2u);
  ExpectQosRoundTrips(broker.port(), MQTTVERSION_3_1_1);
  broker.Stop();
  broker.Wait();
}

TEST(EmbeddedBroker, ServesPahoCAtEveryQosMqtt5WithUserProperties) {
  TempDir dir;
  Broker broker(TestConfig(dir.path()));
  ASSERT_TRUE(broker.Start().ok());
  ExpectQosRoundTrips(broker.port(), MQTTVERSION_5);

  PahoClient sub(broker.port(), "paho-props-sub", MQTTVERSION_5);
  ASSERT_EQ(sub.Connect(), 0);
  ASSERT_EQ(sub.Subscribe("paho/props", 1), 1);
  PahoClient pub(broker.port(), "paho-props-pub", MQTTVERSION_5);
  ASSERT_EQ(pub.Connect(), 0);
  ASSERT_EQ(pub.Publish("paho/props", "p", 1, false, {{"k", "v1"}, {"k", "v2"}}),
            MQTTCLIENT_SUCCESS);
  std::unique_ptr<Received> m = sub.Receive();
  ASSERT_NE(m, nullptr);
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(m->user_properties, (Pairs{{"k", "v1"}, {"k", "v2"}}));  // order and repeats kept
}

TEST(EmbeddedBroker, RetainedMessageAndPersistentSessionSurviveARestartOnTheSameDataDir) {
  TempDir dir;
  {
    Broker broker(TestConfig(dir.path()));
    ASSERT_TRUE(broker.Start().ok());
    PahoClient offline(broker.port(), "paho-offline", MQTTVERSION_3_1_1);
    ASSERT_EQ(offline.Connect(/*clean=*/false), 0);
    ASSERT_EQ(offline.Subscribe("paho/queued", 1), 1);
    // Destroyed here: it disconnects and leaves its session behind.
  }
  {
    Broker broker(TestConfig(dir.path()));
    ASSERT_TRUE(broker.Start().ok());
    PahoClient pub(broker.port(), "paho-pub", MQTTVERSION_3_1_1);
    ASSERT_EQ(pub.Connect(), 0);
    ASSERT_EQ(pub.Publish("paho/kept", "retained", 1, /*retain=*/true), MQTTCLIENT_SUCCESS);
    ASSERT_EQ(pub.Publish("paho/queued", "while offline", 1), MQTTCLIENT_SUCCESS);
    broker.Stop();
    broker.Wait();
  }
  Broker broker(TestConfig(dir.path()));
  ASSERT_TRUE(broker.Start().ok());
  PahoClient late(broker.port(), "paho-late", MQTTVERSION_3_1_1);
  ASSERT_EQ(late.Connect(), 0);
  ASSERT_EQ(late.Subscribe("paho/kept", 1), 1);
  std::unique_ptr<Received> kept = late.Receive();
  ASSERT_NE(kept, nullptr) << "the retained message did not survive the restart";
  EXPECT_EQ(kept->payload, "retained");
  EXPECT_TRUE(kept->retained);

  PahoClient back(broker.port(), "paho-offline", MQTTVERSION_3_1_1);
  ASSERT_EQ(back.Connect(/*clean=*/false), 0);
  std::unique_ptr<Received> queued = back.Receive();
  ASSERT_NE(queued, nullptr) << "the offline session's message did not survive the restart";
  EXPECT_EQ(queued->payload, "while offline");
}

TEST(EmbeddedBroker, ABadLogLevelIsRefusedAtStart) {
  TempDir dir;
  BrokerConfig config = TestConfig(dir.path());
  config.log_level = "verbose";
  Broker broker(config);
  const absl::Status s = broker.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST(EmbeddedBroker, ASecondBrokerOnTheSameDataDirIsRefusedWithAReason) {
  TempDir dir;
  Broker first(TestConfig(dir.path()));
  ASSERT_TRUE(first.Start().ok());
  Broker second(TestConfig(dir.path()));
  const absl::Status s = second.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir.path()), absl::string_view::npos) << s;
  // The first one still serves.
  PahoClient c(first.port(), "paho-still", MQTTVERSION_3_1_1);
  EXPECT_EQ(c.Connect(), 0);
}

}  // namespace
}  // namespace telemq

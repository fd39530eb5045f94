// Damage kinds, one test each, read through SegmentReader from a MemEnv file
// (leveldb log_test style: write good batches, break one thing, read back).
#include "storage/segment_reader.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/coding.h"
#include "storage/crc32c.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"

namespace telemq::storage {
namespace {

using testing::MakeBatch;

constexpr char kPath[] = "/seg/00000000000000000000.log";

class SegmentReaderTest : public ::testing::Test {
 protected:
  // Three batches of 4 records: offsets [0, 12).
  void SetUp() override {
    for (uint64_t base : {0, 4, 8}) {
      positions_.push_back(data_.size());
      data_ += MakeBatch(base, 4);
    }
  }

  void Store() { env_.SetContents(kPath, data_); }

  struct Outcome {
    int batches = 0;
    ReadError error = ReadError::kOk;
    uint64_t position = 0;
  };
  // Reads from byte 0 until the first non-kOk result.
  Outcome ReadThrough(size_t read_ahead = 1u << 20) {
    Store();
    std::unique_ptr<File> f = *env_.Open(kPath, OpenMode::kRead);
    SegmentReader r(f.get(), *f->Size(), read_ahead);
    r.Seek(0, 0);
    Outcome o;
    SegmentReader::Batch b;
    while ((o.error = r.Next(&b)) == ReadError::kOk) ++o.batches;
    o.position = r.position();
    return o;
  }

  // Replaces batch `i`'s header by `h`, re-encoded with valid CRCs.
  void RewriteHeader(int i, const BatchHeader& h) {
    EncodeBatchHeader(h, data_.data() + positions_[i]);
  }
  BatchHeader HeaderOf(int i) {
    BatchHeader h;
    EXPECT_EQ(DecodeBatchHeader(data_.data() + positions_[i], kBatchHeaderSize, &h),
              ReadError::kOk);
    return h;
  }

  MemEnv env_;
  std::string data_;
  std::vector<uint64_t> positions_;
};

TEST_F(SegmentReaderTest, ReadsEveryBatchToACleanEnd) {
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.batches, 3);
  EXPECT_EQ(o.error, ReadError::kEndOfData);
  EXPECT_EQ(o.position, data_.size());
}

TEST_F(SegmentReaderTest, ZeroesFromPreallocationReadAsEndOfData) {
  const size_t end = data_.size();
  data_.append(4096, '\0');
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.batches, 3);
  EXPECT_EQ(o.error, ReadError::kEndOfData);
  EXPECT_EQ(o.position, end);
}

TEST_F(SegmentReaderTest, BadMagic) {
  data_[positions_[1]] = 'X';
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.batches, 1);
  EXPECT_EQ(o.error, ReadError::kBadMagic);
  EXPECT_EQ(o.position, positions_[1]);
}

TEST_F(SegmentReaderTest, HeaderCrcMismatch) {
  data_[positions_[1] + 12] ^= 0x10;  // the payload length
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.batches, 1);
  EXPECT_EQ(o.error, ReadError::kHeaderCrc);
  EXPECT_EQ(o.position, positions_[1]);
}

TEST_F(SegmentReaderTest, BadVersion) {
  BatchHeader h = HeaderOf(1);
  h.version = 9;
  RewriteHeader(1, h);
  EXPECT_EQ(ReadThrough().error, ReadError::kBadVersion);
}

TEST_F(SegmentReaderTest, BadLength) {
  BatchHeader h = HeaderOf(1);
  h.record_count = 0;
  RewriteHeader(1, h);
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.error, ReadError::kBadLength);
  EXPECT_EQ(o.position, positions_[1]);
}

TEST_F(SegmentReaderTest, TruncatedHeader) {
  data_.resize(positions_[2] + 20);
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.batches, 2);
  EXPECT_EQ(o.error, ReadError::kTruncatedHeader);
  EXPECT_EQ(o.position, positions_[2]);
}

TEST_F(SegmentReaderTest, TruncatedPayload) {
  data_.resize(data_.size() - 1);
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.batches, 2);
  EXPECT_EQ(o.error, ReadError::kTruncatedPayload);
}

TEST_F(SegmentReaderTest, LengthBeyondFileIsTruncatedPayload) {
  BatchHeader h = HeaderOf(1);
  h.payload_length = 1u << 20;  // valid header CRC, but the file is far shorter
  RewriteHeader(1, h);
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.error, ReadError::kTruncatedPayload);
  EXPECT_EQ(o.position, positions_[1]);
}

TEST_F(SegmentReaderTest, PayloadCrcMismatch) {
  data_[positions_[1] + kBatchHeaderSize + 3] ^= 0x01;
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.batches, 1);
  EXPECT_EQ(o.error, ReadError::kPayloadCrc);
}

TEST_F(SegmentReaderTest, RecordFramingError) {
  // A payload whose CRC is right but whose records do not parse: a writer bug.
  BatchHeader h = HeaderOf(1);
  char* payload = data_.data() + positions_[1] + kBatchHeaderSize;
  payload[0] = static_cast<char>(payload[0] + 1);  // first record's length
  h.payload_crc = crc32c::Value(payload, h.payload_length);
  RewriteHeader(1, h);
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.batches, 1);
  EXPECT_EQ(o.error, ReadError::kRecordFraming);
}

TEST_F(SegmentReaderTest, OffsetSequenceError) {
  data_ = MakeBatch(0, 4) + MakeBatch(5, 4);  // offset 4 skipped
  const Outcome o = ReadThrough();
  EXPECT_EQ(o.batches, 1);
  EXPECT_EQ(o.error, ReadError::kOffsetSequence);
}

TEST_F(SegmentReaderTest, FirstBatchMustStartAtTheSegmentBase) {
  data_ = MakeBatch(1, 4);
  EXPECT_EQ(ReadThrough().error, ReadError::kOffsetSequence);
}

TEST_F(SegmentReaderTest, BatchLargerThanReadAheadIsRead) {
  const Outcome o = ReadThrough(/*read_ahead=*/64);
  EXPECT_EQ(o.batches, 3);
  EXPECT_EQ(o.position, data_.size());
}

TEST_F(SegmentReaderTest, ReadsFromAMidSegmentPosition) {
  Store();
  std::unique_ptr<File> f = *env_.Open(kPath, OpenMode::kRead);
  SegmentReader r(f.get(), data_.size());
  r.Seek(positions_[1], 4);
  SegmentReader::Batch b;
  ASSERT_EQ(r.Next(&b), ReadError::kOk);
  EXPECT_EQ(b.header.base_offset, 4u);
  EXPECT_EQ(b.position, positions_[1]);
}

TEST_F(SegmentReaderTest, NeverReadsBeyondTheLimit) {
  Store();
  std::unique_ptr<File> f = *env_.Open(kPath, OpenMode::kRead);
  SegmentReader r(f.get(), positions_[2]);  // e.g. the written size of an active segment
  r.Seek(0, 0);
  SegmentReader::Batch b;
  ASSERT_EQ(r.Next(&b), ReadError::kOk);
  ASSERT_EQ(r.Next(&b), ReadError::kOk);
  EXPECT_EQ(r.Next(&b), ReadError::kEndOfData);
  EXPECT_EQ(r.position(), r.limit());
}

TEST_F(SegmentReaderTest, FindMagicAcrossReadAheadBoundaries) {
  Store();
  std::unique_ptr<File> f = *env_.Open(kPath, OpenMode::kRead);
  SegmentReader r(f.get(), data_.size(), /*read_ahead=*/50);
  EXPECT_EQ(r.FindMagic(1), positions_[1]);
  EXPECT_EQ(r.FindMagic(positions_[2]), positions_[2]);
  EXPECT_EQ(r.FindMagic(positions_[2] + 1), data_.size());
}

}  // namespace
}  // namespace telemq::storage

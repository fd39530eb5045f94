// telemq: the records of several log partitions, merged by broker time.
//
// Each partition is in time order (ShardLog keeps a shard's broker time
// non-decreasing), so a merge on record time replays what happened across
// shards in the order it happened: recovery (recovery.h) and history reads
// (ShardLog::ReadHistory) both walk the log this way.
//
//   TimeMerge merge;
//   merge.Add(0, std::move(reader0));
//   merge.Add(1, std::move(reader1));
//   uint32_t p; const storage::Record* r;
//   while (merge.Next(&p, &r)) { ... *r is valid until the next call ... }
//   for (const std::string& e : merge.errors()) ...   // a partition that stopped early
//
// A reader that fails ends that partition (the error is kept) and the merge
// goes on with the others. Ties go to the lower partition. Few partitions
// (one per shard): a linear pick beats a heap.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/partition.h"

namespace telemq::persist {

class TimeMerge {
 public:
  void Add(uint32_t partition, std::unique_ptr<storage::LogReader> reader);

  // The next record in time order; false once every partition is done.
  bool Next(uint32_t* partition, const storage::Record** record);

  // Where `partition` stands: the offset of its record not yet returned by
  // Next (after a Next returned one of it, that one counts as returned only
  // once Next is called again), or its end.
  uint64_t Pending(uint32_t partition) const;
  bool Has(uint32_t partition) const;

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  struct Source {
    uint32_t partition = 0;
    std::unique_ptr<storage::LogReader> reader;
    storage::Record record;
    bool live = false;
  };
  void Advance(Source& s);

  std::vector<Source> sources_;
  Source* returned_ = nullptr;  // advanced at the next Next
  std::vector<std::string> errors_;
};

}  // namespace telemq::persist
